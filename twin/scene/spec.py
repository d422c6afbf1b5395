"""Scene specs: dataclasses for a tabletop world, read from YAML or JSON with checked fields.

A scene spec says what the world holds (table, objects, lights, cameras, physics, tasks); it says
nothing of MuJoCo. :mod:`twin.scene.builder` composes it into an ``MjSpec``.
Frame: metres, z up, the table top at z = 0, the robot base on the table facing +x.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from twin.scene.textures import TextureSpec

SHAPES = ("box", "cylinder", "sphere", "prism", "tray", "bowl", "cup", "mesh")
TASK_FAMILIES = ("pick_place", "push", "stack")
MESH_MODELS = ("duck", "mug", "lego", "jenga")  # props a mesh object may name (twin.scene.mesh_library)


def is_mesh_file(mesh: str) -> bool:
    """Whether an object's ``mesh`` names an OBJ file (a user's prop) rather than a library model."""
    return mesh.lower().endswith(".obj")


class SceneSpecError(ValueError):
    """A scene spec that cannot be used; the message names the scene and the field."""


@dataclass(frozen=True)
class TableSpec:
    """A box table: ``half_extents`` (x, y half-sizes and half-thickness) in its own frame, whose
    top is at ``top_z`` and whose centre is at ``centre`` (x, y) turned by ``yaw`` about z. The room
    (floor, walls) stands about the table, so a scene keeps its look in any world frame."""

    half_extents: tuple[float, float, float] = (0.6, 0.5, 0.025)
    top_z: float = 0.0  # height of the top; authored scenes keep it at 0
    rgba: tuple[float, float, float, float] = (0.55, 0.42, 0.3, 1.0)
    texture: TextureSpec | None = None
    friction: float = 0.8
    centre: tuple[float, float] = (0.0, 0.0)
    yaw: float = 0.0

    @classmethod
    def from_manifest(cls, table: dict[str, Any]) -> TableSpec:
        """The table ``twin.json`` describes (``height``, ``center_xy``, ``half_extents_xy``, ``yaw``)."""
        return cls(
            half_extents=(*(float(v) for v in table["half_extents_xy"]), 0.025),  # type: ignore[arg-type]
            top_z=float(table["height"]),
            centre=tuple(float(v) for v in table.get("center_xy", (0.0, 0.0))),  # type: ignore[arg-type]
            yaw=float(table.get("yaw", 0.0)),
        )

    def local_xy(self, xy: Any) -> np.ndarray:
        """World ``xy`` (…, 2) in the table's own frame (origin at its centre, x along its length)."""
        c, s = np.cos(self.yaw), np.sin(self.yaw)
        d = np.asarray(xy, dtype=float) - np.asarray(self.centre, dtype=float)
        return np.stack([c * d[..., 0] + s * d[..., 1], -s * d[..., 0] + c * d[..., 1]], axis=-1)

    def on_top(self, xy: Any, margin: float = 0.0) -> bool:
        """Whether world ``xy`` lies over the table top, at least ``margin`` inside its edges."""
        return bool(np.all(np.abs(self.local_xy(xy)) <= np.asarray(self.half_extents[:2]) - margin))


@dataclass(frozen=True)
class ObjectSpec:
    """A rigid object.

    Sizes by shape: box (hx, hy, hz) half-extents; cylinder (radius, half-height); sphere (radius,);
    prism (circumradius, half-height, sides) a regular prism built as a mesh; tray (hx, hy, hz,
    wall) an open box made of five boxes; bowl (radius, half-height, wall, staves) a disc floor
    ringed by ``staves`` upright boxes, wide and low; cup (radius, half-height, wall) the same
    with 16 staves, narrow and tall; mesh (hx, hy, hz) the body-frame bounding box of a
    reconstructed mesh, whose geometry lives in a twin's ``scene.xml``. ``xy`` is the nominal
    centre, ``xy_range`` the half-width of the uniform box around it that reset samples from,
    ``yaw_range`` likewise in radians.
    ``fixed`` objects are welded to the table; ``visual_only`` ones never collide (target marks).
    A ``mesh`` object with ``mesh`` set is built from that model (a pybullet_data prop, or an OBJ
    file, z up, relative to the spec file's folder) fitted to its bounding box ``size``, so a scene
    spec may hold one too.
    """

    name: str
    shape: str
    size: tuple[float, ...]
    xy: tuple[float, float] = (0.0, 0.0)
    xy_range: tuple[float, float] = (0.0, 0.0)
    yaw: float = 0.0
    yaw_range: float = 0.0
    rgba: tuple[float, float, float, float] = (0.8, 0.2, 0.2, 1.0)
    texture: TextureSpec | None = None
    mass: float = 0.05
    friction: float = 1.0
    fixed: bool = False
    visual_only: bool = False
    mesh: str | None = None  # a ``mesh`` object's model (mesh_library.MESHES: duck, mug …) or OBJ file


