"""Dense depth for RGB frames with known metric poses: a fronto-parallel plane sweep (numba).

For each of ``num_planes`` depths (uniform in inverse depth) every neighbour image is warped into
the reference view and compared by zero-mean normalised cross-correlation (ZNCC) over a small
window; the per-neighbour costs are aggregated by the mean of the best ``best_k`` (robust to
occlusion in some views), the winner takes all, and a parabola refines between planes. Pixels
with little texture, a weak or ambiguous match, or a depth on the sweep's bounds get 0.
Poses are ``T_world_camera`` (OpenCV axes); ``K`` is one 3×3 for every frame or one per frame
(frames of several cameras); pixel centres sit at ``(u + 0.5, v + 0.5)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange


@dataclass(frozen=True)
class StereoConfig:
    """Plane-sweep settings; ``depth_range`` and the neighbour choice are used by :func:`depth_maps`."""

    num_planes: int = 96
    window: int = 7  # odd
    best_k: int = 2
    min_zncc: float = 0.7  # aggregated correlation a kept pixel needs
    min_texture: float = 0.01  # intensity standard deviation in the window (intensities in [0, 1])
    min_uniqueness: float = 0.01  # aggregated cost margin of the best plane over other minima
    agreement_planes: int = 2  # a view agrees when its own best plane is this close to the chosen one
    min_agreeing_views: int = 2
    max_depth_jump: float = 0.1  # relative; pixels this close to a larger jump in depth are dropped
    edge_margin: int = 1  # pixels beyond the window radius
    depth_range: tuple[float, float] = (0.3, 5.0)  # metres
    num_neighbours: int = 4
    min_baseline: float = 0.1  # metres; closer cameras add noise, not depth precision
    max_view_angle_deg: float = 35.0
    min_consistent: int = 1  # depth_maps: other computed frames that must agree with a pixel's depth
    consistency_tol: float = 0.02  # relative depth difference that counts as agreement


def _gray(rgb: np.ndarray) -> np.ndarray:
    """Luma in [0, 1] from uint8 or [0, 1] float RGB."""
    scale = 1.0 / 255.0 if rgb.dtype == np.uint8 else 1.0
    return (rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])) * scale


@njit(cache=True)
def _box(img, r):
    """Sum over a (2r+1)² window at every pixel (NaN near the border)."""
    h, w = img.shape
    ii = np.zeros((h + 1, w + 1))
    for y in range(h):
        row = 0.0
        for x in range(w):
            row += img[y, x]
            ii[y + 1, x + 1] = ii[y, x + 1] + row
    out = np.full((h, w), np.nan)
    for y in range(r, h - r):
        for x in range(r, w - r):
            y0, y1, x0, x1 = y - r, y + r + 1, x - r, x + r + 1
            out[y, x] = ii[y1, x1] - ii[y0, x1] - ii[y1, x0] + ii[y0, x0]
    return out


@njit(cache=True)
def _window_zncc(warped, invalid, ref, ref_sum, ref_var, r, out):
    """``out = 1 - ZNCC`` of ``warped`` against ``ref`` over (2r+1)² windows seen entirely."""
    h, w = warped.shape
    n = (2 * r + 1) ** 2
    ii = np.zeros((4, h + 1, w + 1))
    for y in range(h):
        r0 = r1 = r2 = r3 = 0.0
        for x in range(w):
            a = warped[y, x]
            r0 += a
            r1 += a * a
            r2 += a * ref[y, x]
            r3 += invalid[y, x]
            ii[0, y + 1, x + 1] = ii[0, y, x + 1] + r0
            ii[1, y + 1, x + 1] = ii[1, y, x + 1] + r1
            ii[2, y + 1, x + 1] = ii[2, y, x + 1] + r2
            ii[3, y + 1, x + 1] = ii[3, y, x + 1] + r3
    for y in range(r, h - r):
        for x in range(r, w - r):
            y0, y1, x0, x1 = y - r, y + r + 1, x - r, x + r + 1
            if ii[3, y1, x1] - ii[3, y0, x1] - ii[3, y1, x0] + ii[3, y0, x0] > 0.5:
                continue
            s0 = ii[0, y1, x1] - ii[0, y0, x1] - ii[0, y1, x0] + ii[0, y0, x0]
            s1 = ii[1, y1, x1] - ii[1, y0, x1] - ii[1, y1, x0] + ii[1, y0, x0]
            s2 = ii[2, y1, x1] - ii[2, y0, x1] - ii[2, y1, x0] + ii[2, y0, x0]
            var_w = s1 / n - (s0 / n) ** 2
            if var_w <= 1e-8 or ref_var[y, x] <= 1e-8:
                continue
            cov = s2 / n - ref_sum[y, x] * s0 / (n * n)
            out[y, x] = 1.0 - cov / np.sqrt(var_w * ref_var[y, x])


@njit(parallel=True, cache=True)
def _sweep(ref, ref_sum, ref_var, others, rays, offsets, inv_depths, r):
    """Per-view cost ``1 - ZNCC`` [N,P,H,W] (2 where the view does not see the whole window)."""
    n_views, h, w = others.shape
    n_planes = len(inv_depths)
    cost = np.full((n_views, n_planes, h, w), 2.0, dtype=np.float32)
    for job in prange(n_views * n_planes):
        k, p = job // n_planes, job % n_planes
        d = 1.0 / inv_depths[p]
        img = others[k]
        warped = np.zeros((h, w))
        invalid = np.zeros((h, w))
        for y in range(h):
            for x in range(w):
                z = d * rays[k, y, x, 2] + offsets[k, 2]
                invalid[y, x] = 1.0
                if z <= 1e-6:
                    continue
                u = (d * rays[k, y, x, 0] + offsets[k, 0]) / z - 0.5
                v = (d * rays[k, y, x, 1] + offsets[k, 1]) / z - 0.5
                if u < 0.0 or v < 0.0 or u > w - 1.001 or v > h - 1.001:
                    continue
                invalid[y, x] = 0.0
                x0, y0 = int(u), int(v)
                ax, ay = u - x0, v - y0
                top = img[y0, x0] * (1 - ax) + img[y0, x0 + 1] * ax
                warped[y, x] = top * (1 - ay) + (img[y0 + 1, x0] * (1 - ax) + img[y0 + 1, x0 + 1] * ax) * ay
        _window_zncc(warped, invalid, ref, ref_sum, ref_var, r, cost[k, p])
    return cost


def plane_sweep_depth(  # noqa: N803
    rgb, K, T_world_camera, reference: int, neighbours, depth_range, config: StereoConfig = StereoConfig()
):
    """Depth ``[H,W]`` float32 (0 where unreliable) and confidence ``[H,W]`` (aggregated ZNCC)."""
    neighbours = [int(i) for i in neighbours if int(i) != reference]
    if not neighbours:
        raise ValueError("plane_sweep_depth needs at least one neighbour frame")
    near, far = float(depth_range[0]), float(depth_range[1])
    if not 0 < near < far:
        raise ValueError(f"depth_range must be 0 < near < far, got {depth_range}")
    poses = np.asarray(T_world_camera, dtype=np.float64)
    ks = per_frame_intrinsics(K, len(poses))
    gray = _gray(np.asarray(rgb)[[reference, *neighbours]])
    h, w = gray.shape[1:]
    r = config.window // 2
    xs = np.stack(np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5), axis=-1)
    pix = np.concatenate([xs, np.ones((h, w, 1))], axis=-1)  # homogeneous pixel centres
    rays, offsets = [], []
    for j in neighbours:
        rel = np.linalg.inv(poses[j]) @ poses[reference]  # neighbour ← reference
        rays.append(pix @ (ks[j] @ rel[:3, :3] @ np.linalg.inv(ks[reference])).T)
        offsets.append(ks[j] @ rel[:3, 3])
    ref = gray[0]
    ref_sum, ref_sq = _box(ref, r), _box(ref * ref, r)
    n = (2 * r + 1) ** 2
    ref_var = np.maximum(np.nan_to_num(ref_sq / n - (ref_sum / n) ** 2, nan=0.0), 0.0)
    inv_depths = np.linspace(1.0 / near, 1.0 / far, config.num_planes)
    per_view = _sweep(ref, ref_sum, ref_var, gray[1:], np.stack(rays), np.stack(offsets), inv_depths, r)
    k = min(config.best_k, len(neighbours))
    cost = (
        np.partition(per_view, k - 1, axis=0)[:k].mean(axis=0) if k < len(per_view) else per_view.mean(axis=0)
    )
    best = np.argmin(cost, axis=0)
    agree = np.sum(np.abs(per_view.argmin(axis=1) - best) <= config.agreement_planes, axis=0)
    rows, cols = np.indices(best.shape)
    inner = np.clip(best, 1, config.num_planes - 2)
    c0, c1, c2 = (cost[inner + o, rows, cols].astype(np.float64) for o in (-1, 0, 1))
    curvature = c0 - 2 * c1 + c2
    shift = np.clip(np.where(curvature > 1e-9, 0.5 * (c0 - c2) / np.maximum(curvature, 1e-9), 0.0), -0.5, 0.5)
    step = inv_depths[1] - inv_depths[0]
    depth = 1.0 / (inv_depths[inner] + shift * step)
    best_cost = cost[best, rows, cols]
    # uniqueness: the best cost must beat the cost of every plane not next to it by a margin
    far_cost = cost.copy()
    for o in (-1, 0, 1):
        far_cost[np.clip(best + o, 0, config.num_planes - 1), rows, cols] = np.inf
    margin = far_cost.min(axis=0) - best_cost
    confidence = np.clip(1.0 - best_cost, -1.0, 1.0).astype(np.float32)
    keep = (
        (best > 0)
        & (best < config.num_planes - 1)
        & (confidence >= config.min_zncc)
        & (np.sqrt(ref_var) >= config.min_texture)
        & (margin >= config.min_uniqueness)
        & (agree >= min(config.min_agreeing_views, len(neighbours)))
    )
    depth = np.where(keep, depth, 0.0)
    keep &= ~_near_edges(depth, r + config.edge_margin, config.max_depth_jump)
    return np.where(keep, depth, 0.0).astype(np.float32), np.where(keep, confidence, 0.0).astype(np.float32)


def _near_edges(depth: np.ndarray, radius: int, jump: float) -> np.ndarray:
    """Pixels with a relative depth jump above ``jump`` within ``radius``: windows there straddle two
    surfaces and take the nearer one's depth (edge fattening)."""
    from scipy.ndimage import maximum_filter, minimum_filter

    size = 2 * radius + 1
    hi = maximum_filter(depth, size=size)
    lo = minimum_filter(np.where(depth > 0, depth, np.inf), size=size)
    return (depth > 0) & (hi > lo * (1.0 + jump))


