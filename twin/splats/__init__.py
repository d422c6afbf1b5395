"""Gaussian splats: render (CPU numba or gsplat CUDA), fit to posed frames, read/write 3DGS PLY.

Public names load on first use, so ``import twin.splats`` itself pulls in neither torch nor numba.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

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

_WHERE = {
    "BackendUnavailableError": "errors",
    "PlyFormatError": "errors",
    "SplatInputError": "errors",
    "Cameras": "camera",
    "look_at": "camera",
    "points_from_rgbd": "camera",
    "voxel_downsample": "camera",
    "FitConfig": "fit",
    "FitResult": "fit",
    "evaluate_psnr": "fit",
    "fit_splats": "fit",
    "render_frames": "fit",
    "RasterConfig": "rendering",
    "Render": "rendering",
    "rasterization": "rendering",
    "Splats": "gaussians",
    "read_ply": "ply",
    "write_ply": "ply",
    "render_rigid": "rigid",
}


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(importlib.import_module(f"twin.splats.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'twin.splats' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from twin.splats.camera import Cameras, look_at, points_from_rgbd, voxel_downsample
    from twin.splats.errors import BackendUnavailableError, PlyFormatError, SplatInputError
    from twin.splats.fit import FitConfig, FitResult, evaluate_psnr, fit_splats, render_frames
    from twin.splats.gaussians import Splats
    from twin.splats.ply import read_ply, write_ply
    from twin.splats.rendering import RasterConfig, Render, rasterization
    from twin.splats.rigid import render_rigid
