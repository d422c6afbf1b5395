"""Physics assets of a twin: the table and the objects composed into ``scene.xml`` with ``MjSpec``.

Each solid object is a free body carrying its watertight visual mesh (no collisions, no mass) and
its convex collision parts (hidden, group 3), which share the object's mass by volume. Zones are
flat marks welded to the table that never collide. Nothing here writes XML by hand: ``scene.xml``
is ``MjSpec.to_xml()`` of the composed spec.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from twin.meshes import mesh_volume
from twin.scene.builder import OBJECT_GEOM_GROUP, add_lights, new_scene_spec
from twin.scene.gl import import_mujoco
from twin.scene.spec import LightSpec, PhysicsSpec
from twin.transforms import yaw_quat

mujoco = import_mujoco()

COLLISION_GROUP = 3
FLOOR_DROP = 0.75  # metres from the table top down to the floor
DEFAULT_LIGHTS = (
    LightSpec(pos=(0.3, -0.3, 1.6), dir=(-0.2, 0.2, -1.0), diffuse=(0.7, 0.7, 0.68)),
    LightSpec(
        pos=(-0.5, 0.5, 1.4),
        dir=(0.3, -0.3, -1.0),
        diffuse=(0.3, 0.3, 0.3),
        ambient=(0, 0, 0),
        castshadow=False,
    ),
)

Mesh = tuple[np.ndarray, np.ndarray]  # vertices [V, 3], triangle faces [F, 3]


@dataclass(frozen=True)
class TableGeometry:
    """The table top: a box whose top face is at ``height``."""

    height: float
    center_xy: tuple[float, float]
    half_extents_xy: tuple[float, float]
    yaw: float = 0.0
    friction: float = 0.8
    rgba: tuple[float, float, float, float] = (0.5, 0.4, 0.3, 1.0)
    thickness: float = 0.05


@dataclass(frozen=True)
class PhysicalObject:
    """An object's pose, body-frame bounding box, appearance colour, mass, friction and meshes."""

    name: str
    kind: str  # "solid" or "zone"
    pos: np.ndarray
    quat: np.ndarray
    half_extents: np.ndarray
    rgba: tuple[float, float, float, float]
    mass: float = 0.0
    friction: float = 0.8
    primitive: str = "mesh"  # the primitive the mesh resembles: box, cylinder or mesh
    visual: Mesh | None = None
    collision: list[Mesh] = field(default_factory=list)


def _add_mesh(spec, name: str, mesh: Mesh) -> str:
    vertices, faces = mesh
    spec.add_mesh(
        name=name,
        uservert=np.asarray(vertices, dtype=float).ravel().tolist(),
        userface=np.asarray(faces, dtype=int).ravel().tolist(),
    )
    return name


def _add_solid(spec, obj: PhysicalObject) -> None:
    body = spec.worldbody.add_body(name=obj.name, pos=list(obj.pos), quat=list(obj.quat))
    body.add_freejoint(name=f"{obj.name}_joint")
    if obj.visual is not None:
        body.add_geom(
            name=f"{obj.name}_visual",
            type=mujoco.mjtGeom.mjGEOM_MESH,
            meshname=_add_mesh(spec, f"{obj.name}_visual", obj.visual),
            rgba=list(obj.rgba),
            contype=0,
            conaffinity=0,
            density=0.0,
            group=OBJECT_GEOM_GROUP,
        )
    parts = obj.collision or ([obj.visual] if obj.visual is not None else [])
    if not parts:
        raise ValueError(f"object {obj.name!r} has neither a visual mesh nor collision parts")
    volumes = np.array([max(mesh_volume(*part), 1e-9) for part in parts])
    for i, part in enumerate(parts):
        body.add_geom(
            name=f"{obj.name}_collision{i}",
            type=mujoco.mjtGeom.mjGEOM_MESH,
            meshname=_add_mesh(spec, f"{obj.name}_collision{i}", part),
            mass=float(obj.mass * volumes[i] / volumes.sum()),
            friction=[obj.friction, 0.005, 0.0001],
            condim=4,
            group=COLLISION_GROUP,
            rgba=[0.5, 0.5, 0.5, 0.3],
        )


def _add_zone(spec, obj: PhysicalObject) -> None:
    body = spec.worldbody.add_body(name=obj.name, pos=list(obj.pos), quat=list(obj.quat))
    body.add_geom(
        name=f"{obj.name}_visual",
        type=mujoco.mjtGeom.mjGEOM_BOX,
        size=list(obj.half_extents),
        rgba=list(obj.rgba),
        contype=0,
        conaffinity=0,
        group=OBJECT_GEOM_GROUP,
    )


def twin_scene_spec(
    name: str,
    table: TableGeometry,
    objects: list[PhysicalObject],
    physics: PhysicsSpec = PhysicsSpec(),  # noqa: B008 - frozen dataclass
    lights: tuple[LightSpec, ...] = DEFAULT_LIGHTS,
):
    """The ``MjSpec`` of a twin's world without the robot: table, floor, lights and objects."""
    spec = new_scene_spec(name, physics)
    top = spec.worldbody.add_body(
        name="table",
        pos=[*table.center_xy, table.height - table.thickness / 2],
        quat=list(yaw_quat(table.yaw)),
    )
    top.add_geom(
        name="table_top",
        type=mujoco.mjtGeom.mjGEOM_BOX,
        size=[*table.half_extents_xy, table.thickness / 2],
        rgba=list(table.rgba),
        friction=[table.friction, 0.005, 0.0001],
    )
    spec.worldbody.add_geom(
        name="floor",
        type=mujoco.mjtGeom.mjGEOM_PLANE,
        pos=[0, 0, table.height - FLOOR_DROP],
        size=[3, 3, 0.1],
        rgba=[0.4, 0.4, 0.42, 1],
    )
    add_lights(spec, lights)
    for obj in objects:
        (_add_solid if obj.kind == "solid" else _add_zone)(spec, obj)
    return spec
