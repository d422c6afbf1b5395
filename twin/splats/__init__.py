"""Gaussian splats: render (CPU numba or gsplat CUDA), fit to posed frames, read/write 3DGS PLY.

Public names load on first use, so ``import twin.splats`` itself pulls in neither torch nor numba.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twin.lazy import lazy_exports

__all__ = [
    "BackendUnavailableError",
    "Cameras",
    "FitConfig",
    "FitResult",
    "PlyFormatError",
    "RasterConfig",
    "Render",
    "SplatInputError",
    "Splats",
    "evaluate_psnr",
    "fit_splats",
    "look_at",
    "points_from_rgbd",
    "rasterization",
    "read_ply",
    "render_frames",
    "render_rigid",
    "voxel_downsample",
    "write_ply",
]

_PUBLIC = {
    "errors": ("BackendUnavailableError", "PlyFormatError", "SplatInputError"),
    "camera": ("Cameras", "look_at", "points_from_rgbd", "voxel_downsample"),
    "fit": ("FitConfig", "FitResult", "evaluate_psnr", "fit_splats", "render_frames"),
    "rendering": ("RasterConfig", "Render", "rasterization"),
    "gaussians": ("Splats",),
    "ply": ("read_ply", "write_ply"),
    "rigid": ("render_rigid",),
}


__getattr__, __dir__, _ = lazy_exports(__name__, _PUBLIC)


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from twin.splats.camera import Cameras, look_at, points_from_rgbd, voxel_downsample
    from twin.splats.errors import BackendUnavailableError, PlyFormatError, SplatInputError
    from twin.splats.fit import FitConfig, FitResult, evaluate_psnr, fit_splats, render_frames
    from twin.splats.gaussians import Splats
    from twin.splats.ply import read_ply, write_ply
    from twin.splats.rendering import RasterConfig, Render, rasterization
    from twin.splats.rigid import render_rigid
