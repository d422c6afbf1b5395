"""Mean distance from each point to its k nearest neighbours, on a uniform hash grid (numba).

Used once to size the initial splats.  The cell size comes from the exact k-NN distances of a
random sample, so surfaces (2D) and volumes (3D) both get cells holding a few points; neighbours
farther than one cell away are not searched, and such isolated points get the search radius.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def _grid_knn(points, order, cell_start, cell_count, keys_sorted, origin, cell, dims, k):
    n = points.shape[0]
    out = np.empty(n)
    for i in prange(n):
        best = np.full(k, np.inf)
        cx = int((points[i, 0] - origin[0]) / cell)
        cy = int((points[i, 1] - origin[1]) / cell)
        cz = int((points[i, 2] - origin[2]) / cell)
        for dx in range(-1, 2):
            for dy in range(-1, 2):
                for dz in range(-1, 2):
                    x, y, z = cx + dx, cy + dy, cz + dz
                    if x < 0 or y < 0 or z < 0 or x >= dims[0] or y >= dims[1] or z >= dims[2]:
                        continue
                    key = (x * dims[1] + y) * dims[2] + z
                    j = np.searchsorted(keys_sorted, key)
                    if j >= keys_sorted.shape[0] or keys_sorted[j] != key:
                        continue
                    for m in range(cell_start[j], cell_start[j] + cell_count[j]):
                        p = order[m]
                        if p == i:
                            continue
                        d = (
                            (points[p, 0] - points[i, 0]) ** 2
                            + (points[p, 1] - points[i, 1]) ** 2
                            + (points[p, 2] - points[i, 2]) ** 2
                        )
                        if d < best[k - 1]:
                            q = k - 1
                            while q > 0 and best[q - 1] > d:
                                best[q] = best[q - 1]
                                q -= 1
                            best[q] = d
        total = 0.0
        for q in range(k):
            total += math.sqrt(best[q]) if best[q] < np.inf else cell
        out[i] = total / k
    return out


def mean_knn_distance(points: np.ndarray, k: int = 3, seed: int = 0) -> np.ndarray:
    """Mean distance ``[N]`` from every point to its ``k`` nearest other points (approximate for
    isolated points, exact otherwise)."""
    points = np.ascontiguousarray(points, dtype=np.float64)
    n = points.shape[0]
    if n <= k:
        return np.full(n, 1e-2)
    rng = np.random.default_rng(seed)
    sample = points[rng.choice(n, size=min(n, 256), replace=False)]
    best = np.full((sample.shape[0], k + 1), np.inf)
    for start in range(0, n, 32_768):  # exact k-NN of the sample, in chunks
        chunk = points[start : start + 32_768]
        d2 = (sample * sample).sum(1)[:, None] + (chunk * chunk).sum(1)[None, :] - 2.0 * sample @ chunk.T
        best = np.sort(np.concatenate([best, np.maximum(d2, 0.0)], axis=1), axis=1)[:, : k + 1]
    knn = np.sqrt(best[:, 1:]).mean(axis=1)
    cell = max(float(np.median(knn)) * 2.0, 1e-9)
    origin = points.min(axis=0) - 1e-9
    dims = np.floor((points.max(axis=0) - origin) / cell).astype(np.int64) + 1
    idx = np.floor((points - origin) / cell).astype(np.int64)
    keys = (idx[:, 0] * dims[1] + idx[:, 1]) * dims[2] + idx[:, 2]
    order = np.argsort(keys, kind="stable")
    keys_sorted, cell_start, cell_count = np.unique(keys[order], return_index=True, return_counts=True)
    return _grid_knn(points, order, cell_start, cell_count, keys_sorted, origin, cell, dims, k)
