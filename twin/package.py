"""The twin package: the folder ``twin build`` writes and every later stage reads.

::

    twin.json          {"format": "twinarena-twin/1", "name", "content_hash", "source", "units": "m",
                        "up": "+z", "world_frame", "robot", "table", "objects", "physics", "files", "build"}
    scene.xml          MJCF composed with MjSpec: table, objects with collision geometry, mass,
                       friction, lights; no robot
    background.ply     3DGS splats of everything but the objects and the robot (world frame); under
                       each zone, a copy of its splats in the table's colour (seen once it moves)
    objects/<name>.ply 3DGS splats of one object or zone (a zone's mark), in its body frame
    meshes/<name>.obj  the object's watertight visual mesh, in its body frame
    calibration.json   {"cameras": {name: {"K", "width", "height", "T_world_camera"}}}
    task.json          {"name", "family", "object", "target", "instruction", "max_seconds"}
    fidelity.json      measured reconstruction quality
    preview.png        real frame | twin render | difference
    reference.png      that real frame

An object entry may declare how far its start varies with the scenario's seed: ``xy_range``
(half-widths in metres about ``pos``) and ``yaw_range`` (radians); see
:mod:`twin.scene.placement`. Without them the object always starts at ``pos``. `twin build`
gives every solid :data:`SOLID_START_RANGE`.

Objects of authored scenes (:mod:`benchmark.scenes.authored`) also carry their exact shape: ``shape``
(box, cylinder, sphere, prism or tray), ``size`` in :class:`twin.scene.spec.ObjectSpec`'s
convention for that shape, and ``fixed`` (a solid welded to the table). Reconstructed twins leave
them out.

:class:`TwinManifest` holds the fields of ``twin.json`` its writers choose and :func:`write_twin`
is the one writer: it adds ``units``, ``up``, ``format`` and the hashes, in one key order.
:func:`read_twin` reads it back.

``content_hash`` is the SHA-256 over every file a simulation reads (path and bytes) plus
``twin.json`` without its provenance (name, source, build settings), so two builds of the same
input give the same hash and any edit shows. The reports (``fidelity.json``, ``preview.png``,
``reference.png``) stay outside it: they describe the twin, and ground-truth errors are added to
``fidelity.json`` after the build.
Packages are written into a temporary sibling folder and renamed into place at the end, so a
failed build never leaves a half-written twin.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from twin.demonstration import MAX_FPS, check_max_seconds, in_range, inside, is_file, load_json_object
from twin.scene.mjcf_files import MJCFFileError
from twin.scene.mjcf_files import outside as mjcf_outside
from twin.scene.spec import SIZE_LENGTHS
from twin.transforms import rigid_problem

FORMAT = "twinarena-twin/1"
UNITS, UP = "m", "+z"
REQUIRED_FILES = ("scene", "calibration", "task", "fidelity")
REPORT_FILES = ("twin.json", "fidelity.json", "preview.png", "reference.png")  # outside the hash
PROVENANCE = ("content_hash", "file_hashes", "name", "source", "build")  # manifest keys outside the hash
STAMPS = ("format", "file_hashes", "content_hash")  # the keys write_twin adds
TASK_KEYS = ("name", "family", "object", "target", "instruction")
# exact shapes an object may declare, with the length of its size (ObjectSpec's convention)
EXACT_SHAPES = {shape: n for shape, n in SIZE_LENGTHS.items() if shape != "mesh"}
# how far a reconstructed solid's start varies with the scenario seed (``xy_range``, ``yaw_range``):
# a seed must change what a policy faces, even unperturbed; `twin build` and the validity reference
# both declare it, so a twin and its source world vary alike
SOLID_START_RANGE = {"xy_range": [0.02, 0.02], "yaw_range": 0.2}
MAX_XY_RANGE = 0.25
# bounds on what twin.json and calibration.json may say (anything past them is a broken file)
MAX_MASS, MAX_FRICTION, MAX_METRES = 1000.0, 10.0, 100.0
MAX_TIMESTEP, MAX_CONTROL_HZ, MAX_IMAGE_SIDE = 0.1, MAX_FPS, 8192


class TwinPackageError(ValueError):
    """A twin package that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class TwinObject:
    """One object of a twin: ``kind`` solid (free body) or zone (a flat mark on the table)."""

    name: str
    kind: str
    pos: np.ndarray  # (3,) body origin, world frame
    quat: np.ndarray  # (4,) w x y z
    half_extents: np.ndarray  # (3,) body-frame bounding box
    rgba: tuple[float, ...]
    mass: float
    friction: float
    splats: str | None  # relative path of the body-frame PLY
    mesh: str | None  # relative path of the body-frame visual mesh
    primitive: str = "mesh"  # box, cylinder or mesh: what the mesh resembles (a planning hint)
    shape: str | None = None  # the exact shape of an authored object (one of EXACT_SHAPES)
    size: tuple[float, ...] | None = None  # its size, in ObjectSpec's convention for ``shape``
    fixed: bool = False  # a solid welded to the table
    xy_range: tuple[float, float] = (0.0, 0.0)  # half-widths (m) of its seeded start about ``pos``
    yaw_range: float = 0.0  # half-width (rad) of its seeded start heading


