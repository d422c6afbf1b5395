"""The reference world of a validity study: a stand-in for reality that the twin cannot copy.

The reference world is an authored scene (:mod:`benchmark.scenes.authored`) standing exactly as the
demonstration found it (objects at their first recorded poses), packaged so it runs through the
same harness as the twin. What keeps it honest as "proxy-real":

- **Camera.** It films through :data:`REFERENCE_SENSOR` (exposure, white balance, read noise,
  depth noise), in the demonstration and in every episode run in it (``twin.json``'s
  ``"sensor"``, applied by :class:`benchmark.episodes.env.TwinEnv`). The twin gets only the noisy pixels.
- **Appearance.** Its procedural textures and its own lights; a built twin draws with splats fitted
  to the recording and carries :data:`twin.physics.DEFAULT_LIGHTS`, never the scene's.
- **Physics.** Its masses and frictions come from the scene spec; a built twin estimates mass from
  volume (:func:`twin.meshes.mass_from_volume`) and uses :data:`twin.meshes.FRICTION_PRIOR`.

Reconstruction reads the demonstration through :func:`twin.demonstration.read_demonstration`,
which never opens ``ground_truth/``; only this module (evaluation) reads the first poses there.
:func:`honesty_checks` lists every check for a (reference, twin) pair.
"""

from __future__ import annotations

import dataclasses
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.errors import CampaignError
from benchmark.sim.sensor import SensorModel
from twin.scene.spec import SceneSpec, TaskSpec

# a slightly over-exposed, warm camera with visible read noise and 0.2 % depth noise
REFERENCE_SENSOR = SensorModel(
    exposure=1.12, white_balance=(1.05, 1.0, 0.93), noise_sigma=3.0, depth_noise=0.002
)
REFERENCE_FORMAT = 2  # bump whenever reference packages change
STYLES = ("scan", "robot-log")  # how a demonstration is recorded (``twinarena record --style``)


class ValidityError(CampaignError):
    """A validity study that cannot run (its campaigns cannot): the message names the scene,
    demonstration or twin. The CLI prints it as one line, exit code 2."""