@dataclass(frozen=True)
class LightSpec:
    """A directional or spot light."""

    pos: tuple[float, float, float] = (0.0, 0.0, 1.5)
    dir: tuple[float, float, float] = (0.0, 0.0, -1.0)
    diffuse: tuple[float, float, float] = (0.7, 0.7, 0.7)
    ambient: tuple[float, float, float] = (0.2, 0.2, 0.2)
    directional: bool = True
    castshadow: bool = True


@dataclass(frozen=True)
class CameraSpec:
    """A static camera at ``pos`` looking at ``lookat``; ``fovy`` in degrees."""

    name: str
    pos: tuple[float, float, float]
    lookat: tuple[float, float, float] = (0.0, 0.0, 0.0)
    fovy: float = 58.0
    width: int = 320
    height: int = 240


@dataclass(frozen=True)
class PhysicsSpec:
    """Simulation settings. ``control_hz`` is the policy rate; ``shadow_size`` the shadow map (px)."""

    timestep: float = 0.002
    control_hz: float = 10.0
    gravity: tuple[float, float, float] = (0.0, 0.0, -9.81)
    shadow_size: int = 512


@dataclass(frozen=True)
class TaskSpec:
    """A task: a family with its objects. ``target`` is the receptacle (pick_place), the target
    region (push) or the bottom object (stack)."""

    name: str
    family: str
    object: str
    target: str
    instruction: str
    max_seconds: float = 20.0