@dataclass(frozen=True)
class Twin:
    """A read twin package: its manifest, parsed task and calibration, and its folder."""

    root: Path
    manifest: dict[str, Any]
    objects: tuple[TwinObject, ...]
    task: dict[str, Any]
    calibration: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.manifest["name"])

    @property
    def content_hash(self) -> str:
        return str(self.manifest["content_hash"])

    def path(self, key: str) -> Path:
        """Absolute path of a file named in the manifest's ``files``."""
        return self.root / self.manifest["files"][key]

    def has(self, key: str) -> bool:
        return key in self.manifest.get("files", {}) and self.path(key).is_file()


# -- hashing -----------------------------------------------------------------------------------
def file_hashes(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root`` but the reports, by relative path."""
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(p for p in root.rglob("*") if p.is_file() and p.name not in REPORT_FILES)
    }


def content_hash(root: Path, manifest: dict[str, Any], hashes: dict[str, str] | None = None) -> str:
    """SHA-256 of every file under ``root`` but the reports, and of the manifest minus provenance;
    ``hashes``: :func:`file_hashes` of ``root`` when the caller has them already."""
    digest = hashlib.sha256()
    for rel, sha in (file_hashes(root) if hashes is None else hashes).items():
        digest.update(rel.encode())
        digest.update(bytes.fromhex(sha))
    body = {k: v for k, v in manifest.items() if k not in PROVENANCE}
    digest.update(json.dumps(body, sort_keys=True).encode())
    return digest.hexdigest()


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")


def check_new_folder(out: str | Path, overwrite: bool = False) -> None:
    """Refuse an output folder that exists, unless it may be replaced (call before long work)."""
    if Path(out).exists() and not overwrite:
        raise FileExistsError(f"{out} already exists; choose a new output folder or pass --overwrite")


@contextlib.contextmanager
def staging_folder(out: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """A temporary folder beside ``out`` that becomes ``out`` only when the block succeeds."""
    out = Path(out)
    check_new_folder(out, overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    stage.chmod(0o777 & ~umask)  # mkdtemp makes it private; a package is an ordinary folder
    try:
        yield stage
        if out.exists():
            shutil.rmtree(out)
        os.replace(stage, out)
    finally:
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)


# -- writing -----------------------------------------------------------------------------------
@dataclass
class TwinManifest:
    """What a writer says in ``twin.json``: everything but the units, the format and the hashes.

    ``objects`` are entries as :func:`read_twin` parses them into :class:`TwinObject`; ``sensor``
    (a :class:`benchmark.sim.sensor.SensorModel` as a dict) and ``build`` are left out of the file
    when None; ``extra`` holds keys no writer here knows, kept (after the known ones) as they are.
    """

    name: str
    source: dict[str, Any]
    world_frame: str
    robot: dict[str, Any]  # {"name", "base_pose": 4x4}
    table: dict[str, Any]  # {"height", "center_xy", "half_extents_xy", "yaw"}
    objects: list[dict[str, Any]]
    physics: dict[str, Any]  # {"timestep", "control_hz"}
    files: dict[str, str]  # key -> path relative to the package
    sensor: dict[str, Any] | None = None
    build: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The manifest, unstamped, in ``twin.json``'s key order."""
        body: dict[str, Any] = {"name": self.name, "source": self.source, "units": UNITS, "up": UP}
        body |= {"world_frame": self.world_frame, "robot": self.robot, "table": self.table}
        body |= {"objects": self.objects, "physics": self.physics, "files": self.files}
        optional = {"sensor": self.sensor, "build": self.build}
        return body | {k: v for k, v in optional.items() if v is not None} | self.extra

    @classmethod
    def from_dict(cls, manifest: dict[str, Any]) -> TwinManifest:
        """The fields of a written manifest (a :class:`Twin`'s), without its stamps; a copy is
        not made, so edit a deep copy."""
        where = f"twin.json of {manifest.get('name')!r}"
        for key, value in (("units", UNITS), ("up", UP)):
            if manifest.get(key, value) != value:
                raise TwinPackageError(f"{where}: {key} {manifest[key]!r}, expected {value!r}")
        known = set(cls.__dataclass_fields__) - {"extra"}
        missing = sorted(k for k in known - {"sensor", "build"} if k not in manifest)
        if missing:
            raise TwinPackageError(f"{where}: missing {', '.join(map(repr, missing))}")
        given = {k: v for k, v in manifest.items() if k in known}
        extra = {k: v for k, v in manifest.items() if k not in known | {*STAMPS, "units", "up"}}
        return cls(**given, extra=extra)


def write_twin(root: Path, manifest: TwinManifest) -> dict[str, Any]:
    """Write ``root/twin.json``: ``manifest`` stamped with the format, the hash of every file under
    ``root`` (write it last) and the content hash; return what was written."""
    body = {**manifest.to_dict(), "format": FORMAT}
    body["file_hashes"] = file_hashes(root)
    body["content_hash"] = content_hash(root, body, body["file_hashes"])
    write_json(root / "twin.json", body)
    return body


# -- reading -----------------------------------------------------------------------------------
def _load(path: Path) -> dict[str, Any]:
    return load_json_object(path, TwinPackageError)


def _vector(value: Any, length: int, where: str, flat: bool = False) -> np.ndarray:
    """``length`` finite numbers (``flat``: a matrix of them, read row by row)."""
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError, OverflowError) as err:
        raise TwinPackageError(f"{where}: not numeric") from err
    if flat:
        array = array.ravel()
    if array.shape != (length,) or not np.all(np.isfinite(array)):
        raise TwinPackageError(f"{where}: expected {length} finite numbers, got {value!r}")
    return array


