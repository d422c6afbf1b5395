"""Truncated signed distance fusion of RGB-D frames over a dense voxel grid in a world box.

Projective TSDF: every voxel is projected into each frame, its signed distance is the measured
depth minus the voxel's depth along the optical axis (positive in front of the surface), divided
by the truncation distance and clipped to [-1, 1]; voxels more than one truncation behind the
surface are left alone. Values and colours are running averages. Voxel ``(i, j, k)`` has its
centre at ``origin + (i, j, k) * voxel_size``. Cameras follow OpenCV (x right, y down, z forward)
with pixel ``(u, v)`` covering ``[u, u + 1) × [v, v + 1)``, centre ``(u + 0.5, v + 0.5)``, as in
:func:`twin.splats.camera.points_from_rgbd`.

:func:`integrate` is a numba kernel; :func:`integrate_reference` is the same update in plain
numpy, kept beside it as the obvious version the kernel is tested against.

Averaging votes from views that see a voxel as free space with votes from views where it lies
just behind a surface leaves thin "skirts" behind the far edges of objects, where no camera looked;
:func:`depth_supported` drops surface points that no frame actually measured.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit


@dataclass(frozen=True)
class TSDFConfig:
    """``truncation`` in metres (None: 2 voxels, which leaves the thinnest skirts; 3.5 voxels made
    4 cm cubes 2 mm wider); ``min_weight``: observations each voxel of a zero crossing needs;
    depth ≤ 0, non-finite or ≥ ``max_depth`` is no return."""

    voxel_size: float = 0.004
    truncation: float | None = None
    max_depth: float = 2.5
    min_weight: float = 2.0
    support_tolerance: float = 0.003  # for depth_supported: about 3/4 of a voxel

    @property
    def trunc(self) -> float:
        return 2.0 * self.voxel_size if self.truncation is None else float(self.truncation)


@dataclass
class TSDFVolume:
    """Dense grid: ``tsdf``/``weight`` ``[X,Y,Z]`` float32, ``color`` ``[X,Y,Z,3]`` in [0, 1].

    ``weight`` counts every observation; ``color`` averages only those within one truncation of
    the surface (a free-space ray shows the colour of something behind the voxel), counted in
    ``color_weight``.
    """

    origin: np.ndarray  # (3,) world position of voxel (0, 0, 0)'s centre
    voxel_size: float
    tsdf: np.ndarray
    weight: np.ndarray
    color: np.ndarray
    color_weight: np.ndarray
    truncation: float

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.tsdf.shape)

    def centres(self) -> np.ndarray:
        """World centres of all voxels ``[X,Y,Z,3]`` (for tests and small grids)."""
        idx = np.stack(np.meshgrid(*(np.arange(n) for n in self.shape), indexing="ij"), axis=-1)
        return self.origin + idx * self.voxel_size


def new_volume(lower, upper, config: TSDFConfig = TSDFConfig()) -> TSDFVolume:  # noqa: B008
    """An empty volume covering the axis-aligned box ``[lower, upper]`` (metres)."""
    lower, upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    if lower.shape != (3,) or upper.shape != (3,) or np.any(upper <= lower):
        raise ValueError(f"need lower < upper, both (3,), got {lower} and {upper}")
    v = float(config.voxel_size)
    shape = tuple(int(n) for n in np.maximum(np.ceil((upper - lower) / v - 1e-9).astype(int), 1))
    return TSDFVolume(
        origin=lower + v / 2,
        voxel_size=v,
        tsdf=np.ones(shape, np.float32),
        weight=np.zeros(shape, np.float32),
        color=np.zeros((*shape, 3), np.float32),
        color_weight=np.zeros(shape, np.float32),
        truncation=config.trunc,
    )


def _frame_inputs(depth, rgb, K, T_world_camera, valid, max_depth):  # noqa: N803
    """Depth with every unusable pixel set to 0, colours in [0, 1], intrinsics, world → camera."""
    depth = np.asarray(depth, dtype=np.float32)
    rgb = np.asarray(rgb)
    if depth.ndim != 2 or rgb.shape != (*depth.shape, 3):
        raise ValueError(f"depth must be [H,W] and rgb [H,W,3], got {depth.shape} and {rgb.shape}")
    colors = rgb.astype(np.float32) / 255.0 if rgb.dtype == np.uint8 else rgb.astype(np.float32)
    with np.errstate(invalid="ignore"):
        usable = (depth > 0) & (depth < max_depth)
    if valid is not None:
        valid = np.asarray(valid, dtype=bool)
        if valid.shape != depth.shape:
            raise ValueError(f"valid mask {valid.shape} does not match depth {depth.shape}")
        usable &= valid
    depth = np.ascontiguousarray(np.where(usable, depth, np.float32(0)))
    pose = np.asarray(T_world_camera, dtype=np.float64)
    rot = np.ascontiguousarray(pose[:3, :3].T)
    return depth, np.ascontiguousarray(colors), np.asarray(K, float), rot, -rot @ pose[:3, 3]


@njit(cache=True, inline="always")
def _clip_range(lo, hi, a, b):
    """Narrow the real interval [lo, hi] of k to where a + b·k ≥ 0."""
    if b > 0.0:
        lo = max(lo, -a / b)
    elif b < 0.0:
        hi = min(hi, -a / b)
    elif a < 0.0:
        hi = -1.0
    return lo, hi


@njit(cache=True, fastmath={"nsz", "arcp", "contract", "reassoc"})
def _integrate_kernel(tsdf, weight, color, color_weight, origin, voxel, depth, colors, k, rot, trans, trunc):
    nx, ny, nz = tsdf.shape
    h, w = depth.shape
    fx, fy, cx, cy = k[0, 0], k[1, 1], k[0, 2], k[1, 2]
    sx, sy, sz = rot[0, 2] * voxel, rot[1, 2] * voxel, rot[2, 2] * voxel  # camera step per +k
    inv_trunc = 1.0 / trunc
    for i in range(nx):
        px = origin[0] + i * voxel
        for j in range(ny):
            py = origin[1] + j * voxel
            pz = origin[2]
            x0 = rot[0, 0] * px + rot[0, 1] * py + rot[0, 2] * pz + trans[0]
            y0 = rot[1, 0] * px + rot[1, 1] * py + rot[1, 2] * pz + trans[1]
            z0 = rot[2, 0] * px + rot[2, 1] * py + rot[2, 2] * pz + trans[2]
            # the k where the voxel is in front of the camera and inside the image: linear in k
            lo, hi = _clip_range(0.0, nz - 1.0, z0 - 1e-6, sz)
            lo, hi = _clip_range(lo, hi, fx * x0 + cx * z0, fx * sx + cx * sz)
            lo, hi = _clip_range(lo, hi, w * z0 - fx * x0 - cx * z0, w * sz - fx * sx - cx * sz)
            lo, hi = _clip_range(lo, hi, fy * y0 + cy * z0, fy * sy + cy * sz)
            lo, hi = _clip_range(lo, hi, h * z0 - fy * y0 - cy * z0, h * sz - fy * sy - cy * sz)
            if hi < lo:
                continue
            for kk in range(max(0, int(lo) - 1), min(nz, int(hi) + 2)):
                zc = z0 + kk * sz
                if zc <= 1e-6:
                    continue
                inv = 1.0 / zc
                u = fx * (x0 + kk * sx) * inv + cx
                v = fy * (y0 + kk * sy) * inv + cy
                if u < 0.0 or v < 0.0 or u >= w or v >= h:
                    continue
                ui, vi = int(u), int(v)
                d = depth[vi, ui]
                if d <= 0.0:  # no usable return
                    continue
                sdf = d - zc
                if sdf < -trunc:
                    continue
                w0 = weight[i, j, kk]
                weight[i, j, kk] = w0 + 1.0
                if sdf >= trunc:  # free space: +1, and no colour
                    t0 = tsdf[i, j, kk]
                    if t0 < 1.0:
                        tsdf[i, j, kk] = (t0 * w0 + 1.0) / (w0 + 1.0)
                    continue
                tsdf[i, j, kk] = (tsdf[i, j, kk] * w0 + sdf * inv_trunc) / (w0 + 1.0)
                cw = color_weight[i, j, kk]
                inv_c = 1.0 / (cw + 1.0)
                for c in range(3):
                    color[i, j, kk, c] = (color[i, j, kk, c] * cw + colors[vi, ui, c]) * inv_c
                color_weight[i, j, kk] = cw + 1.0


def integrate(volume: TSDFVolume, depth, rgb, K, T_world_camera, valid=None, config=None) -> None:  # noqa: N803
    """Fuse one frame into ``volume`` in place. ``valid [H,W]`` bool: False pixels are ignored."""
    max_depth = (config or TSDFConfig()).max_depth
    depth, colors, k, rot, trans = _frame_inputs(depth, rgb, K, T_world_camera, valid, max_depth)
    grid = (volume.tsdf, volume.weight, volume.color, volume.color_weight)
    geometry = (np.asarray(volume.origin, float), float(volume.voxel_size))
    _integrate_kernel(*grid, *geometry, depth, colors, k, rot, trans, float(volume.truncation))


def integrate_reference(volume: TSDFVolume, depth, rgb, K, T_world_camera, valid=None, config=None) -> None:  # noqa: N803
    """The same update as :func:`integrate`, vectorised over all voxels in numpy (slow, obvious)."""
    max_depth = (config or TSDFConfig()).max_depth
    depth, colors, k, rot, trans = _frame_inputs(depth, rgb, K, T_world_camera, valid, max_depth)
    cam = volume.centres().reshape(-1, 3) @ rot.T + trans
    z = cam[:, 2]
    in_front = z > 1e-6
    safe_z = np.where(in_front, z, 1.0)
    u = k[0, 0] * cam[:, 0] / safe_z + k[0, 2]
    v = k[1, 1] * cam[:, 1] / safe_z + k[1, 2]
    h, w = depth.shape
    ok = in_front & (u >= 0) & (v >= 0) & (u < w) & (v < h)
    ui, vi = np.where(ok, u, 0).astype(int), np.where(ok, v, 0).astype(int)
    d = depth[vi, ui].astype(float)
    ok &= d > 0
    sdf = d - z
    ok &= sdf >= -volume.truncation
    idx = np.flatnonzero(ok)
    val = np.minimum(1.0, sdf[idx] / volume.truncation)
    tsdf, weight = volume.tsdf.reshape(-1), volume.weight.reshape(-1)
    w0 = weight[idx].astype(float)
    tsdf[idx] = (tsdf[idx] * w0 + val) / (w0 + 1)
    weight[idx] = w0 + 1
    idx = idx[val < 1.0]  # colour only from rays that end within a truncation of the voxel
    color, color_w = volume.color.reshape(-1, 3), volume.color_weight.reshape(-1)
    c0 = color_w[idx].astype(float)[:, None]
    color[idx] = (color[idx] * c0 + colors[vi[idx], ui[idx]]) / (c0 + 1)
    color_w[idx] = c0[:, 0] + 1


def _frames(depths, K, poses, valid):  # noqa: N803
    depths = np.asarray(depths)
    n = depths.shape[0]
    ks = np.broadcast_to(np.asarray(K, dtype=float), (n, 3, 3))
    poses = np.asarray(poses, dtype=float).reshape(n, 4, 4)
    if valid is not None and len(valid) != n:
        raise ValueError(f"{n} depth frames but {len(valid)} valid masks")
    return depths, ks, poses


def fuse(depths, rgbs, K, poses, lower, upper, valid=None, config: TSDFConfig = TSDFConfig()) -> TSDFVolume:  # noqa: N803, B008
    """Fuse frames ``depths [T,H,W]``, ``rgbs [T,H,W,3]`` with ``K`` (3×3 or T×3×3), camera→world
    ``poses [T,4,4]`` and optional ``valid [T,H,W]`` masks into a new volume over ``[lower, upper]``."""
    depths, ks, poses = _frames(depths, K, poses, valid)
    if len(rgbs) != len(depths):
        raise ValueError(f"{len(depths)} depth frames but {len(rgbs)} colour frames")
    volume = new_volume(lower, upper, config)
    for t in range(len(depths)):
        integrate(volume, depths[t], rgbs[t], ks[t], poses[t], None if valid is None else valid[t], config)
    return volume


def surface_points(volume: TSDFVolume, min_weight: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Zero crossings between x-, y- and z-neighbours, linearly interpolated: world points ``[N,3]``
    float64 and colours ``[N,3]`` float32. Both voxels need weight ≥ ``min_weight`` (None: the
    :class:`TSDFConfig` default) and |tsdf| < 1."""
    min_w = TSDFConfig().min_weight if min_weight is None else float(min_weight)
    good = (volume.weight >= min_w) & (np.abs(volume.tsdf) < 1.0)
    pts, cols = [], []
    for axis in range(3):
        lo, hi = [slice(None)] * 3, [slice(None)] * 3
        lo[axis], hi[axis] = slice(0, -1), slice(1, None)
        lo, hi = tuple(lo), tuple(hi)
        a, b = volume.tsdf[lo], volume.tsdf[hi]
        idx = np.nonzero(good[lo] & good[hi] & ((a > 0) != (b > 0)))
        fa, fb = a[idx].astype(float), b[idx].astype(float)
        t = fa / (fa - fb)
        ijk = np.stack(idx, axis=-1).astype(float)
        ijk[:, axis] += t
        pts.append(volume.origin + ijk * volume.voxel_size)
        ca, cb = volume.color[lo][idx], volume.color[hi][idx]
        cols.append((ca + (cb - ca) * t[:, None].astype(np.float32)).astype(np.float32))
    return np.concatenate(pts), np.concatenate(cols)


