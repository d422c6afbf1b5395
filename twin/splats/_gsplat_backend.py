"""The ``gsplat`` backend: gsplat's CUDA rasterizer behind the same contract as the ``cpu`` one."""

from __future__ import annotations

import functools

import torch


@functools.cache
def gsplat_status() -> tuple[bool, str]:
    """``(available, reason)``: whether gsplat's CUDA rasterizer can run in this process."""
    if not torch.cuda.is_available():
        return False, "no CUDA GPU (torch.cuda.is_available() is False)"
    try:
        import gsplat  # noqa: F401
    except ImportError as err:
        return False, f"gsplat is not installed ({err})"
    try:
        from gsplat.cuda._backend import _C
    except Exception as err:  # noqa: BLE001 - any build/load failure means "not available"
        return False, f"gsplat's CUDA extension failed to load ({err})"
    if _C is None:
        return False, "gsplat's CUDA extension is not built and no CUDA toolkit was found to build it"
    return True, ""


def render(means, quats, scales, opacities, colors, viewmats, ks, width, height, sh_degree, config):
    """Premultiplied ``rgb``, raw expected depth, ``alpha`` and gsplat's meta, all on the CUDA device."""
    from gsplat import rasterization as gs_rasterization

    device = torch.device("cuda")
    # gsplat's kernels are float32-only
    args = [
        t.to(device=device, dtype=torch.float32)
        for t in (means, quats, scales, opacities, colors, viewmats, ks)
    ]
    out, alpha, meta = gs_rasterization(
        *args,
        width=width,
        height=height,
        near_plane=config.near_plane,
        far_plane=config.far_plane,
        radius_clip=config.radius_clip,
        eps2d=config.eps2d,
        sh_degree=sh_degree,
        packed=False,
        tile_size=config.tile_size,
        render_mode="RGB+ED",
        rasterize_mode="antialiased" if config.antialiased else "classic",
    )
    dtype = means.dtype
    return out[..., :-1].to(dtype), out[..., -1:].to(dtype), alpha.to(dtype), meta