def _exact_shape(entry: dict[str, Any], at: str) -> tuple[str | None, tuple[float, ...] | None]:
    """The optional ``shape`` and ``size`` of an object entry, checked (both or neither)."""
    shape, size = entry.get("shape"), entry.get("size")
    if shape is None and size is None:
        return None, None
    if shape is None or size is None:
        given, missing = ("shape", "size") if size is None else ("size", "shape")
        raise TwinPackageError(f"{at}.{missing}: missing (an object with a {given!r} needs both)")
    if not isinstance(shape, str) or shape not in EXACT_SHAPES:
        raise TwinPackageError(f"{at}.shape: unknown shape {shape!r}; expected one of {tuple(EXACT_SHAPES)}")
    if not isinstance(size, list | tuple) or len(size) != EXACT_SHAPES[shape]:
        raise TwinPackageError(f"{at}.size: a {shape} takes {EXACT_SHAPES[shape]} numbers, got {size!r}")
    values = _vector(size, EXACT_SHAPES[shape], f"{at}.size")
    if np.any(values <= 0):
        raise TwinPackageError(f"{at}.size: sizes must be positive, got {values.tolist()}")
    if shape == "prism" and (values[2] < 3 or values[2] != round(values[2])):
        raise TwinPackageError(f"{at}.size: a prism's third size is its number of sides (≥ 3), got {size!r}")
    return shape, tuple(float(v) for v in values)


