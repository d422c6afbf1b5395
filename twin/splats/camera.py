"""Pinhole cameras for splat rendering and fitting (OpenCV convention: x right, y down, z forward).

``Cameras`` bundles world→camera view matrices, intrinsics and the image size; helpers build
look-at poses and turn RGB-D frames into coloured points (the usual splat initialisation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from twin.splats.errors import SplatInputError


@dataclass(frozen=True)
class Cameras:
    """``viewmats [C,4,4]`` world→camera, ``Ks [C,3,3]`` pixels, one image size for all."""

    viewmats: torch.Tensor
    Ks: torch.Tensor  # noqa: N815 - gsplat's name
    width: int
    height: int

    def __post_init__(self) -> None:
        c = self.viewmats.shape[0] if self.viewmats.dim() == 3 else -1
        if c < 1 or self.viewmats.shape[1:] != (4, 4):
            raise SplatInputError(
                f"Cameras.viewmats must be [C, 4, 4] with C ≥ 1, got {tuple(self.viewmats.shape)}"
            )
        if tuple(self.Ks.shape) != (c, 3, 3):
            raise SplatInputError(f"Cameras.Ks must be [C, 3, 3] = {(c, 3, 3)}, got {tuple(self.Ks.shape)}")
        if self.width <= 0 or self.height <= 0:
            raise SplatInputError(f"Cameras image size must be positive, got {self.width}×{self.height}")

    def __len__(self) -> int:
        return self.viewmats.shape[0]

    def __getitem__(self, index) -> Cameras:
        idx = torch.as_tensor(index).reshape(-1)
        return Cameras(self.viewmats[idx], self.Ks[idx], self.width, self.height)

    @classmethod
    def from_poses(cls, K, T_world_camera, width: int, height: int) -> Cameras:  # noqa: N803
        """From one intrinsics matrix (or one per camera) and camera→world poses ``[C,4,4]``."""
        poses = torch.as_tensor(np.asarray(T_world_camera, dtype=np.float64)).reshape(-1, 4, 4)
        ks = torch.as_tensor(np.asarray(K, dtype=np.float64)).reshape(-1, 3, 3).expand(poses.shape[0], 3, 3)
        return cls(torch.linalg.inv(poses).float(), ks.float().contiguous(), int(width), int(height))


def look_at(eye, target, up=(0.0, 0.0, 1.0)) -> np.ndarray:
    """Camera→world pose ``[4,4]`` (OpenCV axes) of a camera at ``eye`` looking at ``target``."""
    eye, target, up = (np.asarray(v, dtype=np.float64) for v in (eye, target, up))
    z = target - eye
    z /= np.linalg.norm(z)
    x = np.cross(z, up)
    if np.linalg.norm(x) < 1e-9:
        x = np.cross(z, np.array([0.0, 1.0, 0.0]))
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = x, y, z, eye
    return pose


def intrinsics(width: int, height: int, fov_y_deg: float) -> np.ndarray:
    """Square-pixel intrinsics with the principal point at the image centre."""
    f = 0.5 * height / np.tan(np.deg2rad(fov_y_deg) / 2)
    return np.array([[f, 0.0, width / 2], [0.0, f, height / 2], [0.0, 0.0, 1.0]])


def points_from_rgbd(rgb, depth, K, T_world_camera, stride: int = 1, max_depth: float = np.inf):  # noqa: N803
    """World points ``[P,3]`` and colours ``[P,3]`` in [0,1] from RGB-D frames.

    ``rgb [T,H,W,3]`` (uint8 or float in [0,1]), ``depth [T,H,W]`` metres (≤ 0 or ≥ ``max_depth``
    means no return), ``K [3,3]`` or ``[T,3,3]``, ``T_world_camera [T,4,4]``; every ``stride``-th pixel.
    """
    rgb, depth = np.asarray(rgb), np.asarray(depth, dtype=np.float64)
    if rgb.ndim == 3:
        rgb, depth = rgb[None], depth[None]
    if rgb.shape[:3] != depth.shape or rgb.shape[-1] != 3:
        raise SplatInputError(f"rgb [T,H,W,3] and depth [T,H,W] disagree: {rgb.shape} vs {depth.shape}")
    colors = rgb.astype(np.float64) / 255.0 if rgb.dtype == np.uint8 else rgb.astype(np.float64)
    n, h, w = depth.shape
    ks = np.broadcast_to(np.asarray(K, dtype=np.float64), (n, 3, 3))
    poses = np.asarray(T_world_camera, dtype=np.float64).reshape(n, 4, 4)
    vs, us = np.mgrid[0:h:stride, 0:w:stride]
    pts, cols = [], []
    for i in range(n):
        d = depth[i, vs, us]
        ok = (d > 0) & (d < max_depth) & np.isfinite(d)
        u, v, d = us[ok] + 0.5, vs[ok] + 0.5, d[ok]
        k = ks[i]
        cam = np.stack([(u - k[0, 2]) / k[0, 0] * d, (v - k[1, 2]) / k[1, 1] * d, d], axis=-1)
        pts.append(cam @ poses[i, :3, :3].T + poses[i, :3, 3])
        cols.append(colors[i, vs, us][ok])
    return np.concatenate(pts), np.concatenate(cols)


def voxel_downsample(points: np.ndarray, colors: np.ndarray, voxel: float):
    """Mean point and colour per occupied voxel of side ``voxel``."""
    keys = np.floor(points / voxel).astype(np.int64)
    _, inverse, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    out_p = np.zeros((counts.shape[0], 3))
    out_c = np.zeros((counts.shape[0], 3))
    np.add.at(out_p, inverse, points)
    np.add.at(out_c, inverse, colors)
    return out_p / counts[:, None], out_c / counts[:, None]