def demonstration_task(demo: str | Path) -> tuple[str, str]:
    """The reference scene and task a demonstration recorded (its ``meta.json``)."""
    meta_path = Path(demo) / "meta.json"
    try:
        meta = json.loads(meta_path.read_text())
        return str(meta["task"]["scene"]), str(meta["task"]["name"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValidityError(f"{meta_path}: no recorded scene and task ({err})") from None


def demonstration_style(demo: str | Path) -> str:
    """``robot-log`` for a demonstration with recorded joints but neither camera poses nor depth in
    any camera (as :func:`twin.robot_log.is_robot_log` has it), else ``scan``; read from
    ``meta.json``, each ``camera.json`` and the names in ``robot_states.npz``, no frame decoded."""
    demo = Path(demo)
    try:
        names = json.loads((demo / "meta.json").read_text()).get("cameras") or ["main"]
        folders = [demo, *(demo / str(name) for name in names[1:])]
        posed = any("T_world_camera" in json.loads((f / "camera.json").read_text()) for f in folders)
        depth = any((f / "depth.npz").is_file() or (f / "depth").is_dir() for f in folders)
        states = demo / "robot_states.npz"
        if posed or depth or not states.is_file():
            return "scan"
        with np.load(states) as arrays:
            return "robot-log" if "joint_positions" in arrays.files else "scan"
    except (OSError, ValueError, TypeError, AttributeError, zipfile.BadZipFile) as err:
        raise ValidityError(f"{demo}: not a readable demonstration folder ({err})") from None


def demonstration_sensor(demo: str | Path) -> SensorModel | None:
    """The sensor model a demonstration was recorded through (``meta.json``), or None."""
    meta = json.loads((Path(demo) / "meta.json").read_text())
    return None if meta.get("sensor") is None else SensorModel.from_dict(meta["sensor"])


def first_poses(demo: str | Path) -> dict[str, np.ndarray]:
    """Each object's first recorded pose (xyz, wxyz) in the scene's frame, from the demonstration's
    ``ground_truth/`` (evaluation code only: reconstruction never reads it). A robot log keeps its
    poses in the robot's base frame, with ``T_scene_base`` and the cameras' ``T_base_camera_*``."""
    from twin.demonstration import read_ground_truth

    try:
        truth = read_ground_truth(demo)
    except (OSError, ValueError, KeyError) as err:
        raise ValidityError(
            f"{demo}: no ground_truth/ object poses ({err}); the reference world stands as the "
            "demonstration found it, so record the demonstration with `twinarena record`"
        ) from None
    first = {
        name: np.asarray(poses[0], dtype=float)
        for name, poses in truth["arrays"].items()
        if not name.startswith("T_base_camera_")
    }
    frame = truth["objects"].get("T_scene_base")
    return first if frame is None else {n: moved(p, np.asarray(frame, float)) for n, p in first.items()}


def moved(pose: np.ndarray, transform: np.ndarray) -> np.ndarray:
    """A pose (xyz, wxyz) carried by the 4×4 rigid ``transform``."""
    from twin.transforms import mat_to_quat, pose_matrix, quat_to_mat

    out = transform @ pose_matrix(quat_to_mat(pose[3:7]), pose[:3])
    return np.concatenate([out[:3, 3], mat_to_quat(out[:3, :3])])


def reference_scene(scene: SceneSpec, poses: dict[str, np.ndarray]) -> SceneSpec:
    """``scene`` with every object at its pose in ``poses``, each free solid's start varying with
    the seed as a built twin's does (:data:`twin.package.SOLID_START_RANGE`), so the twin and its
    reference face the same scenario for the same seed."""
    from twin.package import SOLID_START_RANGE
    from twin.transforms import quat_yaw

    xy_range = tuple(SOLID_START_RANGE["xy_range"])
    yaw_range = float(SOLID_START_RANGE["yaw_range"])

    objects = []
    for obj in scene.objects:
        pose = poses.get(obj.name)
        xy, yaw = (
            (obj.xy, obj.yaw) if pose is None else ((float(pose[0]), float(pose[1])), quat_yaw(pose[3:7]))
        )
        free = not (obj.fixed or obj.visual_only)
        objects.append(
            dataclasses.replace(
                obj,
                xy=xy,
                yaw=float(yaw),
                xy_range=xy_range if free else (0.0, 0.0),
                yaw_range=yaw_range if free else 0.0,
            )
        )
    return dataclasses.replace(scene, objects=tuple(objects))


def package_reference(
    scene: SceneSpec, task: TaskSpec, out: str | Path, sensor: SensorModel | None = REFERENCE_SENSOR
) -> Path:
    """Write the reference world (``scene`` with ``task``, filmed through ``sensor``) as a twin
    package at ``out``; an existing sound package at ``out`` with the same content is kept."""
    from benchmark.scenes import authored
    from twin.package import check_twin, staging_folder, write_json, write_twin

    out = Path(out)
    fields = authored.manifest(scene, task)
    fields.source |= {"reference": REFERENCE_FORMAT, "spec": authored.spec_key(scene)}
    fields.sensor = None if sensor is None else sensor.to_dict()
    if (out / "twin.json").is_file() and not check_twin(out):
        known, body = json.loads((out / "twin.json").read_text()), fields.to_dict()
        if {k: known.get(k) for k in ("objects", "sensor", "source")} == {
            k: body.get(k) for k in ("objects", "sensor", "source")
        }:
            return out
    with staging_folder(out, overwrite=True) as stage:
        authored.write_scene_xml(scene, stage)
        cameras = {cam.name: authored.camera_calibration(cam) for cam in scene.cameras}
        write_json(stage / authored.FILES["calibration"], {"cameras": cameras})
        write_json(stage / authored.FILES["task"], authored.task_entry(task))
        write_json(stage / authored.FILES["fidelity"], {"authored": True, "reference": True})
        write_twin(stage, fields)
        authored.write_preview(stage, scene.cameras[0])
    return out


def recording_config(style: str, sensor: SensorModel | None, scan_frames: int = 30):
    """What :func:`benchmark.scenes.recording.record` records for ``style``, filmed through ``sensor``."""
    from benchmark.scenes.recording import RecordConfig
    from benchmark.scenes.robot_logs import RobotLogConfig

    if style not in STYLES:
        raise ValidityError(f"--style must be one of {', '.join(STYLES)}, got {style!r}")
    if style == "robot-log":
        return RobotLogConfig(sensor=sensor)
    return RecordConfig(scan_frames=scan_frames, sensor=sensor)


def record_reference(
    scene: SceneSpec,
    task: TaskSpec,
    out: str | Path,
    seed: int = 3,
    sensor: SensorModel | None = REFERENCE_SENSOR,
    scan_frames: int = 30,
    style: str = "scan",
) -> Path:
    """Record one expert demonstration of the reference world at ``out`` (``out/episode_000000``),
    filmed through ``sensor``, as a ``style`` recording (:data:`STYLES`: an RGB-D scan, or a robot
    log: exterior and wrist cameras, RGB and intrinsics only); return the episode folder."""
    from benchmark.scenes.recording import record

    summaries = record(scene, out, 1, seed, task.name, recording_config(style, sensor, scan_frames))
    return Path(summaries[0].path)


# -- proxy-real honesty ------------------------------------------------------------------------
def twin_to_reference(twin, reference) -> np.ndarray:
    """The 4×4 transform from the twin's world frame to the reference world's, through the robot
    each stands: the identity for a twin of a scan; a robot log's twin stands in its robot's base
    frame."""
    bases = [np.asarray(p.manifest["robot"]["base_pose"], dtype=float) for p in (reference, twin)]
    return bases[0] @ np.linalg.inv(bases[1])


def same_frame(twin, reference) -> bool:
    """Whether the twin and the reference world share a world frame (their robots stand alike)."""
    return bool(np.allclose(twin_to_reference(twin, reference), np.eye(4), atol=1e-6))


def matched_objects(twin, reference) -> list[tuple[Any, Any]]:
    """(twin object, reference object) pairs of the same kind, matched by centre in the reference's
    frame (reference solids welded to the table left out)."""
    from twin.fidelity import match_objects

    frame = twin_to_reference(twin, reference)
    pairs = []
    for kind in ("solid", "zone"):
        tw = [o for o in twin.objects if o.kind == kind]
        ref = [o for o in reference.objects if (o.kind == kind) and not (kind == "solid" and o.fixed)]
        if tw and ref:
            centres = np.array([o.pos for o in tw], dtype=float) @ frame[:3, :3].T + frame[:3, 3]
            found = match_objects(centres, np.array([o.pos for o in ref]))
            pairs += [(tw[i], ref[j]) for i, j in found]
    return pairs


def honesty_checks(reference: str | Path, twin: str | Path, demo: str | Path) -> list[dict[str, Any]]:
    """Each check that the twin could not copy the reference world, with its verdict.

    ``ok`` is False where the twin carries a value equal to the reference's (a copied light, mass,
    friction, sensor) or the demonstration was not filmed through the reference's sensor.
    """
    from twin.package import read_twin

    ref, tw = read_twin(reference), read_twin(twin)
    checks = []
    recorded = demonstration_sensor(demo)
    sensor = ref.manifest.get("sensor")
    checks.append(
        {
            "check": "the demonstration was filmed through the reference world's sensor",
            "ok": sensor is not None and recorded is not None and recorded.to_dict() == sensor,
            "detail": {
                "reference": sensor,
                "demonstration": None if recorded is None else recorded.to_dict(),
            },
        }
    )
    checks.append(
        {
            "check": "the twin names no sensor model of its own (its camera's look is baked into its splats)",
            "ok": "sensor" not in tw.manifest,
            "detail": tw.manifest.get("sensor"),
        }
    )
    ref_lights, twin_lights = scene_lights(ref.path("scene")), scene_lights(tw.path("scene"))
    checks.append(
        {
            "check": "the twin's lights are not the reference world's",
            "ok": not lights_equal(ref_lights, twin_lights),
            "detail": {"reference": ref_lights, "twin": twin_lights},
        }
    )
    rows = []
    for t, r in matched_objects(tw, ref):
        if t.kind != "solid":
            continue
        rows.append(
            {
                "reference": r.name,
                "twin": t.name,
                "reference_mass": r.mass,
                "twin_mass": t.mass,
                "reference_friction": r.friction,
                "twin_friction": t.friction,
            }
        )
    checks.append(
        {
            "check": "every matched object's mass and friction in the twin differ from the reference's",
            "ok": bool(rows)
            and all(
                not np.isclose(r["twin_mass"], r["reference_mass"])
                and not np.isclose(r["twin_friction"], r["reference_friction"])
                for r in rows
            ),
            "detail": rows,
        }
    )
    return checks


def scene_lights(scene_xml: Path) -> list[dict[str, list[float]]]:
    """The lights of a ``scene.xml``: direction and diffuse colour."""
    from twin.scene.gl import import_mujoco

    mujoco = import_mujoco()
    spec = mujoco.MjSpec.from_file(str(scene_xml))
    return [
        {"dir": np.round(light.dir, 4).tolist(), "diffuse": np.round(light.diffuse, 4).tolist()}
        for light in spec.lights
    ]


def lights_equal(a: list[dict], b: list[dict]) -> bool:
    return len(a) == len(b) and all(
        np.allclose(x["dir"], y["dir"]) and np.allclose(x["diffuse"], y["diffuse"])
        for x, y in zip(a, b, strict=True)
    )
