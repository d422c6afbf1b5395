"""Real spherical harmonics up to degree 3, in the 3DGS / gsplat basis order and signs.

Colours are ``max(Σ_k basis_k(dir) · coeff_k + 0.5, 0)`` with ``dir`` the unit vector from the
camera centre to the splat, exactly as gsplat's ``rasterization`` does with ``sh_degree`` set.
Plain torch: autograd carries the gradient to the coefficients and, through ``dir``, to the means.
"""

from __future__ import annotations

import torch

SH_C0 = 0.28209479177387814
SH_C1 = 0.4886025119029199
SH_C2 = (
    1.0925484305920792,
    -1.0925484305920792,
    0.31539156525252005,
    -1.0925484305920792,
    0.5462742152960396,
)
SH_C3 = (
    -0.5900435899266435,
    2.890611442640554,
    -0.4570457994644658,
    0.3731763325901154,
    -0.4570457994644658,
    1.445305721320277,
    -0.5900435899266435,
)


def num_sh_bases(degree: int) -> int:
    """Number of coefficients per colour channel for an SH degree."""
    return (degree + 1) ** 2


def sh_degree_of(num_bases: int) -> int:
    """SH degree whose basis count is ``num_bases``; raises ValueError if it is not a square ≤ 16."""
    for degree in range(4):
        if num_sh_bases(degree) == num_bases:
            return degree
    raise ValueError(f"{num_bases} SH coefficients per channel is not (d+1)^2 for a degree d in 0..3")


def sh_basis(degree: int, dirs: torch.Tensor) -> torch.Tensor:
    """Basis values ``[..., (degree+1)^2]`` at unit directions ``dirs [..., 3]``."""
    x, y, z = dirs.unbind(-1)
    out = [torch.full_like(x, SH_C0)]
    if degree >= 1:
        out += [-SH_C1 * y, SH_C1 * z, -SH_C1 * x]
    if degree >= 2:
        xx, yy, zz = x * x, y * y, z * z
        out += [
            SH_C2[0] * x * y,
            SH_C2[1] * y * z,
            SH_C2[2] * (2.0 * zz - xx - yy),
            SH_C2[3] * x * z,
            SH_C2[4] * (xx - yy),
        ]
    if degree >= 3:
        out += [
            SH_C3[0] * y * (3.0 * xx - yy),
            SH_C3[1] * x * y * z,
            SH_C3[2] * y * (4.0 * zz - xx - yy),
            SH_C3[3] * z * (2.0 * zz - 3.0 * xx - 3.0 * yy),
            SH_C3[4] * x * (4.0 * zz - xx - yy),
            SH_C3[5] * z * (xx - yy),
            SH_C3[6] * x * (xx - 3.0 * yy),
        ]
    return torch.stack(out, dim=-1)


def sh_to_rgb(degree: int, means: torch.Tensor, coeffs: torch.Tensor, campos: torch.Tensor) -> torch.Tensor:
    """Per-camera colours ``[C, N, 3]`` of splats at ``means [N, 3]`` seen from ``campos [C, 3]``."""
    dirs = means[None, :, :] - campos[:, None, :]
    n = num_sh_bases(degree)
    unit = dirs / dirs.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    basis = sh_basis(degree, unit)  # [C, N, n]
    rgb = torch.einsum("cnk,nkd->cnd", basis, coeffs[:, :n, :])
    return torch.clamp_min(rgb + 0.5, 0.0)


def rgb_to_sh0(rgb: torch.Tensor) -> torch.Tensor:
    """Degree-0 coefficient that renders as ``rgb`` (inverse of the DC term of ``sh_to_rgb``)."""
    return (rgb - 0.5) / SH_C0