def _path(root: Path, rel: Any, at: str) -> str:
    """A path the manifest names: relative, and inside the package once links are followed."""
    if not isinstance(rel, str) or not rel or "\0" in rel:
        raise TwinPackageError(f"{at}: expected a relative path, got {rel!r}")
    parts = PurePosixPath(rel.replace("\\", "/")).parts
    if rel.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
        raise TwinPackageError(f"{at}: {rel!r} points outside the package; paths must stay inside it")
    inside(root, root / rel, TwinPackageError)
    return rel


def _number(value: Any, at: str, low: float = 0.0, high: float = np.inf) -> float:
    """A finite number in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise TwinPackageError(f"{at}: expected a number in [{low:g}, {high:g}], got {value!r}")
    return float(value)


def _object(entry: Any, i: int, root: Path) -> TwinObject:
    at = f"{root / 'twin.json'}: objects[{i}]"
    if not isinstance(entry, dict):
        raise TwinPackageError(f"{at}: expected an object")
    for key in ("name", "kind", "pos", "quat", "half_extents"):
        if key not in entry:
            raise TwinPackageError(f"{at}: missing {key!r}")
    if not isinstance(entry["name"], str) or not entry["name"]:
        raise TwinPackageError(f"{at}.name: expected a name, got {entry['name']!r}")
    if entry["kind"] not in ("solid", "zone"):
        raise TwinPackageError(f"{at}.kind: expected 'solid' or 'zone', got {entry['kind']!r}")
    half = _vector(entry["half_extents"], 3, f"{at}.half_extents")
    if np.any(half <= 0):
        raise TwinPackageError(f"{at}.half_extents: must be positive, got {half.tolist()}")
    quat = _vector(entry["quat"], 4, f"{at}.quat")
    if not 0.5 < np.linalg.norm(quat) < 2.0:
        raise TwinPackageError(f"{at}.quat: expected a unit quaternion (w, x, y, z), got {quat.tolist()}")
    shape, size = _exact_shape(entry, at)
    fixed = entry.get("fixed", False)
    if not isinstance(fixed, bool):
        raise TwinPackageError(f"{at}.fixed: expected true or false, got {fixed!r}")
    primitive = entry.get("primitive", "mesh")
    if not isinstance(primitive, str):
        raise TwinPackageError(f"{at}.primitive: expected a name, got {primitive!r}")
    files = {key: entry.get(key) for key in ("splats", "mesh")}
    for key, rel in files.items():
        if rel is not None:
            _path(root, rel, f"{at}.{key}")
    xy_range, yaw_range = _start_ranges(entry, at)
    return TwinObject(
        name=entry["name"],
        kind=entry["kind"],
        pos=_vector(entry["pos"], 3, f"{at}.pos"),
        quat=quat,
        half_extents=half,
        rgba=tuple(_vector(entry.get("rgba", [0.5, 0.5, 0.5, 1.0]), 4, f"{at}.rgba")),
        mass=_number(entry.get("mass", 0.0), f"{at}.mass", 0.0, MAX_MASS),
        friction=_number(entry.get("friction", 0.8), f"{at}.friction", 0.0, MAX_FRICTION),
        splats=files["splats"],
        mesh=files["mesh"],
        primitive=primitive,
        shape=shape,
        size=size,
        fixed=fixed,
        xy_range=xy_range,
        yaw_range=yaw_range,
    )


def _start_ranges(entry: dict[str, Any], at: str) -> tuple[tuple[float, float], float]:
    """The optional ``xy_range`` (2 numbers, metres) and ``yaw_range`` (radians), checked."""
    xy = _vector(entry.get("xy_range", [0.0, 0.0]), 2, f"{at}.xy_range")
    if np.any(xy < 0) or np.any(xy > MAX_XY_RANGE):
        raise TwinPackageError(f"{at}.xy_range: expected metres in [0, {MAX_XY_RANGE:g}], got {xy.tolist()}")
    yaw = _vector([entry.get("yaw_range", 0.0)], 1, f"{at}.yaw_range")[0]
    if not 0.0 <= yaw <= np.pi:
        raise TwinPackageError(f"{at}.yaw_range: expected radians in [0, π], got {yaw:g}")
    return (float(xy[0]), float(xy[1])), float(yaw)


def _pose(value: Any, at: str) -> np.ndarray:
    """A 4×4 rigid transform (rotation + translation)."""
    pose = _vector(value, 16, at, flat=True).reshape(4, 4)
    problem = rigid_problem(pose)
    if problem:
        raise TwinPackageError(f"{at}: not a rigid transform (rotation + translation): {problem}")
    return pose


def _section(manifest: dict[str, Any], key: str, where: Path) -> dict[str, Any]:
    value = manifest.get(key)
    if not isinstance(value, dict):
        raise TwinPackageError(f"{where}: {key} must be an object, got {value!r}")
    return value


def _check_body(manifest: dict[str, Any], where: Path) -> None:
    """The robot's mount, the table and the physics rates: what a simulation of the twin reads."""
    robot = _section(manifest, "robot", where)
    if "base_pose" not in robot:
        raise TwinPackageError(f"{where}: robot.base_pose missing (the robot's 4×4 mount)")
    _pose(robot["base_pose"], f"{where}: robot.base_pose")
    table = _section(manifest, "table", where)
    _number(table.get("height"), f"{where}: table.height", -MAX_METRES, MAX_METRES)
    if np.any(_vector(table.get("half_extents_xy"), 2, f"{where}: table.half_extents_xy") <= 0):
        raise TwinPackageError(
            f"{where}: table.half_extents_xy must be positive, got {table['half_extents_xy']!r}"
        )
    _vector(table.get("center_xy", [0.0, 0.0]), 2, f"{where}: table.center_xy")
    _number(table.get("yaw", 0.0), f"{where}: table.yaw", -2 * np.pi, 2 * np.pi)
    physics = _section(manifest, "physics", where)
    timestep, rate = physics.get("timestep", 0.002), physics.get("control_hz", 10.0)
    if not in_range(timestep, MAX_TIMESTEP):
        raise TwinPackageError(
            f"{where}: physics.timestep must be seconds in (0, {MAX_TIMESTEP:g}], got {timestep!r}"
        )
    if not in_range(rate, MAX_CONTROL_HZ):
        raise TwinPackageError(
            f"{where}: physics.control_hz must be in (0, {MAX_CONTROL_HZ:g}] Hz, got {rate!r}"
        )


