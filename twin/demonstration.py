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
import numbers
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from twin.transforms import rigid_problem
from twin.video import VideoError, read_mp4, read_png_folder, write_mp4

FORMAT = "twinarena-demo/1"
MAX_FPS = 1000.0
MAX_NAME = 100  # characters of a camera name (a sub-folder's name)
MAX_EPISODE_SECONDS = 600.0  # the longest episode a task may ask for (task.json's max_seconds)
# the robots that have a model (twin.scene.robot_view poses them)
KNOWN_ROBOTS = ("franka_panda",)


WRIST_CAMERA_KEY = "wrist_camera"  # meta.json: which camera rides on the hand


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

    @property
    def wrist_camera(self) -> str | None:
        """The camera on the robot's hand: ``meta.json``'s ``wrist_camera``, else the one camera
        whose name contains ``wrist``; None when there is none (or several and none is named)."""
        named = self.extra.get(WRIST_CAMERA_KEY)
        if isinstance(named, str) and named in self.cameras:
            return named
        wrists = [name for name in self.cameras if "wrist" in name.lower()]
        return wrists[0] if len(wrists) == 1 else None


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
    if not is_file(path):
        raise error(f"{path}: missing")
    try:
        data = json.loads(path.read_text())
    except OSError as err:
        raise error(f"{path}: cannot be read ({err.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as err:
        raise error(f"{path}: not valid JSON ({err})") from err
    if not isinstance(data, dict):
        raise error(f"{path}: expected a JSON object")
    return data


def is_file(path: Path) -> bool:
    """Whether ``path`` is a file; False, not an error, for a name too long to look up."""
    try:
        return path.is_file()
    except OSError:
        return False


def in_range(value: Any, maximum: float) -> bool:
    """Whether ``value`` is a number (not a bool) in (0, ``maximum``]; NaN and infinities are not."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        return False
    return bool(0 < value <= maximum)  # False for NaN; exact for integers too large for a float


def check_max_seconds(value: Any, where: str, error: type[ValueError] = DemonstrationError) -> float:
    """An episode length in seconds, in (0, :data:`MAX_EPISODE_SECONDS`]; else ``error``."""
    if not in_range(value, MAX_EPISODE_SECONDS):
        raise error(
            f"{where}: max_seconds must be a number of seconds in (0, {MAX_EPISODE_SECONDS:g}], got {value!r}"
        )
    return float(value)


def inside(root: Path, path: Path, error: type[ValueError] = DemonstrationError) -> Path:
    """``path`` when it resolves (links followed) inside the folder ``root``; else ``error``."""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError) as err:  # a loop of links
        raise error(f"{path}: cannot be resolved ({err})") from None
    if not resolved.is_relative_to(root.resolve()):
        raise error(f"{path}: resolves to {resolved}, outside {root}; every file must lie inside the folder")
    return path


def _matrix(value: Any, shape: tuple[int, ...], where: str, stack: bool = False) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError, OverflowError) as err:
        raise DemonstrationError(f"{where}: not a numeric array") from err
    ranks = (len(shape), len(shape) + 1) if stack else (len(shape),)
    if array.ndim not in ranks or array.shape[-len(shape) :] != shape or not np.all(np.isfinite(array)):
        raise DemonstrationError(
            f"{where}: expected finite {'×'.join(map(str, shape))} values, got shape {array.shape}"
        )
    return array


def _pose(value: Any, where: str, stack: bool = False) -> np.ndarray:
    """A finite 4×4 rigid transform (or, with ``stack``, T of them)."""
    pose = _matrix(value, (4, 4), where, stack)
    problem = rigid_problem(pose)
    if problem:
        raise DemonstrationError(f"{where}: not a rigid transform (rotation + translation): {problem}")
    return pose


def _load_npz(path: Path, keys: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` file (only ``keys``, when given), numeric ones only."""
    try:
        with np.load(path) as archive:
            names = archive.files if keys is None else keys
            arrays = {k: archive[k] for k in names}
    except KeyError as err:
        raise DemonstrationError(f"{path}: no {err.args[0]!r} array") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError) as err:
        raise DemonstrationError(f"{path}: unreadable (truncated or corrupt: {err})") from None
    except MemoryError:  # a damaged header that declares an enormous array
        raise DemonstrationError(f"{path}: unreadable (an array too large to hold)") from None
    for key, array in arrays.items():
        if array.dtype.kind not in "biuf":
            raise DemonstrationError(f"{path}: array {key!r} is {array.dtype}, not numeric")
    return arrays