@dataclass(frozen=True)
class SceneSpec:
    """A whole reference world."""

    name: str
    description: str
    objects: tuple[ObjectSpec, ...]
    tasks: tuple[TaskSpec, ...]
    cameras: tuple[CameraSpec, ...]
    table: TableSpec = field(default_factory=TableSpec)
    lights: tuple[LightSpec, ...] = (LightSpec(),)
    physics: PhysicsSpec = field(default_factory=PhysicsSpec)
    robot_base: tuple[float, float, float] = (-0.5, 0.0, 0.0)
    floor_texture: TextureSpec | None = None
    wall_texture: TextureSpec | None = None

    def task(self, name: str | None = None) -> TaskSpec:
        """The task called ``name``, or the first one."""
        if name is None:
            return self.tasks[0]
        for task in self.tasks:
            if task.name == name:
                return task
        raise SceneSpecError(
            f"scene {self.name!r} has no task {name!r}; it has {', '.join(t.name for t in self.tasks)}"
        )

    def object(self, name: str) -> ObjectSpec:
        for obj in self.objects:
            if obj.name == name:
                return obj
        raise SceneSpecError(f"scene {self.name!r} has no object {name!r}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def translated_scene(scene: SceneSpec, offset: Any) -> SceneSpec:
    """``scene`` in a world frame shifted by ``-offset``: table, objects, robot base, cameras and
    lights all moved by ``offset`` (x, y, z), so nothing changes but the coordinates."""
    dx, dy, dz = (float(v) for v in offset)

    def moved_xy(xy: tuple[float, float]) -> tuple[float, float]:
        return (xy[0] + dx, xy[1] + dy)

    def moved(p: tuple[float, float, float]) -> tuple[float, float, float]:
        return (p[0] + dx, p[1] + dy, p[2] + dz)

    return dataclasses.replace(
        scene,
        table=dataclasses.replace(
            scene.table, centre=moved_xy(scene.table.centre), top_z=scene.table.top_z + dz
        ),
        objects=tuple(dataclasses.replace(o, xy=moved_xy(o.xy)) for o in scene.objects),
        robot_base=moved(scene.robot_base),
        cameras=tuple(
            dataclasses.replace(c, pos=moved(c.pos), lookat=moved(c.lookat)) for c in scene.cameras
        ),
        lights=tuple(dataclasses.replace(light, pos=moved(light.pos)) for light in scene.lights),
    )


SIZE_LENGTHS = {  # how many numbers each shape takes in ``size``
    "box": 3, "cylinder": 2, "sphere": 1, "prism": 3, "tray": 4, "bowl": 4, "cup": 3, "mesh": 3,
}  # fmt: skip


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """Convert ``value`` (parsed YAML/JSON) to the type ``hint``, or raise naming ``where``."""
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None:
            return None
        return _coerce(value, options[0], where)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _from_mapping(hint, value, where)
    if origin is tuple:
        args = typing.get_args(hint)
        if not isinstance(value, list | tuple):
            raise SceneSpecError(f"{where}: expected a list, got {type(value).__name__}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], f"{where}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise SceneSpecError(f"{where}: expected {len(args)} values, got {len(value)}")
        return tuple(_coerce(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args, strict=True)))
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SceneSpecError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SceneSpecError(f"{where}: expected an integer, got {value!r}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise SceneSpecError(f"{where}: expected true or false, got {value!r}")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise SceneSpecError(f"{where}: expected a string, got {value!r}")
        return value
    raise TypeError(f"unsupported field type {hint!r} at {where}")  # pragma: no cover


def _from_mapping(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise SceneSpecError(f"{where}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise SceneSpecError(f"{where}: unknown field(s) {', '.join(unknown)}")
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            kwargs[f.name] = _coerce(data[f.name], hints[f.name], f"{where}.{f.name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise SceneSpecError(f"{where}: missing required field {f.name!r}")
    try:
        return cls(**kwargs)
    except ValueError as err:
        raise SceneSpecError(f"{where}: {err}") from err


def _check(scene: SceneSpec) -> SceneSpec:
    """Cross-field checks: shapes, sizes, unique names, task references."""
    where = f"scene {scene.name!r}"
    names = [o.name for o in scene.objects]
    if len(set(names)) != len(names):
        raise SceneSpecError(f"{where}: object names must be unique, got {names}")
    for i, obj in enumerate(scene.objects):
        at = f"{where}: objects[{i}] ({obj.name})"
        if obj.shape not in SHAPES:
            raise SceneSpecError(f"{at}.shape: unknown shape {obj.shape!r}; expected one of {SHAPES}")
        if len(obj.size) != SIZE_LENGTHS[obj.shape]:
            raise SceneSpecError(
                f"{at}.size: a {obj.shape} takes {SIZE_LENGTHS[obj.shape]} numbers, got {len(obj.size)}"
            )
        if any(s <= 0 for s in obj.size):
            raise SceneSpecError(f"{at}.size: sizes must be positive, got {list(obj.size)}")
        if obj.shape == "bowl" and (obj.size[3] != int(obj.size[3]) or obj.size[3] < 6):
            raise SceneSpecError(
                f"{at}.size: a bowl needs a whole number of staves (6 or more), got {obj.size[3]}"
            )
        if obj.shape in ("bowl", "cup") and obj.size[2] >= obj.size[0] / 2:
            raise SceneSpecError(f"{at}.size: the wall must be under half the radius, got {list(obj.size)}")
        known_mesh = obj.mesh in MESH_MODELS or is_mesh_file(obj.mesh or "")
        if obj.mesh is not None and (obj.shape != "mesh" or not known_mesh):
            raise SceneSpecError(
                f"{at}.mesh: a mesh object names one of {', '.join(MESH_MODELS)} or an .obj file, "
                f"got {obj.mesh!r}"
            )
        if obj.mesh is not None and is_mesh_file(obj.mesh) and not Path(obj.mesh).is_file():
            raise SceneSpecError(f"{at}.mesh: no such file {obj.mesh}")
        if obj.mass <= 0:
            raise SceneSpecError(f"{at}.mass: must be positive, got {obj.mass}")
    if not scene.tasks:
        raise SceneSpecError(f"{where}: needs at least one task")
    for i, task in enumerate(scene.tasks):
        at = f"{where}: tasks[{i}] ({task.name})"
        if task.family not in TASK_FAMILIES:
            raise SceneSpecError(
                f"{at}.family: unknown family {task.family!r}; expected one of {TASK_FAMILIES}"
            )
        for role in ("object", "target"):
            if getattr(task, role) not in names:
                raise SceneSpecError(f"{at}.{role}: no object called {getattr(task, role)!r} in the scene")
    if not scene.cameras:
        raise SceneSpecError(f"{where}: needs at least one camera")
    return scene


def scene_from_dict(data: Any, source: str = "scene spec") -> SceneSpec:
    """Build and check a :class:`SceneSpec` from parsed YAML/JSON."""
    name = data.get("name", "?") if isinstance(data, dict) else "?"
    return _check(_from_mapping(SceneSpec, data, f"{source} (scene {name!r})"))


def load_scene_spec(path: str | Path) -> SceneSpec:
    """Read a scene spec from a ``.yaml``/``.yml``/``.json`` file."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise SceneSpecError(f"cannot read scene spec {path}: {err.strerror}") from err
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        raise SceneSpecError(f"scene spec {path} is not valid {path.suffix[1:].upper()}: {err}") from err
    if isinstance(data, dict) and isinstance(data.get("objects"), list):  # OBJ files beside the spec
        for obj in data["objects"]:
            mesh = obj.get("mesh") if isinstance(obj, dict) else None
            if isinstance(mesh, str) and is_mesh_file(mesh) and not Path(mesh).is_absolute():
                obj["mesh"] = str(path.parent / mesh)
    return scene_from_dict(data, str(path))
