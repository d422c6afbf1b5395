"""Planes in point clouds: a seeded RANSAC fit and a least-squares refinement, pure numpy.

A plane is ``n·x + d = 0`` with a unit normal ``n``; signed distances are ``points @ n + d``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Plane:
    """``normal · x + offset = 0``; ``normal`` is a unit vector."""

    normal: np.ndarray  # (3,)
    offset: float

    def distance(self, points: np.ndarray) -> np.ndarray:
        """Signed distance of each point (positive on the side the normal points to)."""
        return np.asarray(points, dtype=float) @ self.normal + self.offset

    def flipped(self) -> Plane:
        return Plane(-self.normal, -self.offset)


def plane_through(points: np.ndarray) -> Plane:
    """Least-squares plane through ``points`` [N ≥ 3, 3] (smallest principal axis as normal)."""
    points = np.asarray(points, dtype=float)
    centre = points.mean(axis=0)
    _, _, vt = np.linalg.svd(points - centre, full_matrices=False)
    normal = vt[-1] / np.linalg.norm(vt[-1])
    return Plane(normal, float(-normal @ centre))


def fit_plane_ransac(
    points: np.ndarray,
    threshold: float,
    rng: np.random.Generator,
    iterations: int = 300,
    up: np.ndarray | None = None,
    max_tilt_deg: float = 90.0,
) -> tuple[Plane, np.ndarray]:
    """The plane with the most inliers (|distance| ≤ ``threshold``), refined on its inliers.

    With ``up`` given, only planes whose normal lies within ``max_tilt_deg`` of ``up`` count, and
    the returned normal points along ``up``. Returns the plane and the boolean inlier mask.
    """
    points = np.asarray(points, dtype=float)
    if points.ndim != 2 or points.shape[1] != 3 or len(points) < 3:
        raise ValueError(f"need at least 3 points of shape [N, 3], got {points.shape}")
    up_vec = None if up is None else np.asarray(up, dtype=float) / np.linalg.norm(up)
    min_cos = np.cos(np.radians(max_tilt_deg))
    best, best_count = None, -1
    samples = rng.integers(0, len(points), size=(iterations, 3))
    for i, j, k in samples:
        normal = np.cross(points[j] - points[i], points[k] - points[i])
        norm = np.linalg.norm(normal)
        if norm < 1e-12:
            continue
        normal /= norm
        if up_vec is not None:
            if normal @ up_vec < 0:
                normal = -normal
            if normal @ up_vec < min_cos:
                continue
        count = int(np.count_nonzero(np.abs(points @ normal - normal @ points[i]) <= threshold))
        if count > best_count:
            best, best_count = Plane(normal, float(-normal @ points[i])), count
    if best is None:
        raise ValueError("no plane found: the points are degenerate or none is tilted as asked")
    inliers = np.abs(best.distance(points)) <= threshold
    refined = plane_through(points[inliers])
    reference = up_vec if up_vec is not None else best.normal
    if refined.normal @ reference < 0:
        refined = refined.flipped()
    return refined, np.abs(refined.distance(points)) <= threshold