def _read_frames(folder: Path, root: Path) -> np.ndarray:
    try:
        if (folder / "rgb.mp4").is_file():
            return read_mp4(inside(root, folder / "rgb.mp4"))
        if (folder / "rgb").is_dir():
            return read_png_folder(inside(root, folder / "rgb"))
    except VideoError as err:
        raise DemonstrationError(str(err)) from err
    raise DemonstrationError(f"{folder}: no rgb.mp4 and no rgb/ folder of PNG frames")


def _read_camera(folder: Path, name: str, root: Path) -> CameraRecording:
    info = load_json_object(inside(root, folder / "camera.json"))
    rgb = _read_frames(folder, root)
    where = folder / "camera.json"
    if "K" not in info:
        raise DemonstrationError(f"{where}: missing the intrinsics 'K' (a 3×3 matrix)")
    K = _matrix(info["K"], (3, 3), f"{where}: K")
    if not (K[0, 0] > 0 and K[1, 1] > 0):
        raise DemonstrationError(
            f"{where}: K's focal lengths must be positive, got {K[0, 0]:g} and {K[1, 1]:g}"
        )
    width, height = info.get("width"), info.get("height")
    if (height, width) != rgb.shape[1:3]:
        # H.264 pads odd sizes to even; crop back to the declared size.
        if (
            isinstance(width, int)
            and isinstance(height, int)
            and 0 < height <= rgb.shape[1]
            and 0 < width <= rgb.shape[2]
        ):
            rgb = rgb[:, :height, :width]
        else:
            raise DemonstrationError(
                f"{where}: width×height {width!r}×{height!r} does not match the video's "
                f"{rgb.shape[2]}×{rgb.shape[1]}"
            )
    video = folder / ("rgb.mp4" if (folder / "rgb.mp4").is_file() else "rgb")
    if len(rgb) == 0:
        raise DemonstrationError(f"{video}: camera {name!r} has no frames")
    cx, cy = float(K[0, 2]), float(K[1, 2])
    if not (0 <= cx <= rgb.shape[2] and 0 <= cy <= rgb.shape[1]):  # on the edge is allowed (K = I)
        raise DemonstrationError(
            f"{where}: the intrinsics disagree with the video size: K's principal point ({cx:g}, {cy:g}) "
            f"lies outside the {rgb.shape[2]}×{rgb.shape[1]} frames of {video}"
        )
    pose = None
    if "T_world_camera" in info:
        pose = _pose(info["T_world_camera"], f"{where}: T_world_camera", stack=True)
        if pose.ndim == 3 and len(pose) != len(rgb):
            raise DemonstrationError(f"{where}: {len(pose)} poses for {len(rgb)} frames")
    depth = None
    if (folder / "depth.npz").is_file():
        depth = _load_npz(inside(root, folder / "depth.npz"), ("depth",))["depth"].astype(np.float32)
    elif (folder / "depth").is_dir():
        try:
            depth = read_png_folder(inside(root, folder / "depth")).astype(np.float32) / 1000.0
        except VideoError as err:
            raise DemonstrationError(str(err)) from err
    if depth is not None and depth.shape != rgb.shape[:3]:
        source = folder / ("depth.npz" if (folder / "depth.npz").is_file() else "depth")
        raise DemonstrationError(
            f"{source}: depth of shape {depth.shape}, but the video has {rgb.shape[0]} frames of "
            f"{rgb.shape[2]}×{rgb.shape[1]}"
        )
    return CameraRecording(name, rgb, K, pose, depth)


