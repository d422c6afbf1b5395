"""The demonstration folder format: what ``twinarena record`` writes and ``twin build`` reads.

A demonstration folder holds::

    meta.json          {"format": "twinarena-demo/1", "fps", "instruction", "task"?, "segments"?,
                        "cameras": [primary, ...], "ground_truth"?: "ground_truth"}
    rgb.mp4            primary camera video (or rgb/000000.png ...)
    camera.json        {"K": 3×3, "width", "height", "T_world_camera"?: 4×4 or T×4×4 (OpenCV frame)}
    depth.npz          optional, key "depth": T×H×W metres, float16/float32 (or depth/*.png, mm uint16)
    <camera>/...       further cameras: the same three files in a sub-folder named for the camera
    robot.json         optional: {"name", "joint_names", "action_space"?, "base_pose"?: 4×4 T_world_base}
    robot_states.npz   optional: "joint_positions" T×J, plus any per-frame arrays ("actions", ...)
    ground_truth/      optional, for judging the pipeline only: objects.json, object_poses.npz

``segments`` names frame ranges, e.g. ``{"scan": [0, 30], "execution": [30, 95]}``: the camera
sweep people record before a demonstration, then the demonstration itself.
Reconstruction code reads with :func:`read_demonstration`, which never opens ``ground_truth/``;
only evaluation of the pipeline calls :func:`read_ground_truth`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from twin.video import VideoError, read_mp4, read_png_folder, write_mp4

FORMAT = "twinarena-demo/1"


class DemonstrationError(ValueError):
    """A demonstration folder that cannot be read; the message names the file and the problem."""


@dataclass
class CameraRecording:
    """One camera's frames, intrinsics, optional extrinsics (OpenCV) and optional metric depth."""

    name: str
    rgb: np.ndarray  # T×H×W×3 uint8
    K: np.ndarray  # 3×3
    T_world_camera: np.ndarray | None = None  # 4×4 (static) or T×4×4
    depth: np.ndarray | None = None  # T×H×W float32 metres

    @property
    def height(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def width(self) -> int:
        return int(self.rgb.shape[2])

    def pose(self, frame: int) -> np.ndarray | None:
        """``T_world_camera`` at ``frame``, or None when extrinsics are unknown."""
        if self.T_world_camera is None:
            return None
        return self.T_world_camera if self.T_world_camera.ndim == 2 else self.T_world_camera[frame]


@dataclass
class RobotTrack:
    """The robot's name and per-frame arrays (``joint_positions`` at least)."""

    name: str
    joint_names: list[str]
    arrays: dict[str, np.ndarray]
    action_space: str | None = None
    base_pose: np.ndarray | None = None  # 4×4 T_world_base, when the robot's mount is known


@dataclass
class Demonstration:
    """A whole demonstration; ``cameras`` is ordered, the first camera is the primary one."""

    fps: float
    instruction: str
    cameras: dict[str, CameraRecording]
    robot: RobotTrack | None = None
    task: dict[str, Any] | None = None
    segments: dict[str, list[int]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def primary(self) -> CameraRecording:
        return next(iter(self.cameras.values()))

    @property
    def num_frames(self) -> int:
        return int(self.primary.rgb.shape[0])


# -- writing ---------------------------------------------------------------------------------
def _write_camera(folder: Path, cam: CameraRecording, fps: float) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_mp4(folder / "rgb.mp4", cam.rgb, fps)
    info: dict[str, Any] = {"K": np.asarray(cam.K).tolist(), "width": cam.width, "height": cam.height}
    if cam.T_world_camera is not None:
        info["T_world_camera"] = np.asarray(cam.T_world_camera).tolist()
    (folder / "camera.json").write_text(json.dumps(info))
    if cam.depth is not None:
        np.savez_compressed(folder / "depth.npz", depth=np.asarray(cam.depth, dtype=np.float16))


def write_demonstration(
    folder: str | Path, demo: Demonstration, ground_truth: dict[str, Any] | None = None
) -> Path:
    """Write ``demo`` into a new folder (which must not exist yet)."""
    folder = Path(folder)
    if folder.exists():
        raise FileExistsError(f"{folder} already exists; choose a new output folder")
    folder.mkdir(parents=True)
    for i, cam in enumerate(demo.cameras.values()):
        _write_camera(folder if i == 0 else folder / cam.name, cam, demo.fps)
    meta: dict[str, Any] = {
        "format": FORMAT,
        "fps": demo.fps,
        "instruction": demo.instruction,
        "cameras": list(demo.cameras),
        **({"task": demo.task} if demo.task else {}),
        **({"segments": demo.segments} if demo.segments else {}),
        **demo.extra,
    }
    if demo.robot is not None:
        robot = {"name": demo.robot.name, "joint_names": demo.robot.joint_names}
        if demo.robot.action_space:
            robot["action_space"] = demo.robot.action_space
        if demo.robot.base_pose is not None:
            robot["base_pose"] = np.asarray(demo.robot.base_pose).tolist()
        (folder / "robot.json").write_text(json.dumps(robot, indent=1))
        # allow_pickle=True is numpy's default, named so that no array can be taken for it
        np.savez_compressed(folder / "robot_states.npz", allow_pickle=True, **demo.robot.arrays)
    if ground_truth is not None:
        gt = folder / "ground_truth"
        gt.mkdir()
        arrays = ground_truth.get("arrays", {})
        (gt / "objects.json").write_text(json.dumps(ground_truth.get("objects", {}), indent=1))
        np.savez_compressed(gt / "object_poses.npz", **arrays)
        meta["ground_truth"] = "ground_truth"
    (folder / "meta.json").write_text(json.dumps(meta, indent=1))
    return folder


# -- reading ---------------------------------------------------------------------------------
def load_json_object(path: Path, error: type[ValueError] = DemonstrationError) -> dict[str, Any]:
    """A JSON file holding one object; anything else raises ``error`` naming the file."""
    if not path.is_file():
        raise error(f"{path}: missing")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise error(f"{path}: not valid JSON ({err})") from err
    if not isinstance(data, dict):
        raise error(f"{path}: expected a JSON object")
    return data


def _matrix(value: Any, shape: tuple[int, ...], where: str) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as err:
        raise DemonstrationError(f"{where}: not a numeric array") from err
    if array.shape[-len(shape) :] != shape or not np.all(np.isfinite(array)):
        raise DemonstrationError(
            f"{where}: expected finite {'×'.join(map(str, shape))} values, got shape {array.shape}"
        )
    return array


def _read_camera(folder: Path, name: str) -> CameraRecording:
    info = load_json_object(folder / "camera.json")
    if (folder / "rgb.mp4").is_file():
        try:
            rgb = read_mp4(folder / "rgb.mp4")
        except VideoError as err:
            raise DemonstrationError(str(err)) from err
    elif (folder / "rgb").is_dir():
        rgb = read_png_folder(folder / "rgb")
    else:
        raise DemonstrationError(f"{folder}: no rgb.mp4 and no rgb/ folder of PNG frames")
    if "K" not in info:
        raise DemonstrationError(f"{folder / 'camera.json'}: missing the intrinsics 'K' (a 3×3 matrix)")
    K = _matrix(info["K"], (3, 3), f"{folder / 'camera.json'}: K")
    width, height = info.get("width"), info.get("height")
    if (height, width) != rgb.shape[1:3]:
        # H.264 pads odd sizes to even; crop back to the declared size.
        if (
            isinstance(width, int)
            and isinstance(height, int)
            and height <= rgb.shape[1]
            and width <= rgb.shape[2]
        ):
            rgb = rgb[:, :height, :width]
        else:
            raise DemonstrationError(
                f"{folder / 'camera.json'}: width×height {width}×{height} does not match the video's "
                f"{rgb.shape[2]}×{rgb.shape[1]}"
            )
    pose = None
    if "T_world_camera" in info:
        pose = _matrix(info["T_world_camera"], (4, 4), f"{folder / 'camera.json'}: T_world_camera")
        if pose.ndim == 3 and len(pose) != len(rgb):
            raise DemonstrationError(f"{folder / 'camera.json'}: {len(pose)} poses for {len(rgb)} frames")
    depth = None
    if (folder / "depth.npz").is_file():
        try:
            depth = np.load(folder / "depth.npz")["depth"].astype(np.float32)
        except (OSError, KeyError, ValueError) as err:
            raise DemonstrationError(
                f"{folder / 'depth.npz'}: unreadable or no 'depth' array ({err})"
            ) from err
    elif (folder / "depth").is_dir():
        depth = read_png_folder(folder / "depth").astype(np.float32) / 1000.0
    if depth is not None and depth.shape != rgb.shape[:3]:
        source = folder / ("depth.npz" if (folder / "depth.npz").is_file() else "depth")
        raise DemonstrationError(
            f"{source}: {depth.shape[0]} depth frames of {depth.shape[2]}×{depth.shape[1]}, but the video "
            f"has {rgb.shape[0]} frames of {rgb.shape[2]}×{rgb.shape[1]}"
        )
    return CameraRecording(name, rgb, K, pose, depth)


def read_demonstration(folder: str | Path) -> Demonstration:
    """Read a demonstration folder; never opens ``ground_truth/``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DemonstrationError(f"{folder}: not a demonstration folder (no such directory)")
    meta = load_json_object(folder / "meta.json")
    for key in ("fps", "instruction"):
        if key not in meta:
            raise DemonstrationError(f"{folder / 'meta.json'}: missing {key!r}")
    names = meta.get("cameras") or ["main"]
    cameras = {names[0]: _read_camera(folder, names[0])}
    for name in names[1:]:
        cameras[name] = _read_camera(folder / name, name)
    robot = None
    if (folder / "robot.json").is_file():
        info = load_json_object(folder / "robot.json")
        try:
            with np.load(folder / "robot_states.npz") as states:
                arrays = {k: states[k] for k in states.files}
        except (OSError, ValueError) as err:
            raise DemonstrationError(f"{folder / 'robot_states.npz'}: unreadable ({err})") from err
        if "joint_positions" not in arrays:
            raise DemonstrationError(f"{folder / 'robot_states.npz'}: missing 'joint_positions'")
        base = info.get("base_pose")
        robot = RobotTrack(
            info.get("name", "unknown"),
            list(info.get("joint_names", [])),
            arrays,
            info.get("action_space"),
            None if base is None else _matrix(base, (4, 4), f"{folder / 'robot.json'}: base_pose"),
        )
    known = {"format", "fps", "instruction", "cameras", "task", "segments", "ground_truth"}
    return Demonstration(
        fps=float(meta["fps"]),
        instruction=str(meta["instruction"]),
        cameras=cameras,
        robot=robot,
        task=meta.get("task"),
        segments=meta.get("segments", {}),
        extra={k: v for k, v in meta.items() if k not in known},
    )


def read_ground_truth(folder: str | Path) -> dict[str, Any]:
    """The ground truth kept beside a recorded demonstration: object specs and per-frame poses."""
    gt = Path(folder) / "ground_truth"
    objects = json.loads((gt / "objects.json").read_text())
    with np.load(gt / "object_poses.npz") as poses:
        arrays = {k: poses[k] for k in poses.files}
    return {"objects": objects, "arrays": arrays}