def depth_supported(
    points,
    depths,
    K,
    poses,
    tolerance: float = 0.003,
    valid=None,
    min_views: int = 1,  # noqa: N803
) -> np.ndarray:
    """Which ``points [N,3]`` at least ``min_views`` frames measured: the point projects onto a
    valid pixel whose depth is within ``tolerance`` of the point's depth. Fused surfaces that no
    frame saw (skirts behind far edges) fail."""
    points = np.asarray(points, float).reshape(-1, 3)
    depths, ks, poses = _frames(depths, K, poses, valid)
    counts = np.zeros(len(points), np.int64)
    for t in range(len(depths)):
        rot = poses[t, :3, :3].T
        cam = points @ rot.T - rot @ poses[t, :3, 3]
        z = cam[:, 2]
        front = z > 1e-6
        safe_z = np.where(front, z, 1.0)
        u = ks[t, 0, 0] * cam[:, 0] / safe_z + ks[t, 0, 2]
        v = ks[t, 1, 1] * cam[:, 1] / safe_z + ks[t, 1, 2]
        h, w = depths[t].shape
        ok = front & (u >= 0) & (v >= 0) & (u < w) & (v < h)
        ui, vi = np.where(ok, u, 0).astype(int), np.where(ok, v, 0).astype(int)
        d = depths[t][vi, ui].astype(float)
        if valid is not None:
            ok &= np.asarray(valid[t], bool)[vi, ui]
        with np.errstate(invalid="ignore"):
            counts += ok & (np.abs(d - z) <= tolerance)
    return counts >= min_views


def fused_surface(
    depths,
    rgbs,
    K,
    poses,
    lower,
    upper,
    valid=None,
    config: TSDFConfig = TSDFConfig(),  # noqa: N803, B008
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`fuse`, :func:`surface_points`, then only the points some frame measured
    (:func:`depth_supported` within ``config.support_tolerance``): ``(xyz [N,3], rgb [N,3])``."""
    volume = fuse(depths, rgbs, K, poses, lower, upper, valid, config)
    points, colors = surface_points(volume, config.min_weight)
    keep = depth_supported(points, depths, K, poses, config.support_tolerance, valid)
    return points[keep], colors[keep]