def _camera_names(meta: dict[str, Any], where: Path) -> list[str]:
    """The camera names of ``meta.json``: unique plain names; every one after the first is a sub-folder."""
    names = meta.get("cameras") or ["main"]
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise DemonstrationError(f"{where}: cameras must be a list of camera names, got {names!r}")
    if len(set(names)) != len(names):
        raise DemonstrationError(f"{where}: cameras {names!r} names a camera twice")
    for name in names[1:]:
        if name in (".", "..") or "/" in name or "\\" in name or "\0" in name or len(name) > MAX_NAME:
            raise DemonstrationError(
                f"{where}: camera {name!r} must name a sub-folder of the demonstration (no '/', '..' or "
                f"absolute paths; at most {MAX_NAME} characters)"
            )
    return names


def check_segments(segments: Any, frames: int, where: str) -> dict[str, list[int]]:
    """``segments`` checked: each a ``[start, end]`` of frame numbers with 0 ≤ start < end ≤ ``frames``."""
    if not isinstance(segments, dict):
        raise DemonstrationError(
            f"{where}: segments must be an object of name: [start, end], got {segments!r}"
        )
    checked = {}
    for name, span in segments.items():
        integers = isinstance(span, list | tuple) and len(span) == 2
        if not integers or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in span):
            raise DemonstrationError(
                f"{where}: segments.{name} must be [start, end] frame numbers, got {span!r}"
            )
        start, end = int(span[0]), int(span[1])
        if start < 0 or start >= end:
            raise DemonstrationError(
                f"{where}: segments.{name} [{start}, {end}] is empty or reversed (needs 0 ≤ start < end)"
            )
        if end > frames:
            raise DemonstrationError(
                f"{where}: segments.{name} [{start}, {end}] ends past the end of the video ({frames} frames)"
            )
        checked[str(name)] = [start, end]
    return checked


def check_robot(robot: RobotTrack, frames: int, where: str) -> None:
    """A robot track this code can use: a known robot, joint positions for every frame, a rigid base."""
    if robot.name not in KNOWN_ROBOTS:
        raise DemonstrationError(
            f"{where}: unknown robot {robot.name!r}; known robots: {', '.join(KNOWN_ROBOTS)}"
        )
    if not all(isinstance(n, str) for n in robot.joint_names):
        raise DemonstrationError(f"{where}: joint_names must be a list of names, got {robot.joint_names!r}")
    joints = np.asarray(robot.arrays.get("joint_positions"))
    if joints.ndim != 2 or len(joints) != frames or joints.dtype.kind not in "biuf":
        raise DemonstrationError(
            f"{where}: joint_positions must be numbers, one row per frame ({frames}), got {joints.dtype} "
            f"of shape {joints.shape}"
        )
    if robot.joint_names and joints.shape[1] != len(robot.joint_names):
        raise DemonstrationError(
            f"{where}: joint_positions has {joints.shape[1]} columns for {len(robot.joint_names)} joint names"
        )
    if robot.base_pose is not None:
        _pose(robot.base_pose, f"{where}: base_pose")


def check_demonstration(demo: Demonstration, where: str) -> None:
    """What :func:`read_demonstration` checks, for a demonstration from elsewhere (a LeRobot import)."""
    if not in_range(demo.fps, MAX_FPS):
        raise DemonstrationError(f"{where}: fps must be a number in (0, {MAX_FPS:g}], got {demo.fps!r}")
    for cam in demo.cameras.values():
        if cam.T_world_camera is not None:
            _pose(cam.T_world_camera, f"{where}: camera {cam.name!r} T_world_camera", stack=True)
    check_segments(demo.segments, demo.num_frames, where)
    if demo.task is not None and not isinstance(demo.task, dict):
        raise DemonstrationError(f"{where}: task must be an object, got {demo.task!r}")
    if demo.task is not None and "max_seconds" in demo.task:
        check_max_seconds(demo.task["max_seconds"], f"{where}: task")
    if demo.robot is not None:
        check_robot(demo.robot, demo.num_frames, f"{where}: robot")


