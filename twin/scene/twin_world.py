"""Run a twin package in MuJoCo: its ``scene.xml`` with the Panda, cameras from its calibration.

The twin's objects become :class:`ObjectSpec` entries (their primitive for reconstructed solids,
flat boxes for zones, the exact ``shape`` and ``size`` of an authored object) so the task
predicates, the scripted expert and :class:`World` treat a twin and a reference scene alike.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from twin.package import Twin, TwinObject, TwinPackageError, read_twin
from twin.scene.builder import SCAN_CAMERA, add_pinhole_camera, attach_robot
from twin.scene.gl import import_mujoco
from twin.scene.robot import PandaConfig
from twin.scene.spec import CameraSpec, ObjectSpec, PhysicsSpec, SceneSpec, TableSpec, TaskSpec
from twin.scene.world import World
from twin.transforms import fovy_from_intrinsics, mat_to_quat, quat_yaw

mujoco = import_mujoco()


def _shape(obj: TwinObject) -> str:
    if obj.shape is not None:
        return obj.shape
    return obj.primitive if obj.kind == "solid" else "box"


def _size(obj: TwinObject) -> tuple[float, ...]:
    """Sizes in :class:`ObjectSpec`'s convention for the object's shape (exact, or its primitive)."""
    if obj.size is not None:
        return obj.size
    hx, hy, hz = (float(v) for v in obj.half_extents)
    return (max(hx, hy), hz) if _shape(obj) == "cylinder" else (hx, hy, hz)


def _source(source: dict) -> str:
    if "authored" in source:
        return f"the authored scene {source['authored']}"
    return source.get("path", "a demonstration")


def twin_scene(twin: Twin) -> SceneSpec:
    """The :class:`SceneSpec` view of a twin (objects, task, cameras, physics, robot base)."""
    m = twin.manifest
    objects = tuple(
        ObjectSpec(
            name=o.name,
            shape=_shape(o),
            size=_size(o),
            xy=(float(o.pos[0]), float(o.pos[1])),
            yaw=quat_yaw(o.quat),
            rgba=tuple(float(v) for v in o.rgba),
            mass=max(o.mass, 1e-3),
            friction=o.friction,
            fixed=o.fixed or o.kind == "zone",
            visual_only=o.kind == "zone",
            xy_range=o.xy_range,
            yaw_range=o.yaw_range,
        )
        for o in twin.objects
    )
    t = twin.task
    task = TaskSpec(
        name=t["name"],
        family=t["family"],
        object=t["object"],
        target=t["target"],
        instruction=t["instruction"],
        max_seconds=float(t.get("max_seconds", 20.0)),
    )
    cameras = []
    for name, cam in twin.calibration["cameras"].items():
        pose = np.asarray(cam["T_world_camera"], dtype=float)
        cameras.append(
            CameraSpec(
                name=name,
                pos=tuple(pose[:3, 3]),
                lookat=tuple(pose[:3, 3] + pose[:3, 2]),
                fovy=fovy_from_intrinsics(np.asarray(cam["K"]), int(cam["height"])),
                width=int(cam["width"]),
                height=int(cam["height"]),
            )
        )
    table = m["table"]
    physics = m.get("physics", {})
    return SceneSpec(
        name=twin.name,
        description=f"twin of {_source(m.get('source', {}))}",
        objects=objects,
        tasks=(task,),
        cameras=tuple(cameras),
        table=TableSpec.from_manifest(table),
        physics=PhysicsSpec(
            timestep=float(physics.get("timestep", 0.002)), control_hz=float(physics.get("control_hz", 10.0))
        ),
        robot_base=tuple(np.asarray(m["robot"]["base_pose"], dtype=float)[:3, 3]),
    )


def twin_spec(twin: Twin, robot: PandaConfig | None = None):
    """The twin's ``scene.xml`` as an ``MjSpec``, with its cameras, a scan camera and the Panda."""
    try:
        spec = mujoco.MjSpec.from_file(str(twin.path("scene")))
    except Exception as err:  # MuJoCo raises a bare ValueError / mujoco.FatalError
        raise TwinPackageError(f"{twin.path('scene')}: MuJoCo cannot load it ({err})") from err
    cams = twin.calibration["cameras"]
    width = max(int(c["width"]) for c in cams.values())
    height = max(int(c["height"]) for c in cams.values())
    spec.visual.global_.offwidth = max(spec.visual.global_.offwidth, width)
    spec.visual.global_.offheight = max(spec.visual.global_.offheight, height)
    for name, cam in cams.items():
        add_pinhole_camera(spec.worldbody, name, cam["K"], cam["width"], cam["height"], cam["T_world_camera"])
    first = next(iter(cams.values()))
    add_pinhole_camera(
        spec.worldbody, SCAN_CAMERA, first["K"], first["width"], first["height"], first["T_world_camera"]
    )
    base = np.asarray(twin.manifest["robot"]["base_pose"], dtype=float)
    attach_robot(spec, base[:3, 3], robot, base_quat=mat_to_quat(base[:3, :3]))
    return spec


def load_twin_world(twin: Twin | str | Path, robot: PandaConfig | None = None) -> World:
    """A :class:`World` running the twin package ``twin`` (a folder or a read :class:`Twin`)."""
    twin = twin if isinstance(twin, Twin) else read_twin(twin)
    return World(twin_scene(twin), robot, spec=twin_spec(twin, robot))
