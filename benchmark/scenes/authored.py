"""Authored reference scenes as twin packages, so reference scenes and reconstructed twins run
through one harness (:func:`twin.scene.twin_world.load_twin_world`).

:func:`package_scene` writes one scene and one of its tasks in the format of
:mod:`twin.package`: ``scene.xml`` is the composed scene without robot and cameras (its procedural
textures written beside it as ``textures/<name>.png``, which ``MjSpec.to_xml`` cannot inline),
``calibration.json`` holds the scene's cameras as OpenCV pinholes, and every object carries its
exact ``shape``, ``size`` and ``fixed`` so the task predicates and the scripted expert see exactly
the authored object. There is nothing reconstructed to measure, so ``fidelity.json`` only says
``{"authored": true}``.

A twin is one concrete scene: the objects stand at their nominal ``xy`` and ``yaw``, and each free
solid carries the scene's per-seed randomisation (``xy_range``, ``yaw_range``), so a seed changes
the start in the package as it does in the scene (:mod:`twin.scene.placement`). Larger moves come
from perturbation axes.

:func:`reference_twin` packages a reference scene on first use into a cache folder whose name
changes with the scene spec and with :data:`FORMAT_VERSION`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from benchmark.scenes.registry import load_scene
from twin.package import FORMAT, TwinManifest, check_twin, staging_folder, write_json, write_twin
from twin.scene.builder import build_scene_spec, object_half_height, prism_vertices
from twin.scene.spec import CameraSpec, ObjectSpec, SceneSpec, TaskSpec
from twin.transforms import intrinsics_from_fovy, look_at_rotation, pose_matrix, yaw_quat

FORMAT_VERSION = 2  # bump whenever the packages written here change
TEXTURE_DIR = "textures"
FILES = {
    "scene": "scene.xml",
    "calibration": "calibration.json",
    "task": "task.json",
    "fidelity": "fidelity.json",
    "preview": "preview.png",
}


def nominal_scene(scene: SceneSpec) -> SceneSpec:
    """``scene`` without its per-seed randomisation: every object at its nominal ``xy`` and ``yaw``."""
    objects = tuple(dataclasses.replace(o, xy_range=(0.0, 0.0), yaw_range=0.0) for o in scene.objects)
    return dataclasses.replace(scene, objects=objects)


# -- package contents --------------------------------------------------------------------------
def half_extents(obj: ObjectSpec) -> np.ndarray:
    """The object's body-frame bounding box (half sizes, about its body origin)."""
    if obj.shape in ("box", "tray", "mesh"):  # a mesh object's size is its bounding box
        return np.array(obj.size[:3], dtype=float)
    if obj.shape in ("cylinder", "bowl", "cup"):
        return np.array([obj.size[0], obj.size[0], obj.size[1]], dtype=float)
    if obj.shape == "sphere":
        return np.full(3, obj.size[0], dtype=float)
    if obj.shape == "prism":
        radius, half_height, sides = obj.size
        return np.abs(prism_vertices(radius, half_height, int(sides))).max(axis=0)
    raise ValueError(f"object {obj.name!r}: a {obj.shape} object cannot be packaged from a scene spec")


def object_entry(obj: ObjectSpec, top_z: float) -> dict[str, Any]:
    """The manifest entry of an authored object, standing on the table at its nominal pose."""
    return {
        "name": obj.name,
        "kind": "zone" if obj.visual_only else "solid",
        "pos": [obj.xy[0], obj.xy[1], top_z + object_half_height(obj)],
        "quat": yaw_quat(obj.yaw).tolist(),
        "half_extents": half_extents(obj).tolist(),
        "rgba": list(obj.rgba),
        "mass": obj.mass,
        "friction": obj.friction,
        "primitive": obj.shape if obj.shape in ("box", "cylinder") else "mesh",
        # a mesh's geometry is in scene.xml; its twin object is a mesh with this bounding box
        **({} if obj.shape == "mesh" else {"shape": obj.shape, "size": list(obj.size)}),
        "fixed": obj.fixed,
        **start_ranges(obj),
    }


def start_ranges(obj: ObjectSpec) -> dict[str, Any]:
    """How far a free solid's start varies with the seed, as the scene declares it; zones and fixed
    solids stand where they are (a reset moves free bodies only)."""
    if obj.fixed or obj.visual_only:
        return {}
    return {"xy_range": [float(v) for v in obj.xy_range], "yaw_range": float(obj.yaw_range)}


def camera_calibration(cam: CameraSpec) -> dict[str, Any]:
    """A look-at camera as an OpenCV pinhole: ``K`` and ``T_world_camera`` (x right, y down, z forward)."""
    return {
        "K": intrinsics_from_fovy(cam.fovy, cam.width, cam.height).tolist(),
        "width": cam.width,
        "height": cam.height,
        "T_world_camera": pose_matrix(look_at_rotation(cam.pos, cam.lookat), cam.pos).tolist(),
    }


def task_entry(task: TaskSpec) -> dict[str, Any]:
    return {
        "name": task.name,
        "family": task.family,
        "object": task.object,
        "target": task.target,
        "instruction": task.instruction,
        "max_seconds": task.max_seconds,
    }