def _read_robot(folder: Path, frames: int) -> RobotTrack:
    where = folder / "robot.json"
    info = load_json_object(inside(folder, where))
    if "name" not in info:
        raise DemonstrationError(f"{where}: missing the robot's 'name' ({', '.join(KNOWN_ROBOTS)})")
    names, space, base = info.get("joint_names", []), info.get("action_space"), info.get("base_pose")
    if not isinstance(names, list):
        raise DemonstrationError(f"{where}: joint_names must be a list of names, got {names!r}")
    if space is not None and not isinstance(space, str):
        raise DemonstrationError(f"{where}: action_space must be a name, got {space!r}")
    states = folder / "robot_states.npz"
    if not states.is_file():
        raise DemonstrationError(f"{states}: missing (robot.json needs the robot's states)")
    arrays = _load_npz(inside(folder, states))
    if "joint_positions" not in arrays:
        raise DemonstrationError(f"{states}: missing 'joint_positions'")
    base_pose = None if base is None else _pose(base, f"{where}: base_pose")
    robot = RobotTrack(info["name"], names, arrays, space, base_pose)
    check_robot(robot, frames, str(where))
    return robot


def read_demonstration(folder: str | Path) -> Demonstration:
    """Read a demonstration folder and check it; never opens ``ground_truth/``. Every file read
    must lie inside ``folder``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DemonstrationError(f"{folder}: not a demonstration folder (no such directory)")
    where = folder / "meta.json"
    meta = load_json_object(inside(folder, where))
    for key in ("fps", "instruction"):
        if key not in meta:
            raise DemonstrationError(f"{where}: missing {key!r}")
    if not in_range(meta["fps"], MAX_FPS):
        raise DemonstrationError(f"{where}: fps must be a number in (0, {MAX_FPS:g}], got {meta['fps']!r}")
    if not isinstance(meta["instruction"], str):
        raise DemonstrationError(f"{where}: instruction must be text, got {meta['instruction']!r}")
    task = meta.get("task")
    if task is not None and not isinstance(task, dict):
        raise DemonstrationError(f"{where}: task must be an object, got {task!r}")
    if task is not None and "max_seconds" in task:
        check_max_seconds(task["max_seconds"], f"{where}: task")
    names = _camera_names(meta, where)
    wrist = meta.get(WRIST_CAMERA_KEY)
    if wrist is not None and wrist not in names:
        raise DemonstrationError(f"{where}: wrist_camera {wrist!r} is not one of the cameras {names}")
    cameras = {names[0]: _read_camera(folder, names[0], folder)}
    for name in names[1:]:
        cameras[name] = _read_camera(inside(folder, folder / name), name, folder)
    frames = len(cameras[names[0]].rgb)
    segments = meta.get("segments")
    segments = {} if segments is None else check_segments(segments, frames, str(where))
    robot = _read_robot(folder, frames) if (folder / "robot.json").is_file() else None
    known = {"format", "fps", "instruction", "cameras", "task", "segments", "ground_truth"}
    return Demonstration(
        fps=float(meta["fps"]),
        instruction=meta["instruction"],
        cameras=cameras,
        robot=robot,
        task=task,
        segments=segments,
        extra={k: v for k, v in meta.items() if k not in known},
    )


def read_ground_truth(folder: str | Path) -> dict[str, Any]:
    """The ground truth kept beside a recorded demonstration: object specs and per-frame poses."""
    gt = Path(folder) / "ground_truth"
    objects = json.loads((gt / "objects.json").read_text())
    with np.load(gt / "object_poses.npz") as poses:
        arrays = {k: poses[k] for k in poses.files}
    return {"objects": objects, "arrays": arrays}
