"""``rasterization``: render Gaussian splats into a batch of pinhole cameras (RGB, expected depth, alpha).

The contract follows ``gsplat.rasterization`` (non-batched, ``packed=False``, ``render_mode="RGB+ED"``):
world-to-camera ``viewmats`` in the OpenCV convention (x right, y down, z forward), intrinsics ``Ks``
in pixels, quaternions (w, x, y, z) normalised inside, activated scales and opacities, colours as
post-activation values or SH coefficients.  Two backends give the same images: ``cpu`` (numba, this
package) and ``gsplat`` (CUDA).  ``auto`` picks gsplat for CUDA tensors when it can run, else cpu.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from twin.splats._cpu_backend import ProjectionSettings, project, rasterize
from twin.splats._gsplat_backend import gsplat_status
from twin.splats._sh import num_sh_bases, sh_to_rgb
from twin.splats.errors import BackendUnavailableError, SplatInputError

Backend = Literal["auto", "cpu", "gsplat"]


@dataclass(frozen=True)
class RasterConfig:
    """Rendering settings shared by both backends (names and defaults as in gsplat)."""

    near_plane: float = 0.01
    far_plane: float = 1e10
    eps2d: float = 0.3  # 2D blur added to every projected covariance, in pixels²
    antialiased: bool = False  # gsplat's rasterize_mode="antialiased" (mip-splatting compensation)
    radius_clip: float = 0.0  # drop splats whose pixel radius is ≤ this
    tile_size: int = 16


@dataclass(frozen=True)
class Render:
    """What ``rasterization`` returns: per camera ``rgb [C,H,W,D]`` (background applied), expected
    depth ``[C,H,W,1]`` (0 where nothing was hit), ``alpha [C,H,W,1]``, the projected means
    ``[C,N,2]`` (call ``retain_grad()`` on them before ``backward`` for screen-space gradients) and
    pixel radii ``[C,N,2]`` (0 = not drawn)."""

    rgb: torch.Tensor
    depth: torch.Tensor
    alpha: torch.Tensor
    means2d: torch.Tensor
    radii: torch.Tensor
    backend: str


def rasterization(
    means: torch.Tensor,
    quats: torch.Tensor,
    scales: torch.Tensor,
    opacities: torch.Tensor,
    colors: torch.Tensor,
    viewmats: torch.Tensor,
    Ks: torch.Tensor,  # noqa: N803 - gsplat's name
    width: int,
    height: int,
    *,
    sh_degree: int | None = None,
    backgrounds: torch.Tensor | None = None,
    config: RasterConfig = RasterConfig(),  # noqa: B008 - frozen dataclass
    backend: Backend = "auto",
) -> Render:
    """Render ``N`` splats into ``C`` cameras of ``width × height`` pixels.

    Args:
        means ``[N,3]``, quats ``[N,4]`` (w, x, y, z), scales ``[N,3]`` (> 0, not log), opacities ``[N]``
        in [0, 1]; colors ``[N,D]`` or per camera ``[C,N,D]`` when ``sh_degree`` is None, else SH
        coefficients ``[N,K,3]`` or ``[C,N,K,3]`` with ``(sh_degree+1)^2 ≤ K`` (degree ≤ 3; colour is
        ``max(SH + 0.5, 0)``); viewmats ``[C,4,4]`` world→camera; Ks ``[C,3,3]``; backgrounds ``[C,D]``
        or ``[D]`` composited behind.  Gradients flow to means, quats, scales, opacities, colors and
        backgrounds (not to the cameras).
    """
    _check_inputs(means, quats, scales, opacities, colors, viewmats, Ks, width, height, sh_degree)
    chosen = _choose_backend(backend, means.device)
    if chosen == "gsplat":
        from twin.splats import _gsplat_backend

        rgb, depth, alpha, meta = _gsplat_backend.render(
            means, quats, scales, opacities, colors, viewmats, Ks, width, height, sh_degree, config
        )
        means2d, radii = meta["means2d"], meta["radii"]
    else:
        rgb, depth, alpha, means2d, radii = _render_cpu(
            means, quats, scales, opacities, colors, viewmats, Ks, width, height, sh_degree, config
        )
    if backgrounds is not None:
        _check_backgrounds(backgrounds, rgb.shape[0], rgb.shape[-1])
        bg = backgrounds.to(rgb)
        bg = bg.expand(rgb.shape[0], rgb.shape[-1]) if bg.dim() == 1 else bg
        rgb = rgb + (1.0 - alpha) * bg[:, None, None, :]
    return Render(rgb=rgb, depth=depth, alpha=alpha, means2d=means2d, radii=radii, backend=chosen)


def _render_cpu(means, quats, scales, opacities, colors, viewmats, ks, width, height, sh_degree, config):
    device = means.device
    means, quats, scales, opacities, colors, viewmats, ks = (
        t.cpu() for t in (means, quats, scales, opacities, colors, viewmats, ks)
    )
    n_cam = viewmats.shape[0]
    settings = ProjectionSettings(
        width,
        height,
        config.eps2d,
        config.near_plane,
        config.far_plane,
        config.antialiased,
        config.radius_clip,
    )
    means2d, conics, depths, comps, radii = project(
        means, quats, scales, opacities.detach(), viewmats, ks, settings
    )
    opac = opacities[None, :] * comps if config.antialiased else opacities[None, :].expand(n_cam, -1)
    if sh_degree is not None:
        campos = -torch.einsum("cji,cj->ci", viewmats[:, :3, :3], viewmats[:, :3, 3])
        if colors.dim() == 3:
            rgb_per_cam = sh_to_rgb(sh_degree, means, colors, campos.to(means))
        else:
            rgb_per_cam = torch.stack(
                [sh_to_rgb(sh_degree, means, colors[c], campos[c : c + 1].to(means))[0] for c in range(n_cam)]
            )
    else:
        rgb_per_cam = colors if colors.dim() == 3 else colors[None].expand(n_cam, -1, -1)
    feats = torch.cat([rgb_per_cam.to(means2d), depths[..., None]], dim=-1)
    img, alpha = rasterize(
        means2d, conics, opac.to(means2d), feats, radii, depths, width, height, config.tile_size
    )
    rgb = img[..., :-1]
    depth = img[..., -1:] / alpha.clamp_min(1e-10)
    return tuple(t.to(device) for t in (rgb, depth, alpha, means2d, radii))


def _choose_backend(backend: str, device: torch.device) -> str:
    if backend == "cpu":
        return "cpu"
    if backend == "gsplat":
        ok, reason = gsplat_status()
        if not ok:
            raise BackendUnavailableError(f"backend 'gsplat' cannot run: {reason}; use backend='cpu'")
        return "gsplat"
    if backend != "auto":
        raise SplatInputError(f"backend must be 'auto', 'cpu' or 'gsplat', got {backend!r}")
    return "gsplat" if device.type == "cuda" and gsplat_status()[0] else "cpu"


def _check_inputs(means, quats, scales, opacities, colors, viewmats, ks, width, height, sh_degree) -> None:
    """Raise SplatInputError naming the input and the problem."""
    tensors = {
        "means": means,
        "quats": quats,
        "scales": scales,
        "opacities": opacities,
        "colors": colors,
        "viewmats": viewmats,
        "Ks": ks,
    }
    for name, t in tensors.items():
        if not isinstance(t, torch.Tensor):
            raise SplatInputError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        if not t.is_floating_point():
            raise SplatInputError(f"{name} must be a floating-point tensor, got {t.dtype}")
    for name, value in (("width", width), ("height", height)):
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise SplatInputError(
                f"{name} must be a positive int (a zero-size image cannot be rendered), got {value!r}"
            )
    n = means.shape[0] if means.dim() == 2 else -1
    expected = {"means": (n, 3), "quats": (n, 4), "scales": (n, 3), "opacities": (n,)}
    for name, shape in expected.items():
        if tuple(tensors[name].shape) != shape or n < 0:
            raise SplatInputError(
                f"{name} must have shape {shape} (N = len(means)), got {tuple(tensors[name].shape)}"
            )
    if viewmats.dim() != 3 or viewmats.shape[1:] != (4, 4) or viewmats.shape[0] == 0:
        raise SplatInputError(f"viewmats must have shape [C, 4, 4] with C ≥ 1, got {tuple(viewmats.shape)}")
    c = viewmats.shape[0]
    if tuple(ks.shape) != (c, 3, 3):
        raise SplatInputError(f"Ks must have shape [C, 3, 3] = {(c, 3, 3)}, got {tuple(ks.shape)}")
    if sh_degree is None:
        if not (colors.dim() == 2 and colors.shape[0] == n) and not (
            colors.dim() == 3 and colors.shape[:2] == (c, n)
        ):
            raise SplatInputError(
                f"colors must be [N, D] or [C, N, D] without sh_degree, got {tuple(colors.shape)}"
            )
    else:
        if not isinstance(sh_degree, int) or not 0 <= sh_degree <= 3:
            raise SplatInputError(f"sh_degree must be an int in 0..3, got {sh_degree!r}")
        lead = colors.shape[:-2]
        if lead not in ((n,), (c, n)) or colors.shape[-1] != 3 or colors.shape[-2] < num_sh_bases(sh_degree):
            raise SplatInputError(
                "colors must be SH coefficients [N, K, 3] or [C, N, K, 3] with "
                f"K ≥ {num_sh_bases(sh_degree)} for sh_degree={sh_degree}, got {tuple(colors.shape)}"
            )
    for name, t in tensors.items():
        if t.numel() and not _all_finite(t):
            raise SplatInputError(f"{name} contains NaN or infinite values")
    if n and bool((quats.norm(dim=-1) == 0).any()):
        raise SplatInputError("quats contains zero-length quaternions")
    if n and bool((scales < 0).any()):
        raise SplatInputError("scales must be ≥ 0 (pass activated scales, not log-scales)")
    if n and bool(((opacities < 0) | (opacities > 1)).any()):
        raise SplatInputError("opacities must lie in [0, 1] (pass activated opacities, not logits)")
    if bool((ks[:, 0, 0] <= 0).any() or (ks[:, 1, 1] <= 0).any()):
        raise SplatInputError("Ks must have positive focal lengths fx = K[0,0] and fy = K[1,1]")


def _check_backgrounds(bg, n_cam: int, channels: int) -> None:
    if not isinstance(bg, torch.Tensor) or tuple(bg.shape) not in ((channels,), (n_cam, channels)):
        shape = tuple(bg.shape) if isinstance(bg, torch.Tensor) else type(bg).__name__
        raise SplatInputError(f"backgrounds must be a tensor [{channels}] or [C, {channels}], got {shape}")
    if not _all_finite(bg):
        raise SplatInputError("backgrounds contains NaN or infinite values")


def _all_finite(t: torch.Tensor) -> bool:
    """True when no element is NaN or infinite (a sum first: one pass, no boolean temporary)."""
    with torch.no_grad():
        return bool(torch.isfinite(t.sum())) or bool(torch.isfinite(t).all())
