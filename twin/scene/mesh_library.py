"""Meshes a scene spec may name: props that ship with ``pybullet_data`` (installed with pybullet),
read offline, turned z-up and fitted to the object's bounding box.

A ``mesh`` object with ``mesh: duck`` (see :class:`~twin.scene.spec.ObjectSpec`) is built from
these vertices and faces inline in the scene (``MjSpec`` user vertices), so a scene's
``scene.xml`` carries the geometry itself and reaches no file outside its package. MuJoCo
collides with the mesh's convex hull and draws its faces.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

# name → (file under pybullet_data, the file's up axis)
MESHES = {
    "duck": ("duck.obj", "y"),
    "mug": ("objects/mug.obj", "z"),
    "lego": ("lego/lego.obj", "y"),
    "jenga": ("jenga/jenga.obj", "z"),
}


class MeshLibraryError(ValueError):
    """A mesh that cannot be read; the message names it."""


def mesh_root() -> Path:
    try:
        import pybullet_data
    except ImportError as err:  # pragma: no cover (pybullet is a dependency)
        raise MeshLibraryError("meshes come from pybullet_data: pip install pybullet") from err
    return Path(pybullet_data.getDataPath())


def read_obj_polygons(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Vertices and triangles of an OBJ file (polygons fanned into triangles; texture and normal
    indices dropped)."""
    vertices, faces = [], []
    for line in Path(path).read_text(errors="replace").splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "v":
            vertices.append([float(v) for v in parts[1:4]])
        elif parts[0] == "f":
            ring = [int(v.split("/")[0]) for v in parts[1:]]
            ring = [i - 1 if i > 0 else len(vertices) + i for i in ring]
            faces.extend([ring[0], ring[k], ring[k + 1]] for k in range(1, len(ring) - 1))
    return np.array(vertices, dtype=float), np.array(faces, dtype=int)


def _z_up_vertices(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (z up) and triangles of library mesh ``name``, or of an OBJ file (already z up)."""
    if name.lower().endswith(".obj"):
        path, up = Path(name), "z"
    elif name in MESHES:
        file, up = MESHES[name]
        path = mesh_root() / file
    else:
        raise MeshLibraryError(f"unknown mesh {name!r}; expected one of {', '.join(MESHES)} or an .obj file")
    try:
        vertices, faces = read_obj_polygons(path)
    except (OSError, ValueError, IndexError) as err:
        raise MeshLibraryError(f"cannot read mesh {path}: {err}") from None
    if len(vertices) < 4 or len(faces) < 1:
        raise MeshLibraryError(f"mesh {path} has {len(vertices)} vertices and {len(faces)} faces: no solid")
    if up == "y":  # y up → z up, keeping a right-handed frame: (x, y, z) → (x, -z, y)
        vertices = np.stack([vertices[:, 0], -vertices[:, 2], vertices[:, 1]], axis=1)
    return vertices, faces


@lru_cache(maxsize=16)
def unit_mesh(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Mesh ``name`` z-up, centred on its bounding box, with half-extents of 1 on every axis."""
    vertices, faces = _z_up_vertices(name)
    low, high = vertices.min(axis=0), vertices.max(axis=0)
    vertices = (vertices - (low + high) / 2) / np.maximum((high - low) / 2, 1e-9)
    vertices.flags.writeable = False
    faces.flags.writeable = False
    return vertices, faces


def mesh_aspect(name: str) -> np.ndarray:
    """The mesh's bounding box half-extents relative to its largest (x, y, z), z-up."""
    extent = np.ptp(_z_up_vertices(name)[0], axis=0)
    return extent / extent.max()


def fitted_mesh(name: str, half_extents) -> tuple[np.ndarray, np.ndarray]:
    """Mesh ``name`` scaled to the bounding box ``half_extents`` (hx, hy, hz) about the origin."""
    vertices, faces = unit_mesh(name)
    return vertices * np.asarray(half_extents, dtype=float), faces