def manifest(scene: SceneSpec, task: TaskSpec) -> TwinManifest:
    """``twin.json``'s fields, for :func:`twin.package.write_twin`."""
    table = scene.table
    return TwinManifest(
        name=f"{scene.name}-{task.name}",
        source={"authored": scene.name, "task": task.name},
        world_frame="scene",
        robot={"name": "franka_panda", "base_pose": pose_matrix(np.eye(3), scene.robot_base).tolist()},
        table={
            "height": table.top_z,
            "center_xy": list(table.centre),
            "half_extents_xy": list(table.half_extents[:2]),
            "yaw": table.yaw,
        },
        objects=[object_entry(o, table.top_z) for o in scene.objects],
        physics={"timestep": scene.physics.timestep, "control_hz": scene.physics.control_hz},
        files=dict(FILES),
    )


def write_textures(spec, root: Path) -> None:
    """Write each in-memory texture of ``spec`` to ``root/textures/<name>.png`` and point the
    texture at that file (relative to ``scene.xml``); ``MjSpec.to_xml`` cannot write buffers."""
    assets = {}
    for texture in spec.textures:
        data = bytes(texture.data)
        if not data:
            continue
        shape = (texture.height, texture.width, texture.nchannel)
        image = np.frombuffer(data, dtype=np.uint8).reshape(shape)
        rel = f"{TEXTURE_DIR}/{texture.name}.png"
        (root / TEXTURE_DIR).mkdir(exist_ok=True)
        Image.fromarray(image.squeeze(axis=2) if shape[2] == 1 else image).save(root / rel)
        assets[rel] = (root / rel).read_bytes()
        texture.file, texture.data = rel, b""
    spec.assets = assets  # to_xml compiles the spec, reading the files from here


def write_scene_xml(scene: SceneSpec, root: Path) -> None:
    """``scene.xml``: the composed scene without robot and cameras, textures as PNG files."""
    spec = build_scene_spec(scene, with_robot=False, with_cameras=False)
    write_textures(spec, root)
    (root / FILES["scene"]).write_text(spec.to_xml())


def write_preview(root: Path, camera: CameraSpec) -> None:
    """``preview.png``: the packaged world's main camera after ``reset(0)``."""
    from twin.scene.twin_world import load_twin_world

    with load_twin_world(root) as world:
        world.reset(0)
        frame = world.render(camera.name, camera.width, camera.height)
    Image.fromarray(frame.rgb).save(root / FILES["preview"])


def package_scene(
    scene: SceneSpec, out: str | Path, task: str | None = None, overwrite: bool = False
) -> Path:
    """Write ``scene`` with one task (``task``, or its first) as a twin package at ``out``."""
    chosen = scene.task(task)
    out = Path(out)
    with staging_folder(out, overwrite) as stage:
        write_scene_xml(scene, stage)
        cameras = {cam.name: camera_calibration(cam) for cam in scene.cameras}
        write_json(stage / FILES["calibration"], {"cameras": cameras})
        write_json(stage / FILES["task"], task_entry(chosen))
        write_json(stage / FILES["fidelity"], {"authored": True})
        write_twin(stage, manifest(scene, chosen))
        write_preview(stage, scene.cameras[0])
    return out


# -- the cache of reference twins --------------------------------------------------------------
def cache_root() -> Path:
    """Where reference twins are kept: ``$TWINARENA_CACHE/reference-twins``, by default under
    ``~/.cache/twinarena``."""
    base = os.environ.get("TWINARENA_CACHE") or Path.home() / ".cache" / "twinarena"
    return Path(base) / "reference-twins"


def spec_key(scene: SceneSpec) -> str:
    """A short hash of the scene spec and of the package format; any change gives a new key."""
    body = {"scene": scene.to_dict(), "format": FORMAT, "authored_format": FORMAT_VERSION}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:12]


def cache_folder(scene: SceneSpec, task: TaskSpec, root: Path) -> Path:
    """The cache folder of ``scene`` with ``task`` under ``root``."""
    return root / f"{scene.name}-{task.name}-{spec_key(scene)}"


def _install(built: Path, folder: Path) -> None:
    """Move a finished package to ``folder``; a package another process put there first wins."""
    try:
        os.rename(built, folder)  # atomic, and never replaces a non-empty folder
    except OSError:
        if not (folder / "twin.json").is_file():
            raise


def reference_twin(scene_name: str, task: str | None = None, cache_dir: str | Path | None = None) -> Path:
    """The twin package of reference scene ``scene_name`` and ``task``, built on first use.

    Concurrent callers may each build it; the first to finish installs it and the others use
    that one. A cached package that fails :func:`twin.package.check_twin` is rebuilt.
    """
    scene = load_scene(scene_name)
    chosen = scene.task(task)
    root = Path(cache_dir) if cache_dir is not None else cache_root()
    folder = cache_folder(scene, chosen, root)
    if folder.is_dir() and not check_twin(folder):
        return folder
    root.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=root))
    try:
        if folder.exists():  # damaged: set it aside (unless another process already has)
            with contextlib.suppress(FileNotFoundError):
                os.rename(folder, scratch / "damaged")
        _install(package_scene(scene, scratch / "twin", chosen.name), folder)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return folder