def _read_task(root: Path, rel: str, names: set[str]) -> dict[str, Any]:
    where = root / rel
    task = _load(where)
    for key in TASK_KEYS:
        if key not in task:
            raise TwinPackageError(f"{where}: missing {key!r}")
        if not isinstance(task[key], str):
            raise TwinPackageError(f"{where}: {key} must be text, got {task[key]!r}")
    for role in ("object", "target"):
        if task[role] not in names:
            raise TwinPackageError(
                f"{where}: {role} {task[role]!r} is not an object of the twin ({sorted(names)})"
            )
    if "max_seconds" in task:
        check_max_seconds(task["max_seconds"], str(where), TwinPackageError)
    return task


def _read_calibration(root: Path, rel: str) -> dict[str, Any]:
    calibration = _load(root / rel)
    cameras = calibration.get("cameras")
    if not isinstance(cameras, dict) or not cameras:
        raise TwinPackageError(f"{root / rel}: no cameras")
    for name, cam in cameras.items():
        where = f"{root / rel}: cameras.{name}"
        if not isinstance(cam, dict):
            raise TwinPackageError(f"{where}: expected an object with K, width, height and T_world_camera")
        for key in ("K", "width", "height", "T_world_camera"):
            if key not in cam:
                raise TwinPackageError(f"{where}: missing {key!r}")
        K = _vector(cam["K"], 9, f"{where}.K", flat=True)
        if not (K[0] > 0 and K[4] > 0):
            raise TwinPackageError(f"{where}.K: focal lengths must be positive, got {K[0]:g} and {K[4]:g}")
        for key in ("width", "height"):
            value = cam[key]
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_IMAGE_SIDE:
                raise TwinPackageError(
                    f"{where}.{key}: expected pixels in 1..{MAX_IMAGE_SIDE}, got {value!r}"
                )
        _pose(cam["T_world_camera"], f"{where}.T_world_camera")
    return calibration


