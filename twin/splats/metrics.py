"""Image losses and metrics on ``[..., H, W, 3]`` tensors in [0, 1]: L1, SSIM and PSNR."""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F


@functools.cache
def _gauss_1d(size: int, sigma: float) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(x * x) / (2 * sigma * sigma))
    return (g / g.sum()).float()


def ssim(a: torch.Tensor, b: torch.Tensor, window: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Mean structural similarity of two image batches ``[..., H, W, C]`` (Gaussian window, 'same'
    padding with zeros as in the 3DGS reference code, constants for a data range of 1)."""
    return ssim_map(a, b, window, sigma).mean()


def ssim_map(a: torch.Tensor, b: torch.Tensor, window: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Per-pixel, per-channel SSIM ``[N, C, H, W]`` of two image batches ``[..., H, W, C]``."""
    c = a.shape[-1]
    x = a.reshape(-1, *a.shape[-3:]).permute(0, 3, 1, 2)
    y = b.reshape(-1, *b.shape[-3:]).permute(0, 3, 1, 2).to(x)
    g = _gauss_1d(window, sigma).to(x)
    kh = g.view(1, 1, 1, -1).expand(c, 1, 1, window)
    kv = g.view(1, 1, -1, 1).expand(c, 1, window, 1)
    pad = window // 2

    def blur(z):
        z = F.conv2d(z, kh, padding=(0, pad), groups=c)
        return F.conv2d(z, kv, padding=(pad, 0), groups=c)

    mu_x, mu_y = blur(x), blur(y)
    sxx = blur(x * x) - mu_x * mu_x
    syy = blur(y * y) - mu_y * mu_y
    sxy = blur(x * y) - mu_x * mu_y
    c1, c2 = 0.01**2, 0.03**2
    num = (2 * mu_x * mu_y + c1) * (2 * sxy + c2)
    den = (mu_x * mu_x + mu_y * mu_y + c1) * (sxx + syy + c2)
    return num / den


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB for images in [0, 1]."""
    mse = float(((a.detach().float() - b.detach().float()) ** 2).mean())
    return float("inf") if mse == 0 else -10.0 * math.log10(mse)


def photometric_loss(render: torch.Tensor, target: torch.Tensor, ssim_weight: float) -> torch.Tensor:
    """``(1 - w) · L1 + w · (1 - SSIM)``, the 3DGS training loss."""
    l1 = (render - target).abs().mean()
    if ssim_weight == 0:
        return l1
    return (1.0 - ssim_weight) * l1 + ssim_weight * (1.0 - ssim(render, target))
