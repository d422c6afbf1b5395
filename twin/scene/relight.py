"""Relighting a rendered image whose lighting is baked in, from its depth map.

A splat render carries the lighting of the capture. To move the light, each pixel is multiplied by
the ratio of Lambert shadings under the new and the old directional light, with surface normals
estimated from depth: ``ambient + (1 - ambient)·max(0, n·(-light))``. No shadows are cast.
"""

from __future__ import annotations

import numpy as np

RATIO_RANGE = (0.25, 4.0)  # the shading ratio is clipped to this range


def _check_depth_and_k(depth, K) -> tuple[np.ndarray, np.ndarray]:  # noqa: N803
    d = np.asarray(depth, dtype=np.float64)
    if d.ndim != 2 or min(d.shape) < 1:
        raise ValueError(f"depth must be a 2-D array [H, W], got shape {d.shape}")
    k = np.asarray(K, dtype=np.float64)
    if k.shape != (3, 3) or not np.all(np.isfinite(k)) or k[0, 0] <= 0 or k[1, 1] <= 0:
        raise ValueError(f"K must be a 3×3 intrinsics matrix with positive focal lengths, got {k.tolist()}")
    return np.where(np.isfinite(d) & (d > 0), d, 0.0), k


def _one_sided(points: np.ndarray, depth: np.ndarray, axis: int, max_jump: float):
    """Difference of back-projected points along ``axis`` (central where both neighbours are on the
    same surface, else one-sided) and whether any usable neighbour exists."""
    h, w = depth.shape
    fwd = np.zeros_like(points)
    bwd = np.zeros_like(points)
    ok_f = np.zeros((h, w), dtype=bool)
    ok_b = np.zeros((h, w), dtype=bool)
    here = [slice(None), slice(None)]
    there = [slice(None), slice(None)]
    here[axis], there[axis] = slice(0, -1), slice(1, None)
    a, b = tuple(here), tuple(there)
    step = points[b] - points[a]
    same = (depth[a] > 0) & (depth[b] > 0) & (np.abs(depth[b] - depth[a]) <= max_jump * depth[a])
    fwd[a], ok_f[a] = step, same  # pixel i: P[i+1] - P[i]
    bwd[b], ok_b[b] = step, same  # pixel i: P[i] - P[i-1]
    both = ok_f & ok_b
    diff = np.where(both[..., None], 0.5 * (fwd + bwd), np.where(ok_f[..., None], fwd, bwd))
    return diff, ok_f | ok_b


def normals_from_depth(depth, K, max_jump: float = 0.05) -> np.ndarray:  # noqa: N803
    """Unit surface normals ``[H,W,3]`` in the camera frame (OpenCV: x right, y down, z forward),
    facing the camera, from finite differences of the back-projected pixel centres.

    Neighbours whose depth differs by more than ``max_jump`` × depth are on another surface; a pixel
    uses the central difference when both neighbours along an axis are on its surface and a one-sided
    one when only one is. Normals are zero where depth ≤ 0 (or not finite) and where a pixel has no
    neighbour on its surface along an axis (isolated by discontinuities)."""
    d, k = _check_depth_and_k(depth, K)
    if not max_jump > 0:
        raise ValueError(f"max_jump must be positive, got {max_jump!r}")
    h, w = d.shape
    v, u = np.mgrid[0:h, 0:w].astype(np.float64) + 0.5
    x = (u - k[0, 2] - k[0, 1] * (v - k[1, 2]) / k[1, 1]) / k[0, 0]
    y = (v - k[1, 2]) / k[1, 1]
    points = np.stack([x * d, y * d, d], axis=-1)
    du, ok_u = _one_sided(points, d, 1, max_jump)
    dv, ok_v = _one_sided(points, d, 0, max_jump)
    n = np.cross(dv, du)  # x × y = z points away from the camera, so this order faces it
    length = np.linalg.norm(n, axis=-1, keepdims=True)
    valid = (d > 0) & ok_u & ok_v & (length[..., 0] > 0)
    n = np.divide(n, length, out=np.zeros_like(n), where=valid[..., None])
    flip = np.sum(n * points, axis=-1) > 0  # make every normal face the camera
    n[flip] *= -1.0
    return n


def _unit(direction, name: str) -> np.ndarray:
    v = np.asarray(direction, dtype=np.float64)
    if v.shape != (3,) or not np.all(np.isfinite(v)) or np.linalg.norm(v) < 1e-12:
        raise ValueError(f"{name} must be a non-zero 3-vector, got {direction!r}")
    return v / np.linalg.norm(v)


def relight(
    rgb: np.ndarray,
    depth,
    K,  # noqa: N803
    R_world_camera,  # noqa: N803
    old_dir,
    new_dir,
    ambient: float = 0.4,
) -> np.ndarray:
    """Re-shade ``rgb [H,W,3]`` (float in [0, 1]) as if its directional light moved from ``old_dir``
    to ``new_dir``, world-frame directions the light travels (``(0, 0, -1)``: straight down).

    Each pixel is multiplied by shading(new) / shading(old), shading(L) = ambient + (1 - ambient) ·
    max(0, n·(-L)) with the world normal n = R_world_camera · n_camera from
    :func:`normals_from_depth`; the ratio is clipped to ``RATIO_RANGE`` and the result to [0, 1].
    Pixels without a normal (no depth) keep their value; equal directions return ``rgb`` unchanged."""
    img = np.asarray(rgb)
    if not np.issubdtype(img.dtype, np.floating) or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"rgb must be a float array [H, W, 3] in [0, 1], got {img.dtype} {img.shape}")
    d, k = _check_depth_and_k(depth, K)
    if d.shape != img.shape[:2]:
        raise ValueError(f"depth {d.shape} must match the image size {img.shape[:2]}")
    rot = np.asarray(R_world_camera, dtype=np.float64)
    if rot.shape != (3, 3) or not np.allclose(rot @ rot.T, np.eye(3), atol=1e-4):
        raise ValueError("R_world_camera must be a 3×3 rotation matrix")
    old, new = _unit(old_dir, "old_dir"), _unit(new_dir, "new_dir")
    if not 0.0 <= ambient <= 1.0:
        raise ValueError(f"ambient must be in [0, 1], got {ambient!r}")
    if np.array_equal(old, new):
        return img.copy()
    n_world = normals_from_depth(d, k) @ rot.T
    has_normal = np.any(n_world != 0, axis=-1)
    shade_old = ambient + (1.0 - ambient) * np.maximum(0.0, n_world @ -old)
    shade_new = ambient + (1.0 - ambient) * np.maximum(0.0, n_world @ -new)
    ratio = np.clip(shade_new / np.maximum(shade_old, 1e-6), *RATIO_RANGE)
    ratio = np.where(has_normal, ratio, 1.0)
    out = np.clip(img.astype(np.float64) * ratio[..., None], 0.0, 1.0).astype(img.dtype)
    out[~has_normal] = img[~has_normal]
    return out