def choose_neighbours(poses, index: int, config: StereoConfig = StereoConfig()) -> list[int]:
    """The ``num_neighbours`` frames nearest to ``index`` by baseline, at least ``min_baseline`` away
    and looking within ``max_view_angle_deg`` of its direction."""
    poses = np.asarray(poses, dtype=np.float64)
    baseline = np.linalg.norm(poses[:, :3, 3] - poses[index, :3, 3], axis=1)
    cos = poses[:, :3, 2] @ poses[index, :3, 2]
    ok = (baseline >= config.min_baseline) & (cos >= np.cos(np.radians(config.max_view_angle_deg)))
    ok[index] = False
    order = np.argsort(np.where(ok, baseline, np.inf))
    return [int(i) for i in order[: config.num_neighbours] if ok[i]]


def per_frame_intrinsics(K, frames: int) -> np.ndarray:  # noqa: N803
    """``K`` (3×3 for every frame, or one per frame) as ``[frames, 3, 3]``."""
    K = np.asarray(K, dtype=np.float64)  # noqa: N806
    return np.broadcast_to(K, (frames, 3, 3)) if K.ndim == 2 else K


def _consistent(depths, K, poses, frames, config: StereoConfig) -> np.ndarray:  # noqa: N803
    """Per pixel, how many other computed frames see a depth within ``consistency_tol`` of it
    (``min_consistent`` everywhere in a frame that no other computed frame overlaps)."""
    count = np.zeros(depths.shape, dtype=np.int32)
    h, w = depths.shape[1:]
    sub = np.asarray(poses, dtype=np.float64)[list(frames)]
    ks = per_frame_intrinsics(K, len(poses))[list(frames)]
    loose = StereoConfig(
        num_neighbours=config.num_neighbours, min_baseline=1e-6, max_view_angle_deg=config.max_view_angle_deg
    )
    for i in range(len(frames)):
        v, u = np.nonzero(depths[i] > 0)
        z = depths[i][v, u].astype(np.float64)
        k = ks[i]
        cam = np.stack([(u + 0.5 - k[0, 2]) / k[0, 0] * z, (v + 0.5 - k[1, 2]) / k[1, 1] * z, z], axis=1)
        world = cam @ sub[i, :3, :3].T + sub[i, :3, 3]
        others = choose_neighbours(sub, i, loose)
        if not others:
            count[i] = config.min_consistent  # nothing to check against: keep the sweep's result
        for j in others:
            inv = np.linalg.inv(sub[j])
            q = world @ inv[:3, :3].T + inv[:3, 3]
            qz = np.maximum(q[:, 2], 1e-9)
            uj = np.floor(ks[j, 0, 0] * q[:, 0] / qz + ks[j, 0, 2]).astype(np.int64)
            vj = np.floor(ks[j, 1, 1] * q[:, 1] / qz + ks[j, 1, 2]).astype(np.int64)
            inside = (q[:, 2] > 0) & (uj >= 0) & (uj < w) & (vj >= 0) & (vj < h)
            dj = np.zeros(len(z))
            dj[inside] = depths[j][vj[inside], uj[inside]]
            count[i][v, u] += (dj > 0) & (np.abs(dj - q[:, 2]) <= config.consistency_tol * q[:, 2])
    return count


def depth_maps(rgb, K, poses, frames, config: StereoConfig = StereoConfig()) -> np.ndarray:  # noqa: N803
    """Depth ``[len(frames),H,W]`` (0 = unknown) for ``frames`` of ``rgb`` with poses ``[T,4,4]``.

    Each frame is swept against its :func:`choose_neighbours` over ``config.depth_range``; then a
    pixel is kept only where ``min_consistent`` other computed frames that overlap it agree.
    """
    rgb = np.asarray(rgb)
    out = np.zeros((len(frames), *rgb.shape[1:3]), dtype=np.float32)
    for i, frame in enumerate(frames):
        neighbours = choose_neighbours(poses, int(frame), config)
        if neighbours:
            out[i] = plane_sweep_depth(rgb, K, poses, int(frame), neighbours, config.depth_range, config)[0]
    if config.min_consistent > 0 and len(frames) > 1:
        agreeing = _consistent(out, K, poses, frames, config)
        out[agreeing < config.min_consistent] = 0.0
    return out