def read_twin(folder: str | Path) -> Twin:
    """Read and validate a twin package's manifest, task and calibration (not its large files).
    Every path it names must lie inside the package."""
    root = Path(folder)
    if not root.is_dir():
        raise TwinPackageError(f"{root}: not a twin package (no such directory)")
    where = root / "twin.json"
    manifest = _load(inside(root, where, TwinPackageError))
    if manifest.get("format") != FORMAT:
        raise TwinPackageError(f"{where}: format {manifest.get('format')!r}, expected {FORMAT!r}")
    for key in ("name", "content_hash"):
        if not isinstance(manifest.get(key), str):
            raise TwinPackageError(f"{where}: {key} must be text, got {manifest.get(key)!r}")
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise TwinPackageError(f"{where}: missing the 'files' table")
    for key in REQUIRED_FILES:
        if key not in files:
            raise TwinPackageError(f"{where}: 'files' names no {key!r} file")
    for key, rel in files.items():
        _path(root, rel, f"{where}: files.{key}")
        if rel not in REPORT_FILES and not is_file(root / rel):
            raise TwinPackageError(f"{root / rel}: missing ({key} file named in twin.json)")
    hashes = manifest.get("file_hashes", {})
    if not isinstance(hashes, dict) or not all(isinstance(v, str) for v in hashes.values()):
        raise TwinPackageError(f"{where}: file_hashes must map paths to SHA-256 digests")
    _check_body(manifest, where)
    entries = manifest.get("objects", [])
    if not isinstance(entries, list):
        raise TwinPackageError(f"{where}: objects must be a list, got {type(entries).__name__}")
    objects = tuple(_object(e, i, root) for i, e in enumerate(entries))
    if not objects:
        raise TwinPackageError(f"{where}: the twin has no objects")
    names = {o.name for o in objects}
    if len(names) != len(objects):
        raise TwinPackageError(f"{where}: two objects share a name ({sorted(o.name for o in objects)})")
    for obj in objects:
        for rel in (obj.splats, obj.mesh):
            if rel is not None and not is_file(root / rel):
                raise TwinPackageError(f"{root / rel}: missing (named by object {obj.name!r})")
    task = _read_task(root, files["task"], names)
    calibration = _read_calibration(root, files["calibration"])
    return Twin(root, manifest, objects, task, calibration)


def check_twin(folder: str | Path) -> list[str]:
    """Every problem found in a package (an empty list when it is sound), hash included."""
    try:
        twin = read_twin(folder)
    except TwinPackageError as err:
        return [str(err)]
    outside = [
        f"{path}: a link to {path.resolve()}, outside the package"
        for path in sorted(twin.root.rglob("*"))
        if path.is_symlink() and not path.resolve().is_relative_to(twin.root.resolve())
    ]
    try:  # scene.xml may reach only files of the package (what it reaches outside is outside the hash)
        outside += mjcf_outside(twin.root / twin.manifest["files"]["scene"], twin.root)
    except MJCFFileError as err:
        outside.append(str(err))
    if outside:
        return outside
    problems = []
    recorded, actual = twin.manifest.get("file_hashes", {}), file_hashes(twin.root)
    for rel in sorted(set(recorded) | set(actual)):
        if rel not in actual:
            problems.append(f"{twin.root / rel}: missing (listed in twin.json's file_hashes)")
        elif rel not in recorded:
            problems.append(f"{twin.root / rel}: not part of the package as built")
        elif recorded[rel] != actual[rel]:
            problems.append(f"{twin.root / rel}: changed since the package was built")
    expected = content_hash(twin.root, twin.manifest, actual)
    if expected != twin.content_hash and not problems:
        problems.append(
            f"{twin.root / 'twin.json'}: content hash {twin.content_hash[:12]}… does not match the package "
            f"({expected[:12]}…): twin.json was edited after the build"
        )
    return problems
