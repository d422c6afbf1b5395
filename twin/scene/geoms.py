"""The surfaces of compiled MuJoCo geoms as points and triangles, and footprint measures on them:
pure functions of a model and its data, for reading a user's world and for the expert's choices."""

from __future__ import annotations

import numpy as np

PLANE, HFIELD, SPHERE, CAPSULE, ELLIPSOID, CYLINDER, BOX, MESH = 0, 1, 2, 3, 4, 5, 6, 7  # mjtGeom


class GeomError(ValueError):
    """A geom with no bounded surface (a plane or a height field)."""


def round_points(kind: int, size, sides: int = 24, rings: int = 8) -> np.ndarray:
    """Points on a sphere, ellipsoid, capsule or cylinder (MuJoCo's sizes), about its centre."""
    angles = 2 * np.pi * np.arange(sides) / sides
    circle = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    if kind == CYLINDER:
        r, h = size[0], size[1]
        return np.vstack([np.hstack([r * circle, np.full((sides, 1), z)]) for z in (-h, h)])
    polar = np.linspace(0, np.pi, rings + 1)[1:-1]
    bands = [np.hstack([np.sin(p) * circle, np.full((sides, 1), np.cos(p))]) for p in polar]
    unit = np.vstack([[0.0, 0.0, 1.0], *bands, [0.0, 0.0, -1.0]])
    if kind == SPHERE:
        return unit * size[0]
    if kind == ELLIPSOID:
        return unit * np.asarray(size[:3])
    points = unit * size[0]  # capsule: a sphere split at its equator and pulled apart
    points[:, 2] += np.where(points[:, 2] >= 0, size[1], -size[1])
    return points


def hull_faces(points: np.ndarray) -> np.ndarray:
    """Triangles of the convex hull of ``points`` (indices into them)."""
    from scipy.spatial import ConvexHull

    return ConvexHull(points).simplices.astype(int)


def geom_surface(model, data, g: int) -> tuple[np.ndarray, np.ndarray]:
    """Geom ``g``'s surface in world coordinates: vertices [N, 3] and triangles [M, 3] (a mesh's
    own; a primitive's convex hull). Raises :class:`GeomError` for planes and height fields."""
    kind, size = int(model.geom_type[g]), model.geom_size[g]
    if kind == MESH:
        mesh = model.geom_dataid[g]
        v0, nv = model.mesh_vertadr[mesh], model.mesh_vertnum[mesh]
        f0, nf = model.mesh_faceadr[mesh], model.mesh_facenum[mesh]
        local = model.mesh_vert[v0 : v0 + nv].astype(float)
        faces = model.mesh_face[f0 : f0 + nf].astype(int)
    elif kind == BOX:
        local = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)]) * size
        faces = hull_faces(local)
    elif kind in (SPHERE, ELLIPSOID, CAPSULE, CYLINDER):
        local = round_points(kind, size)
        faces = hull_faces(local)
    else:
        raise GeomError(f"geom {g} is a plane or a height field: no bounded surface")
    return local @ data.geom_xmat[g].reshape(3, 3).T + data.geom_xpos[g], faces


def subtree_bodies(model, body: int) -> list[int]:
    """``body`` and every body below it, in MuJoCo's order."""
    below = {body}
    for b in range(body + 1, model.nbody):  # MuJoCo numbers a child after its parent
        if model.body_parentid[b] in below:
            below.add(b)
    return sorted(below)


def body_geoms(model, body: int) -> list[int]:
    """The geoms of ``body`` and of every body below it."""
    below = set(subtree_bodies(model, body))
    return [g for g in range(model.ngeom) if model.geom_bodyid[g] in below]


def rectangularity(xy) -> float:
    """How much of its tightest bounding rectangle a footprint fills: the convex hull's area over
    the minimum-area rectangle's (1 for a box, π/4 for a disc, 0.75 for a hexagon)."""
    from scipy.spatial import ConvexHull, QhullError

    points = np.asarray(xy, dtype=float).reshape(-1, 2)
    try:
        hull = points[ConvexHull(points).vertices]
    except (QhullError, ValueError):
        return 1.0  # a degenerate footprint (a line or a point) has nothing round about it
    edges = np.diff(np.vstack([hull, hull[:1]]), axis=0)
    angles = np.arctan2(edges[:, 1], edges[:, 0])
    best = np.inf
    for angle in angles:  # the tightest rectangle has a side along a hull edge
        c, s = np.cos(angle), np.sin(angle)
        turned = hull @ np.array([[c, -s], [s, c]])
        best = min(best, float(np.prod(np.ptp(turned, axis=0))))
    area = 0.5 * abs(
        np.dot(hull[:, 0], np.roll(hull[:, 1], -1)) - np.dot(hull[:, 1], np.roll(hull[:, 0], -1))
    )
    return float(area / best) if best > 0 else 1.0
