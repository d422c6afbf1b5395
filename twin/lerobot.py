"""LeRobotDataset export (v3.0, v2.1) and import (v3.0, v2.1) for our demonstration format.

Export maps each :class:`~twin.demonstration.Demonstration` to one episode::

    observation.state          robot_states.npz "state" if present, else "joint_positions" (float32)
    action                     "actions" (float32); T×7 zeros when absent (noted in the side file)
    observation.images.<cam>   each camera's rgb as H.264 MP4 (odd sizes padded to even, edge pixels)
    twinarena.<array>          every other per-frame robot array of 1 or 2 dimensions, dtype kept
    task                       demo.instruction

LeRobot has no fields for calibration, so the side file ``meta/twinarena.json`` keeps, per episode,
each camera's K, T_world_camera and true size, and the robot's name, joint names and action space,
the demo's task, segments and extra. Both writers hold every frame in memory and write one data
file and one video file per camera (v3.0) or one of each per episode (v2.1); no size-based splitting.

The scan segment (``segments["scan"]``: the hand-held camera sweep before the demonstration) is
not a demonstration: its frames carry no action anyone should learn. ``scan="drop"`` (the default)
leaves those frames out: the episode starts after the sweep, the other segments are renumbered,
and the side file says which frames went (``scan_dropped``). ``scan="mark"`` keeps every frame, for
archives and for building twins from the export, and marks the sweep with a per-frame
``twinarena.scan`` column (1 on scan frames) that training code must filter on.

Depth: ``depth=True`` (v3.0 only) writes each camera's metric depth as LeRobot 0.6's depth video
feature ``observation.images.<camera>_depth``: shape H×W×1, ``info.is_depth_map`` true, 12-bit
codes (``gray12le``) in lossless HEVC, quantised on LeRobot's logarithmic scale between
``video.depth_min`` and ``video.depth_max`` metres with ``video.shift`` (:data:`DEPTH_CODING`), so
LeRobot 0.6 dequantises it on read. A depth of 0 (unknown) or below ``depth_min`` comes back as 0.
Without it, depth is dropped (and the side file lists the cameras whose depth was).

Import reads either layout (picked by ``codebase_version`` in ``meta/info.json``), with or without
the side file; without it K is guessed (60° vertical field of view) and flagged in ``extra``.
Only video features become cameras; image features stored inside the parquet are not read. A depth
video feature (``is_depth_map``) becomes the depth of the camera its key names.

Real robot logs (DROID, Bridge, community datasets) name their state columns their own way and
carry no calibration. A **sidecar**, a JSON file the user writes (``sidecar=``, else
``meta/robot_log.json`` in the dataset, :data:`SIDECAR_PATH`), says which robot it is, which state
column drives which of its joints, how the gripper column maps to the two fingers, each camera's
intrinsics and which camera rides on the wrist (docs/formats.md, "the sidecar")::

    {"robot": "franka_panda",
     "joints": {"joint_0": "panda_joint1", ..., "joint_6": "panda_joint7"},
     "gripper": {"state": "gripper", "closed": 1.0, "open": 0.0},
     "cameras": {"exterior_image_1_left": {"K": [[...], [...], [...]]}, "wrist_image_left": {"fovy_deg": 70}},
     "wrist_camera": "wrist_image_left",
     "base_pose": [[1, 0, 0, 0], ...]}
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from twin.demonstration import (
    KNOWN_ROBOTS,
    WRIST_CAMERA_KEY,
    CameraRecording,
    Demonstration,
    RobotTrack,
    read_demonstration,
)
from twin.transforms import intrinsics_from_fovy, rigid_problem
from twin.video import write_mp4

V30, V21 = "v3.0", "v2.1"
INFO_PATH, SIDE_PATH, SIDE_FORMAT = "meta/info.json", "meta/twinarena.json", "twinarena-lerobot/1"
CHUNKS_SIZE = 1000
IMAGE_PREFIX, EXTRA_PREFIX = "observation.images.", "twinarena."
V30_DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
KEYFRAME_INTERVAL = 2  # training reads frames at random: a seek decodes at most 2 frames (LeRobot's own g)
V30_VIDEO_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
V30_EPISODES_PATH = "meta/episodes/chunk-000/file-000.parquet"
V21_DATA_PATH = "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet"
V21_VIDEO_PATH = "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4"
INDEX_FEATURES = dict.fromkeys(["timestamp", "frame_index", "episode_index", "index", "task_index"], "int64")
INDEX_FEATURES["timestamp"] = "float32"
EE_DELTA_NAMES = ["dx", "dy", "dz", "drx", "dry", "drz", "gripper"]
# the recorder's state after the 7 joints
STATE_TAIL = ["gripper_opening", "tcp_x", "tcp_y", "tcp_z", "tcp_qw", "tcp_qx", "tcp_qy", "tcp_qz"]
VIDEO_PARTS = ("chunk_index", "file_index", "from_timestamp", "to_timestamp")
GUESSED_FOVY_DEG = 60.0  # intrinsics guessed for datasets without our side file
QUANTILES = {"q01": 0.01, "q10": 0.10, "q50": 0.50, "q90": 0.90, "q99": 0.99}
SCAN, SCAN_COLUMN = "scan", "twinarena.scan"
SCAN_MODES = ("drop", "mark")
DEPTH_SUFFIX = "_depth"
# LeRobot 0.6's depth coding (its DepthEncoderConfig defaults): 12-bit codes on a log scale
DEPTH_CODING = {"depth_min": 0.01, "depth_max": 10.0, "shift": 3.5, "use_log": True}
DEPTH_QMAX = (1 << 12) - 1
SIDECAR_PATH = "meta/robot_log.json"  # the sidecar import_lerobot reads when none is named
SIDECAR_KEYS = ("robot", "joints", "gripper", "cameras", "wrist_camera", "base_pose")
SIDECAR_CAMERA_KEYS = ("K", "fovy_deg", "fovx_deg", "width", "height")


@dataclass(frozen=True)
class RobotModel:
    """What a sidecar maps a dataset's state onto: the arm's joints, the two finger joints and one
    finger's travel when open (metres); twin.scene.robot's ARM_JOINTS, FINGER_JOINTS, FINGER_OPEN."""

    arm: tuple[str, ...]
    fingers: tuple[str, str]
    finger_open: float

    @property
    def joints(self) -> list[str]:
        return [*self.arm, *self.fingers]


ROBOT_MODELS = {
    "franka_panda": RobotModel(
        tuple(f"panda_joint{i}" for i in range(1, 8)), ("panda_finger_joint1", "panda_finger_joint2"), 0.04
    )
}


class LeRobotFormatError(ValueError):
    """A LeRobot dataset, or demonstrations to export, that cannot be handled; names file and problem."""


@dataclass(frozen=True)
class LeRobotEpisode:
    """Where one episode lives: its data file and, per video key, (video file, from_s, to_s)."""

    index: int
    length: int
    task: str
    data_file: Path
    videos: dict[str, tuple[Path, float, float]]


@dataclass
class _Episode:
    """One demonstration flattened into LeRobot columns, ready to write."""

    state: np.ndarray  # T×S float32
    action: np.ndarray  # T×A float32
    extras: dict[str, np.ndarray]  # other per-frame robot arrays, written as twinarena.<name>
    videos: dict[str, np.ndarray]  # video key -> T×H×W×3 uint8
    depths: dict[str, np.ndarray]  # depth video key -> T×H×W float32 metres
    task: str
    features: dict[str, dict[str, Any]]  # state, action and extras only
    side: dict[str, Any]  # this episode's entry in meta/twinarena.json


# -- export --------------------------------------------------------------------------------------------
def _per_frame(value: Any, frames: int, where: str) -> np.ndarray:
    array = np.asarray(value)
    if array.ndim not in (1, 2) or len(array) != frames:
        raise LeRobotFormatError(f"{where}: expected {frames} rows of 1 or 2 dimensions, got {array.shape}")
    return array


def _state_names(robot: RobotTrack, source: str, dim: int) -> list[str]:
    joints = list(robot.joint_names)
    if source == "joint_positions" and len(joints) == dim:
        return joints
    if source == "state" and dim in (11, 7 + len(STATE_TAIL)) and len(joints) >= 7:
        return joints[:7] + STATE_TAIL[: dim - 7]  # 11: recordings made before the TCP quaternion
    return [f"state_{i}" for i in range(dim)]


def _feature(dtype: str, shape: list[int], names: list[str] | None = None, **more: Any) -> dict[str, Any]:
    return {"dtype": dtype, "shape": shape, "names": names, **more}


def _frames_kept(demo: Demonstration, scan: str, where: str) -> tuple[Demonstration, list[int] | None]:
    """``demo`` without its scan segment's frames (``scan="drop"``), and the span left out; with
    ``"mark"`` or no scan segment, ``demo`` itself."""
    if scan not in SCAN_MODES:
        raise LeRobotFormatError(f"{where}: scan must be one of {', '.join(SCAN_MODES)}, not {scan!r}")
    span = demo.segments.get(SCAN)
    if scan == "mark" or span is None:
        return demo, None
    start, end = int(span[0]), int(span[1])
    keep = np.ones(demo.num_frames, bool)
    keep[start:end] = False
    if not keep.any():
        raise LeRobotFormatError(f"{where}: the scan segment {span} is the whole video; nothing to export")
    before = np.concatenate([[0], np.cumsum(keep)])  # kept frames before each frame number

    def per_frame(value: Any) -> Any:
        array = np.asarray(value)
        return array[keep] if array.ndim >= 1 and len(array) == demo.num_frames else value

    cameras = {}
    for name, cam in demo.cameras.items():
        pose = cam.T_world_camera
        pose = pose[keep] if pose is not None and np.ndim(pose) == 3 else pose
        depth = None if cam.depth is None else cam.depth[keep]
        cameras[name] = CameraRecording(cam.name, cam.rgb[keep], cam.K, pose, depth)
    robot = demo.robot
    if robot is not None:
        arrays = {name: per_frame(value) for name, value in robot.arrays.items()}
        robot = RobotTrack(robot.name, robot.joint_names, arrays, robot.action_space, robot.base_pose)
    segments = {}
    for name, (first, last) in demo.segments.items():
        if name != SCAN and before[last] > before[first]:
            segments[name] = [int(before[first]), int(before[last])]
    kept = Demonstration(demo.fps, demo.instruction, cameras, robot, demo.task, segments, demo.extra)
    return kept, [start, end]


def _flatten(demo: Demonstration, where: str, scan: str = "drop", depth: bool = False) -> _Episode:
    """Map one demonstration onto LeRobot columns (see the module docstring)."""
    demo, dropped = _frames_kept(demo, scan, where)
    robot, frames = demo.robot, demo.num_frames
    if robot is None:
        raise LeRobotFormatError(f"{where}: no robot track (robot_states.npz); LeRobot needs a state")
    source = "state" if "state" in robot.arrays else "joint_positions"
    state = _per_frame(robot.arrays[source], frames, f"{where}: robot array {source!r}")
    zero_filled = "actions" not in robot.arrays
    action = _per_frame(robot.arrays.get("actions", np.zeros((frames, 7))), frames, f"{where}: 'actions'")
    state = state.reshape(frames, -1).astype(np.float32)
    action = action.reshape(frames, -1).astype(np.float32)
    extras, skipped = {}, []
    for name, value in robot.arrays.items():
        value = np.asarray(value)
        if name in (source, "actions"):
            continue
        if value.ndim in (1, 2) and len(value) == frames and value.dtype.kind in "biuf":
            extras[name] = value
        else:
            skipped.append(name)
    if scan == "mark":
        marks = np.zeros(frames, np.uint8)
        if SCAN in demo.segments:
            marks[slice(*demo.segments[SCAN])] = 1
        extras[SCAN_COLUMN.removeprefix(EXTRA_PREFIX)] = marks
    videos, depths, cameras = {}, {}, {}
    for name, cam in demo.cameras.items():
        if "/" in name or cam.rgb.ndim != 4 or len(cam.rgb) != frames or cam.rgb.dtype != np.uint8:
            raise LeRobotFormatError(
                f"{where}: camera {name!r} needs a name without '/' and {frames}×H×W×3 "
                f"uint8 frames, got {cam.rgb.shape} {cam.rgb.dtype}"
            )
        videos[IMAGE_PREFIX + name] = cam.rgb
        if depth and cam.depth is not None:
            if np.shape(cam.depth) != cam.rgb.shape[:3]:
                raise LeRobotFormatError(
                    f"{where}: camera {name!r} has depth {np.shape(cam.depth)}, not {cam.rgb.shape[:3]}"
                )
            depths[IMAGE_PREFIX + name + DEPTH_SUFFIX] = np.asarray(cam.depth, dtype=np.float32)
        cameras[name] = {"K": np.asarray(cam.K).tolist(), "width": cam.width, "height": cam.height}
        if cam.T_world_camera is not None:
            cameras[name]["T_world_camera"] = np.asarray(cam.T_world_camera).tolist()
    ee = robot.action_space in (None, "ee_delta") and action.shape[1] == len(EE_DELTA_NAMES)
    action_names = EE_DELTA_NAMES if ee else [f"action_{i}" for i in range(action.shape[1])]
    state_names = _state_names(robot, source, state.shape[1])
    features = {"observation.state": _feature("float32", [state.shape[1]], state_names)}
    features["action"] = _feature("float32", [action.shape[1]], action_names)
    for name, value in extras.items():
        features[EXTRA_PREFIX + name] = _feature(str(value.dtype), list(value.shape[1:]) or [1])
    robot_info = {"name": robot.name, "joint_names": list(robot.joint_names)}
    if robot.base_pose is not None:
        robot_info["base_pose"] = np.asarray(robot.base_pose, dtype=float).tolist()
    side = {"cameras": cameras, "robot": robot_info | {"action_space": robot.action_space}}
    side |= {"state_source": source, "action_zero_filled": zero_filled, "skipped_arrays": skipped}
    side["depth_dropped"] = [
        name for name, cam in demo.cameras.items() if cam.depth is not None and not depth
    ]
    side |= {"fps": demo.fps, "task": demo.task, "segments": demo.segments, "extra": demo.extra}
    side |= {"scan": scan} | ({"scan_dropped": dropped} if dropped is not None else {})
    return _Episode(state, action, extras, videos, depths, demo.instruction, features, side)


def _features(ep: _Episode, fps: int, version: str) -> dict[str, dict[str, Any]]:
    features: dict[str, dict[str, Any]] = {}
    for key, frames in ep.videos.items():
        height, width = frames.shape[1] + frames.shape[1] % 2, frames.shape[2] + frames.shape[2] % 2
        info = {"video.height": height, "video.width": width, "video.fps": fps, "video.channels": 3}
        info |= {
            "video.codec": "h264",
            "video.pix_fmt": "yuv420p",
            "video.is_depth_map": False,
            "has_audio": False,
        }
        features[key] = _feature("video", [height, width, 3], ["height", "width", "channels"], info=info)
    for key, depth in ep.depths.items():
        height, width = depth.shape[1] + depth.shape[1] % 2, depth.shape[2] + depth.shape[2] % 2
        info = {"video.height": height, "video.width": width, "video.fps": fps, "video.channels": 1}
        info |= {"video.codec": "hevc", "video.pix_fmt": "gray12le", "is_depth_map": True}
        info |= {"video.g": KEYFRAME_INTERVAL, "video.extra_options": {"x265-params": "lossless=1"}}
        info |= {f"video.{name}": value for name, value in DEPTH_CODING.items()} | {"has_audio": False}
        features[key] = _feature("video", [height, width, 1], ["height", "width", "channels"], info=info)
    features |= json.loads(json.dumps(ep.features))
    features |= {name: _feature(dtype, [1]) for name, dtype in INDEX_FEATURES.items()}
    if version == V30:  # v3.0 gives every non-video feature its fps
        features |= {k: f | {"fps": fps} for k, f in features.items() if f["dtype"] != "video"}
    return features


def _prepare(
    demos: Sequence[Demonstration | Path], root: Path, version: str, scan: str = "drop", depth: bool = False
) -> tuple[list[_Episode], int, dict[str, dict[str, Any]] | None, dict[str, int]]:
    """Episodes, fps, features and {task: index}; all demonstrations must agree on fps and features."""
    if not demos:
        raise LeRobotFormatError(f"{root}: no demonstrations to export")
    episodes: list[_Episode] = []
    fps, features = 0, None
    for i, demo in enumerate(demos):
        where = f"demos[{i}]"
        if not isinstance(demo, Demonstration):
            where, demo = str(demo), read_demonstration(demo)
        if abs(demo.fps - round(demo.fps)) > 1e-6:
            raise LeRobotFormatError(f"{where}: LeRobot needs whole frames per second, got {demo.fps}")
        ep = _flatten(demo, where, scan, depth)
        if depth and not ep.depths:
            raise LeRobotFormatError(f"{where}: depth asked for, but no camera of it has depth")
        ep_features = _features(ep, int(round(demo.fps)), version)
        if features is None:
            fps, features = int(round(demo.fps)), ep_features
        elif ep_features != features:
            keys = sorted(k for k in {*features, *ep_features} if features.get(k) != ep_features.get(k))
            raise LeRobotFormatError(f"{where}: fps or features {keys} differ from the first demonstration's")
        episodes.append(ep)
    tasks = {task: i for i, task in enumerate(dict.fromkeys(ep.task for ep in episodes))}
    return episodes, fps, features, tasks


def _columns(ep: _Episode, episode: int, first: int, task: int, fps: int) -> dict[str, np.ndarray]:
    frames = len(ep.state)
    extras = {EXTRA_PREFIX + name: value for name, value in ep.extras.items()}
    indices: dict[str, np.ndarray] = {
        "timestamp": (np.arange(frames) / fps).astype(np.float32),
        "frame_index": np.arange(frames, dtype=np.int64),
        "episode_index": np.full(frames, episode, dtype=np.int64),
        "index": np.arange(first, first + frames, dtype=np.int64),
        "task_index": np.full(frames, task, dtype=np.int64),
    }
    return {"observation.state": ep.state, "action": ep.action} | extras | indices


def _table(columns: dict[str, np.ndarray]) -> pa.Table:
    """Scalars as plain columns, vectors as fixed-size lists (what ``datasets.Sequence`` writes)."""
    arrow = {name: pa.array(value.reshape(-1)) for name, value in columns.items()}
    for name, value in columns.items():
        if value.ndim == 2:
            arrow[name] = pa.FixedSizeListArray.from_arrays(arrow[name], value.shape[1])
    return pa.table(arrow)


def _image_sample(frames: np.ndarray) -> tuple[np.ndarray, int]:
    """At most ~100 frames, strided to ≤ ~150 pixels a side, as N×3 values in [0, 1]; and the frame count."""
    sample = frames[:: max(1, len(frames) // 100)]
    stride = max(1, max(sample.shape[1:3]) // 150)
    return sample[:, ::stride, ::stride].reshape(-1, 3) / 255.0, len(sample)


def _stats(values: np.ndarray, count: int, quantiles: bool, image: bool = False) -> dict[str, Any]:
    """LeRobot's per-feature stats; images per channel, shaped 3×1×1 in [0, 1]."""
    values = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
    stats = {"min": values.min(0), "max": values.max(0), "mean": values.mean(0), "std": values.std(0)}
    if quantiles:
        stats |= {name: np.quantile(values, q, axis=0) for name, q in QUANTILES.items()}
    shape = (3, 1, 1) if image else (-1,)
    return {name: value.reshape(shape).tolist() for name, value in stats.items()} | {"count": [count]}


def _depth_sample(depth: np.ndarray) -> tuple[np.ndarray, int]:
    """Like :func:`_image_sample`, for T×H×W metres: N×1 values (LeRobot keeps depth stats in metres)."""
    sample = depth[:: max(1, len(depth) // 100)]
    stride = max(1, max(sample.shape[1:3]) // 150)
    return sample[:, ::stride, ::stride].reshape(-1, 1), len(sample)


def _depth_stats(values: np.ndarray, count: int, quantiles: bool) -> dict[str, Any]:
    stats = _stats(values, count, quantiles)
    return {
        name: np.reshape(value, (1, 1, 1)).tolist() if name != "count" else value
        for name, value in stats.items()
    }


def _episode_stats(columns: dict[str, np.ndarray], ep: _Episode, quantiles: bool) -> dict[str, Any]:
    stats = {name: _stats(value, len(value), quantiles) for name, value in columns.items()}
    for key, frames in ep.videos.items():
        stats[key] = _stats(*_image_sample(frames), quantiles, image=True)
    for key, depth in ep.depths.items():
        stats[key] = _depth_stats(*_depth_sample(depth), quantiles)
    return stats


def _global_stats(all_columns: list[dict[str, np.ndarray]], episodes: list[_Episode]) -> dict[str, Any]:
    stats = {}
    for name in all_columns[0]:
        values = np.concatenate([columns[name] for columns in all_columns])
        stats[name] = _stats(values, len(values), quantiles=True)
    for key in episodes[0].videos:
        samples = [_image_sample(ep.videos[key]) for ep in episodes]
        pixels, count = np.concatenate([s[0] for s in samples]), sum(s[1] for s in samples)
        stats[key] = _stats(pixels, count, quantiles=True, image=True)
    for key in episodes[0].depths:
        samples = [_depth_sample(ep.depths[key]) for ep in episodes]
        values, count = np.concatenate([s[0] for s in samples]), sum(s[1] for s in samples)
        stats[key] = _depth_stats(values, count, quantiles=True)
    return stats


def _tasks_table(tasks: dict[str, int]) -> pa.Table:
    """``meta/tasks.parquet`` as LeRobot writes it: pandas reads it back indexed by ``task``."""
    kinds = [("task_index", "int64", "int64"), ("task", "unicode", "object")]
    columns = [
        {"name": n, "field_name": n, "pandas_type": p, "numpy_type": t, "metadata": None} for n, p, t in kinds
    ]
    pandas_meta = {
        "index_columns": ["task"],
        "column_indexes": [],
        "columns": columns,
        "pandas_version": "2.2.0",
    }
    table = pa.table({"task_index": pa.array(list(tasks.values()), pa.int64()), "task": list(tasks)})
    return table.replace_schema_metadata({"pandas": json.dumps(pandas_meta)})


def quantize_depth(depth: np.ndarray, coding: dict[str, Any] = DEPTH_CODING) -> np.ndarray:
    """Metres as LeRobot 0.6's 12-bit depth codes (uint16 in 0..4095): log or linear between
    ``depth_min`` and ``depth_max``; unknown depth (0, NaN, inf) and depth below the range is 0."""
    depth = np.asarray(depth, dtype=np.float64)
    valid = np.isfinite(depth) & (depth > 0)
    low, high, shift = float(coding["depth_min"]), float(coding["depth_max"]), float(coding["shift"])
    clean = np.where(valid, depth, low)
    if coding["use_log"]:
        norm = (np.log(clean + shift) - math.log(low + shift)) / (
            math.log(high + shift) - math.log(low + shift)
        )
    else:
        norm = (clean - low) / (high - low)
    codes = np.rint(np.clip(norm, 0.0, 1.0) * DEPTH_QMAX).astype(np.uint16)
    return np.where(valid, codes, 0).astype(np.uint16)


def dequantize_depth(codes: np.ndarray, coding: dict[str, Any] = DEPTH_CODING) -> np.ndarray:
    """The inverse of :func:`quantize_depth`, float32 metres; code 0 is unknown depth (0)."""
    codes = np.asarray(codes, dtype=np.float64)
    low, high, shift = float(coding["depth_min"]), float(coding["depth_max"]), float(coding["shift"])
    norm = codes / DEPTH_QMAX
    if coding["use_log"]:
        span = math.log(high + shift) - math.log(low + shift)
        depth = np.exp(norm * span + math.log(low + shift)) - shift
    else:
        depth = low + norm * (high - low)
    return np.where(codes > 0, depth, 0.0).astype(np.float32)


def write_depth_video(path: Path, depth: np.ndarray, fps: int, coding: dict[str, Any] = DEPTH_CODING) -> None:
    """T×H×W metres as a LeRobot 0.6 depth video: 12-bit codes, ``gray12le``, lossless HEVC, a
    keyframe every :data:`KEYFRAME_INTERVAL` frames, odd sizes padded to even (edge pixels)."""
    import av

    codes = quantize_depth(depth, coding)
    frames, height, width = codes.shape
    codes = np.pad(codes, ((0, 0), (0, height % 2), (0, width % 2)), mode="edge")
    options: dict[str, object] = {"x265-params": "lossless=1:log-level=error"}
    options |= {"g": str(KEYFRAME_INTERVAL), "keyint_min": str(KEYFRAME_INTERVAL)}
    with av.open(str(path), mode="w", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx265", rate=int(fps))
        stream.width, stream.height, stream.pix_fmt = codes.shape[2], codes.shape[1], "gray12le"
        stream.thread_count = 1
        stream.options = options
        for frame in codes:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="gray12le")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def is_depth_feature(feature: dict[str, Any]) -> bool:
    """Whether a video feature is a depth map (LeRobot 0.6's ``info.is_depth_map``, or the older
    ``video.is_depth_map`` inside ``info`` or ``video_info``)."""
    info, legacy = feature.get("info") or {}, feature.get("video_info") or {}
    return bool(
        info.get("is_depth_map") or info.get("video.is_depth_map") or legacy.get("video.is_depth_map")
    )


def _new_root(root: Path) -> Path:
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise FileExistsError(f"{root} already exists and is not empty; choose a new output folder")
    (root / "meta").mkdir(parents=True, exist_ok=True)
    return root


def _write_json(path: Path, data: Any, lines: bool = False) -> None:
    """JSON, or JSON lines (one object a line) when ``lines``."""
    rows, indent = (data, None) if lines else ([data], 4)
    path.write_text("".join(json.dumps(row, indent=indent, ensure_ascii=False) + "\n" for row in rows))


def _finish(root: Path, repo_id: str | None, episodes: list[_Episode], info: dict[str, Any]) -> Path:
    """Write the side file, then ``meta/info.json`` last, so a half-written dataset has none."""
    side = {"format": SIDE_FORMAT, "repo_id": repo_id or f"twinarena/{root.name}"}
    _write_json(root / SIDE_PATH, side | {"episodes": {str(i): ep.side for i, ep in enumerate(episodes)}})
    _write_json(root / INFO_PATH, info)
    return root


def _info(version: str, robot_type: str, fps: int, episodes: list[_Episode], tasks: dict) -> dict[str, Any]:
    info = {"codebase_version": version, "robot_type": robot_type, "total_episodes": len(episodes)}
    info |= {"total_frames": sum(len(ep.state) for ep in episodes), "total_tasks": len(tasks)}
    return info | {"chunks_size": CHUNKS_SIZE, "fps": fps, "splits": {"train": f"0:{len(episodes)}"}}


def export_lerobot_v3(
    demos: list[Demonstration] | list[Path],
    root: Path,
    *,
    robot_type: str = "franka_panda",
    repo_id: str | None = None,
    scan: str = "drop",
    depth: bool = False,
) -> Path:
    """Write ``demos`` as a LeRobotDataset v3.0 in ``root`` (new or empty); returns ``root``.

    ``repo_id`` defaults to ``twinarena/<root name>``; it is kept in ``meta/twinarena.json``.
    ``scan``: ``"drop"`` leaves the scan segment's frames out, ``"mark"`` keeps them marked in
    ``twinarena.scan``; ``depth``: write each camera's depth as a LeRobot 0.6 depth video (see
    the module docstring).
    """
    root = Path(root)
    episodes, fps, features, tasks = _prepare(demos, root, V30, scan, depth)
    _new_root(root)
    tables, all_columns, rows, start = [], [], [], 0
    for i, ep in enumerate(episodes):
        columns, frames = _columns(ep, i, start, tasks[ep.task], fps), len(ep.state)
        row: dict[str, Any] = {"episode_index": i, "tasks": [ep.task], "length": frames}
        row |= {"data/chunk_index": 0, "data/file_index": 0}
        row |= {"dataset_from_index": start, "dataset_to_index": start + frames}
        for key in [*ep.videos, *ep.depths]:  # each camera's episodes follow one another in one file
            parts = {"chunk_index": 0, "file_index": 0, "from_timestamp": start / fps}
            parts["to_timestamp"] = (start + frames) / fps
            row |= {f"videos/{key}/{name}": value for name, value in parts.items()}
        for name, stats in _episode_stats(columns, ep, quantiles=True).items():
            row |= {f"stats/{name}/{stat}": value for stat, value in stats.items()}
        rows.append(row | {"meta/episodes/chunk_index": 0, "meta/episodes/file_index": 0})
        tables.append(_table(columns))
        all_columns.append(columns)
        start += frames
    data_path = root / V30_DATA_PATH.format(chunk_index=0, file_index=0)
    data_path.parent.mkdir(parents=True)
    pq.write_table(pa.concat_tables(tables), data_path)
    for key in episodes[0].videos:
        video_path = root / V30_VIDEO_PATH.format(video_key=key, chunk_index=0, file_index=0)
        video_path.parent.mkdir(parents=True)
        joined = np.concatenate([ep.videos[key] for ep in episodes])
        write_mp4(video_path, joined, fps, keyframe_interval=KEYFRAME_INTERVAL)
    for key in episodes[0].depths:
        video_path = root / V30_VIDEO_PATH.format(video_key=key, chunk_index=0, file_index=0)
        video_path.parent.mkdir(parents=True)
        write_depth_video(video_path, np.concatenate([ep.depths[key] for ep in episodes]), fps)
    (root / V30_EPISODES_PATH).parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows), root / V30_EPISODES_PATH)
    pq.write_table(_tasks_table(tasks), root / "meta/tasks.parquet")
    _write_json(root / "meta/stats.json", _global_stats(all_columns, episodes))
    info = _info(V30, robot_type, fps, episodes, tasks) | {
        "data_files_size_in_mb": 100,
        "video_files_size_in_mb": 200,
    }
    info |= {"data_path": V30_DATA_PATH, "video_path": V30_VIDEO_PATH, "features": features}
    return _finish(root, repo_id, episodes, info)


def export_lerobot_v21(
    demos: list[Demonstration] | list[Path],
    root: Path,
    *,
    robot_type: str = "franka_panda",
    repo_id: str | None = None,
    scan: str = "drop",
) -> Path:
    """Write ``demos`` as a LeRobotDataset v2.1 (one parquet, and one MP4 per camera, per episode);
    ``scan`` as for :func:`export_lerobot_v3`. Depth is v3.0's (LeRobot 0.6's) alone."""
    root = Path(root)
    episodes, fps, features, tasks = _prepare(demos, root, V21, scan)
    _new_root(root)
    listing, stats_rows, start = [], [], 0
    for i, ep in enumerate(episodes):
        chunk, columns = i // CHUNKS_SIZE, _columns(ep, i, start, tasks[ep.task], fps)
        data_path = root / V21_DATA_PATH.format(episode_chunk=chunk, episode_index=i)
        data_path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(_table(columns), data_path)
        for key, frames in ep.videos.items():
            video_path = root / V21_VIDEO_PATH.format(episode_chunk=chunk, video_key=key, episode_index=i)
            video_path.parent.mkdir(parents=True, exist_ok=True)
            write_mp4(video_path, frames, fps, keyframe_interval=KEYFRAME_INTERVAL)
        listing.append({"episode_index": i, "tasks": [ep.task], "length": len(ep.state)})
        stats_rows.append({"episode_index": i, "stats": _episode_stats(columns, ep, quantiles=False)})
        start += len(ep.state)
    _write_json(root / "meta/episodes.jsonl", listing, lines=True)
    _write_json(root / "meta/episodes_stats.jsonl", stats_rows, lines=True)
    tasks_rows = [{"task_index": i, "task": task} for task, i in tasks.items()]
    _write_json(root / "meta/tasks.jsonl", tasks_rows, lines=True)
    videos, chunks = len(episodes) * len(episodes[0].videos), math.ceil(len(episodes) / CHUNKS_SIZE)
    info = _info(V21, robot_type, fps, episodes, tasks) | {"total_videos": videos, "total_chunks": chunks}
    info |= {"data_path": V21_DATA_PATH, "video_path": V21_VIDEO_PATH, "features": features}
    return _finish(root, repo_id, episodes, info)


# -- import --------------------------------------------------------------------------------------------
def _load_json(path: Path, lines: bool = False) -> Any:
    if not path.is_file():
        raise LeRobotFormatError(f"{path}: missing")
    try:
        text = path.read_text()
        return [json.loads(line) for line in text.splitlines() if line.strip()] if lines else json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise LeRobotFormatError(f"{path}: not valid JSON ({err})") from err


def _read_info(root: Path) -> dict[str, Any]:
    path = root / INFO_PATH
    if not path.is_file():
        raise LeRobotFormatError(f"{path}: missing; {root} is not a LeRobot dataset")
    info = _load_json(path)
    version = info.get("codebase_version") if isinstance(info, dict) else None
    if version not in (V30, V21, "v2.0"):
        raise LeRobotFormatError(f"{path}: unknown codebase_version {version!r}; expected v3.0 or v2.1")
    for key in ("fps", "features", "data_path"):
        if key not in info:
            raise LeRobotFormatError(f"{path}: missing {key!r}")
    return info


def _video_keys(info: dict[str, Any]) -> list[str]:
    return [key for key, feature in info["features"].items() if feature.get("dtype") == "video"]


def _episodes_v30(root: Path, info: dict[str, Any]) -> list[LeRobotEpisode]:
    files = sorted((root / "meta/episodes").glob("*/*.parquet"))
    if not files:
        raise LeRobotFormatError(f"{root / 'meta/episodes'}: no episode parquet files")
    episodes = []
    for path in files:
        names = [name for name in pq.read_schema(path).names if not name.startswith("stats/")]
        for row in pq.read_table(path, columns=names).to_pylist():
            try:
                chunk, file = row["data/chunk_index"], row["data/file_index"]
                data = root / info["data_path"].format(chunk_index=chunk, file_index=file)
                videos = {}
                for key in _video_keys(info):  # str.format ignores the parts a path does not name
                    at = {part: row[f"videos/{key}/{part}"] for part in VIDEO_PARTS}
                    file = root / info["video_path"].format(video_key=key, **at)
                    videos[key] = (file, float(at["from_timestamp"]), float(at["to_timestamp"]))
                task = (row.get("tasks") or [""])[0]
                episodes.append(LeRobotEpisode(row["episode_index"], row["length"], task, data, videos))
            except (KeyError, TypeError, AttributeError) as err:
                raise LeRobotFormatError(
                    f"{path}: episode row lacks {err} or info.json paths differ"
                ) from err
    return sorted(episodes, key=lambda e: e.index)


def _episodes_v21(root: Path, info: dict[str, Any]) -> list[LeRobotEpisode]:
    path, episodes = root / "meta/episodes.jsonl", []
    chunks, fps = int(info.get("chunks_size", CHUNKS_SIZE)), float(info["fps"])
    for row in _load_json(path, lines=True):
        try:
            index, length = int(row["episode_index"]), int(row["length"])
            where = {"episode_chunk": index // chunks, "episode_index": index}
            videos = {
                key: (root / info["video_path"].format(video_key=key, **where), 0.0, length / fps)
                for key in _video_keys(info)
            }
            data = root / info["data_path"].format(**where)
        except (KeyError, TypeError, ValueError) as err:
            raise LeRobotFormatError(f"{path}: episode entry lacks {err} or info.json paths differ") from err
        episodes.append(LeRobotEpisode(index, length, (row.get("tasks") or [""])[0], data, videos))
    return sorted(episodes, key=lambda e: e.index)


def list_episodes(root: Path) -> list[LeRobotEpisode]:
    """Every episode of the LeRobot dataset (v3.0 or v2.1) at ``root``, by episode index."""
    root = Path(root)
    info = _read_info(root)
    return _episodes_v30(root, info) if info["codebase_version"] == V30 else _episodes_v21(root, info)


def _column(table: pa.Table, name: str, path: Path) -> np.ndarray:
    """A column as T (scalars) or T×k (lists) numpy array."""
    if name not in table.column_names:
        raise LeRobotFormatError(f"{path}: column {name!r} missing (meta/info.json declares it)")
    column = table.column(name).combine_chunks()
    kind = column.type
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        return column.flatten().to_numpy(zero_copy_only=False).reshape(len(column), -1)
    return column.to_numpy(zero_copy_only=False)


def _nearest(times: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest of the sorted ``times`` to each target, and its distance."""
    right = np.clip(np.searchsorted(times, targets), 0, len(times) - 1)
    left = np.clip(right - 1, 0, len(times) - 1)
    pick = np.where(np.abs(times[left] - targets) <= np.abs(times[right] - targets), left, right)
    return pick, np.abs(times[pick] - targets)


def _decode_segment(
    path: Path, start: float, end: float, timestamps: np.ndarray, fps: float, pixels: str | None = "rgb24"
) -> np.ndarray:
    """The frames of ``path`` nearest to ``start + timestamps``, as ``pixels`` (None: the stream's
    own format, e.g. gray12le depth codes); decodes only around [start, end]."""
    import av

    if not path.is_file():
        raise LeRobotFormatError(f"{path}: missing video file")
    half, times, frames = 0.5 / fps, [], []
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            if start > half and stream.time_base:
                container.seek(int((start - half) / stream.time_base), stream=stream, backward=True)
            for frame in container.decode(stream):
                if frame.time is None or frame.time < start - half:
                    continue
                if frame.time > end + half:
                    break
                times.append(frame.time)
                frames.append(frame.to_ndarray(format=pixels) if pixels else frame.to_ndarray())
    except (av.error.FFmpegError, IndexError) as err:
        raise LeRobotFormatError(f"{path}: not a readable video ({err})") from err
    if not frames:
        raise LeRobotFormatError(f"{path}: no frames for this episode between {start:.3f} s and {end:.3f} s")
    pick, error = _nearest(np.asarray(times), start + timestamps.astype(np.float64))
    if error.max() > half + 1e-4:
        worst = int(error.argmax())
        raise LeRobotFormatError(f"{path}: no frame near {start + timestamps[worst]:.3f} s (frame {worst})")
    return np.stack(frames)[pick]


def _camera(name: str, frames: np.ndarray, side: dict[str, Any]) -> CameraRecording:
    """A camera from decoded frames and its side-file entry (true size, K, poses) if any."""
    height, width = side.get("height", frames.shape[1]), side.get("width", frames.shape[2])
    frames = frames[:, :height, :width]  # H.264 pads odd sizes to even
    K = (
        np.asarray(side["K"], dtype=float)
        if "K" in side
        else intrinsics_from_fovy(GUESSED_FOVY_DEG, frames.shape[2], frames.shape[1])
    )
    pose = np.asarray(side["T_world_camera"], dtype=float) if "T_world_camera" in side else None
    return CameraRecording(name, np.ascontiguousarray(frames), K, pose)


def _robot(table: pa.Table, info: dict[str, Any], side: dict[str, Any], path: Path) -> RobotTrack:
    features, robot = info["features"], side.get("robot", {})
    state = _column(table, "observation.state", path).astype(np.float32)
    arrays = {"joint_positions": state} | ({"state": state} if side.get("state_source") == "state" else {})
    if "action" in features and not side.get("action_zero_filled", False):
        arrays["actions"] = _column(table, "action", path).astype(np.float32)
    for key in features:
        if (
            key.startswith(EXTRA_PREFIX) and key != SCAN_COLUMN
        ):  # what our exporter kept: joint_positions, ...
            arrays[key.removeprefix(EXTRA_PREFIX)] = _column(table, key, path)
    names = features["observation.state"].get("names")
    names = next(iter(names.values()), None) if isinstance(names, dict) else names
    joint_names = robot.get("joint_names") or (list(names) if isinstance(names, list) else [])
    name = robot.get("name") or info.get("robot_type") or "unknown"
    base = robot.get("base_pose")
    return RobotTrack(
        str(name),
        [str(n) for n in joint_names],
        arrays,
        robot.get("action_space"),
        None if base is None else np.asarray(base, dtype=float),
    )


# -- the sidecar: real robot logs -----------------------------------------------------------------
@dataclass(frozen=True)
class _Sidecar:
    """A sidecar checked against the dataset: state columns per robot joint, the gripper column with
    its (open, closed) readings, per-camera entries, the wrist camera and the base pose."""

    path: Path
    robot: str
    columns: dict[str, int]  # robot joint -> observation.state column
    gripper: tuple[int, float, float] | None  # column, reading when open, reading when closed
    cameras: dict[str, dict[str, Any]]
    wrist: str | None
    base_pose: np.ndarray | None


def _state_names_of(info: dict[str, Any]) -> list[str]:
    names = info["features"]["observation.state"].get("names")
    names = next(iter(names.values()), None) if isinstance(names, dict) else names
    return [str(n) for n in names] if isinstance(names, list) else []


def _state_column(ref: Any, names: list[str], dim: int, path: Path, what: str) -> int:
    """The ``observation.state`` column a sidecar names: a state name, else a column index."""
    if isinstance(ref, str) and ref in names:
        return names.index(ref)
    index = ref if isinstance(ref, int) and not isinstance(ref, bool) else None
    if isinstance(ref, str) and ref.isdecimal():
        index = int(ref)
    if index is not None and 0 <= index < dim:
        return index
    raise LeRobotFormatError(
        f"{path}: {what} {ref!r} is not a state name of the dataset; observation.state has "
        f"{names or 'no names'} (or columns 0..{dim - 1})"
    )


def _number(value: Any, path: Path, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise LeRobotFormatError(f"{path}: {what} must be a number, got {value!r}")
    return float(value)


def _read_sidecar(path: Path, info: dict[str, Any], cameras: list[str]) -> _Sidecar:
    """The sidecar at ``path``, checked against the dataset's state names and cameras."""
    data = _load_json(path)
    if not isinstance(data, dict):
        raise LeRobotFormatError(f"{path}: a sidecar is a JSON object, got {type(data).__name__}")
    unknown = [key for key in data if key not in SIDECAR_KEYS]
    if unknown:
        raise LeRobotFormatError(
            f"{path}: unknown key {unknown[0]!r}; a sidecar has {', '.join(SIDECAR_KEYS)}"
        )
    robot = data.get("robot")
    if robot not in KNOWN_ROBOTS or robot not in ROBOT_MODELS:
        raise LeRobotFormatError(
            f"{path}: robot {robot!r} has no model; known robots: {', '.join(KNOWN_ROBOTS)}"
        )
    model = ROBOT_MODELS[robot]
    names = _state_names_of(info)
    dim = int(np.prod(info["features"]["observation.state"].get("shape") or [len(names)]))
    joints = data.get("joints")
    if not isinstance(joints, dict) or not joints:
        raise LeRobotFormatError(
            f"{path}: joints must map state names to the robot's joints, e.g. "
            f'{{"{names[0] if names else "0"}": "{model.arm[0]}"}}, got {joints!r}'
        )
    columns: dict[str, int] = {}
    for ref, joint in joints.items():
        if joint not in model.joints:
            raise LeRobotFormatError(
                f"{path}: joints.{ref}: {joint!r} is not a joint of {robot}; "
                f"its joints: {', '.join(model.joints)}"
            )
        if joint in columns:
            raise LeRobotFormatError(f"{path}: joints maps two state columns to {joint}")
        columns[joint] = _state_column(ref, names, dim, path, "joints: state")
    missing = [joint for joint in model.arm if joint not in columns]
    if missing:
        raise LeRobotFormatError(
            f"{path}: joints maps no state to {', '.join(missing)}; each arm joint needs one"
        )
    gripper = None
    if "gripper" in data:
        spec = data["gripper"]
        if not isinstance(spec, dict) or "state" not in spec or set(spec) - {"state", "open", "closed"}:
            raise LeRobotFormatError(
                f'{path}: gripper must be {{"state": name, "closed": reading, "open": reading}}, got {spec!r}'
            )
        if any(finger in columns for finger in model.fingers):
            raise LeRobotFormatError(f"{path}: gripper and joints both set the fingers; keep one")
        opened = _number(spec.get("open", 0.0), path, "gripper.open")
        closed = _number(spec.get("closed", 1.0), path, "gripper.closed")
        if opened == closed:
            raise LeRobotFormatError(f"{path}: gripper.open and gripper.closed are both {opened:g}")
        gripper = (_state_column(spec["state"], names, dim, path, "gripper.state"), opened, closed)
    entries = data.get("cameras", {})
    if not isinstance(entries, dict) or not all(isinstance(e, dict) for e in entries.values()):
        raise LeRobotFormatError(f"{path}: cameras must map camera names to objects, got {entries!r}")
    for name, entry in entries.items():
        if name not in cameras:
            raise LeRobotFormatError(
                f"{path}: cameras.{name} is not a camera of the dataset; it has {cameras}"
            )
        extra = [key for key in entry if key not in SIDECAR_CAMERA_KEYS]
        sizes_alone = ("width" in entry or "height" in entry) and "K" not in entry
        if extra or sizes_alone or sum(key in entry for key in ("K", "fovy_deg", "fovx_deg")) > 1:
            raise LeRobotFormatError(
                f'{path}: cameras.{name} takes one of "K", "fovy_deg", "fovx_deg" (and "width", "height" '
                f"with K), got {sorted(entry)}"
            )
    wrist = data.get("wrist_camera")
    if wrist is not None and wrist not in cameras:
        raise LeRobotFormatError(
            f"{path}: wrist_camera {wrist!r} is not a camera of the dataset; it has {cameras}"
        )
    base = data.get("base_pose")
    if base is not None:
        try:
            base = np.asarray(base, dtype=float)
        except (TypeError, ValueError) as err:
            raise LeRobotFormatError(f"{path}: base_pose must be a 4×4 matrix ({err})") from err
        problem = "not 4×4" if base.shape != (4, 4) else rigid_problem(base)
        if problem:
            raise LeRobotFormatError(f"{path}: base_pose is not a rigid 4×4 transform: {problem}")
    return _Sidecar(path, robot, columns, gripper, entries, wrist, base)


def _sidecar_K(entry: dict[str, Any], name: str, width: int, height: int, where: str) -> np.ndarray | None:
    """A camera's intrinsics from its sidecar entry (None: none given), for its width×height video;
    a K for another image size (its ``width``, ``height``) is scaled to the video's."""
    if "fovy_deg" in entry or "fovx_deg" in entry:
        key = "fovy_deg" if "fovy_deg" in entry else "fovx_deg"
        fov = _number(entry[key], Path(where), f"cameras.{name}.{key}")
        if not 0 < fov < 180:
            raise LeRobotFormatError(
                f"{where}: cameras.{name}.{key} must lie in (0, 180) degrees, got {fov:g}"
            )
        if key == "fovy_deg":
            return intrinsics_from_fovy(fov, width, height)
        K = intrinsics_from_fovy(90.0, width, height)
        K[0, 0] = K[1, 1] = 0.5 * width / math.tan(math.radians(fov) / 2)
        return K
    if "K" not in entry:
        return None
    try:
        K = np.asarray(entry["K"], dtype=float)
    except (TypeError, ValueError):
        K = np.zeros(0)
    if K.shape != (3, 3) or not np.all(np.isfinite(K)) or not (K[0, 0] > 0 and K[1, 1] > 0):
        raise LeRobotFormatError(
            f"{where}: cameras.{name}.K must be a 3×3 matrix with positive focal lengths, got {entry['K']!r}"
        )
    size = entry.get("width", width), entry.get("height", height)
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size):
        raise LeRobotFormatError(
            f"{where}: cameras.{name}: width and height must be pixel counts, got {size}"
        )
    scale = np.diag([width / size[0], height / size[1], 1.0])
    return scale @ K


def _check_principal_point(K: np.ndarray, width: int, height: int, where: str, video: str) -> None:
    """Intrinsics whose principal point lies in the width×height image (edges included); else one line."""
    cx, cy = float(K[0, 2]), float(K[1, 2])
    if not (0 <= cx <= width and 0 <= cy <= height):
        raise LeRobotFormatError(
            f"{where}: the intrinsics disagree with the video size: principal point ({cx:g}, {cy:g}) lies "
            f"outside the {width}×{height} frames of {video}"
        )


def _sidecar_robot(table: pa.Table, sidecar: _Sidecar, path: Path) -> RobotTrack:
    """The robot's joint positions in its own columns (fingers from the gripper reading), the
    gripper as 0 open … 1 closed, and the dataset's state and action as they were."""
    model = ROBOT_MODELS[sidecar.robot]
    state = _column(table, "observation.state", path).astype(np.float32).reshape(table.num_rows, -1)
    used = [*sidecar.columns.values(), *([sidecar.gripper[0]] if sidecar.gripper else [])]
    if max(used) >= state.shape[1]:
        raise LeRobotFormatError(
            f"{path}: observation.state has {state.shape[1]} columns; {sidecar.path} uses column {max(used)}"
        )
    joints = np.full((len(state), len(model.joints)), model.finger_open, np.float32)
    for i, joint in enumerate(model.joints):
        if joint in sidecar.columns:
            joints[:, i] = state[:, sidecar.columns[joint]]
    arrays = {"joint_positions": joints, "observation_state": state}
    if sidecar.gripper is not None:
        column, opened, closed = sidecar.gripper
        fraction = np.clip((state[:, column] - opened) / (closed - opened), 0.0, 1.0).astype(np.float32)
        joints[:, len(model.arm) :] = (model.finger_open * (1.0 - fraction))[:, None]
        arrays["gripper_position"] = fraction[:, None]
    if "action" in table.column_names:
        arrays["actions"] = _column(table, "action", path).astype(np.float32)
    return RobotTrack(sidecar.robot, model.joints, arrays, None, sidecar.base_pose)


def _camera_name(key: str) -> str:
    """A video key's camera: ``observation.images.front`` → ``front``."""
    return key.removeprefix(IMAGE_PREFIX) if key.startswith(IMAGE_PREFIX) else key.rsplit(".", 1)[-1]


def import_lerobot(root: Path, episode_index: int, *, sidecar: Path | None = None) -> Demonstration:
    """Read episode ``episode_index`` of a LeRobot v3.0 or v2.1 dataset as a :class:`Demonstration`.

    Cameras are named after the video key's last part (``observation.images.front`` → ``front``);
    ``joint_positions`` ← observation.state and ``actions`` ← action, unless ``meta/twinarena.json``
    and ``twinarena.*`` columns (our own exports) restore the original arrays, K, poses and sizes.
    A sidecar (``sidecar``, else ``<root>/meta/robot_log.json`` when there is one) maps a real robot
    log onto our robot model: ``joint_positions`` in the robot's joints (fingers from the gripper
    reading), ``gripper_position`` (0 open … 1 closed), the sidecar's intrinsics, exterior cameras
    first and the wrist camera last (``extra["wrist_camera"]``); the state as it was stays as
    ``observation_state``. ``extra["sidecar"]`` names the file; ``extra["intrinsics_guessed"]`` lists
    the cameras whose K was guessed.
    """
    root = Path(root)
    info = _read_info(root)
    features = info["features"]
    if "observation.state" not in features:
        raise LeRobotFormatError(f"{root / INFO_PATH}: feature 'observation.state' missing")
    if not _video_keys(info):
        raise LeRobotFormatError(f"{root / INFO_PATH}: no video feature; a demonstration needs a camera")
    depth_keys = [key for key in _video_keys(info) if is_depth_feature(features[key])]
    colour_keys = [key for key in _video_keys(info) if key not in depth_keys]
    if sidecar is None and (root / SIDECAR_PATH).is_file():
        sidecar = root / SIDECAR_PATH
    mapping = None
    if sidecar is not None:
        mapping = _read_sidecar(Path(sidecar), info, [_camera_name(key) for key in colour_keys])
    episodes = {ep.index: ep for ep in list_episodes(root)}
    if episode_index not in episodes:
        listing = root / ("meta/episodes" if info["codebase_version"] == V30 else "meta/episodes.jsonl")
        known = f"{min(episodes)}..{max(episodes)}" if episodes else "none"
        raise LeRobotFormatError(f"{listing}: episode {episode_index} out of range (episodes {known})")
    ep = episodes[episode_index]
    if not ep.data_file.is_file():
        raise LeRobotFormatError(f"{ep.data_file}: missing data file for episode {episode_index}")
    try:
        rows = [("episode_index", "==", episode_index)]
        table = pq.read_table(
            ep.data_file, filters=rows if "episode_index" in pq.read_schema(ep.data_file).names else None
        )
    except (pa.ArrowInvalid, OSError) as err:
        raise LeRobotFormatError(f"{ep.data_file}: unreadable parquet ({err})") from err
    if table.num_rows != ep.length:
        raise LeRobotFormatError(
            f"{ep.data_file}: {table.num_rows} rows for episode {episode_index}, not {ep.length}"
        )
    if ep.length == 0:
        raise LeRobotFormatError(f"{ep.data_file}: episode {episode_index} has no frames")
    fps = float(info["fps"])
    has_time = "timestamp" in table.column_names
    timestamps = _column(table, "timestamp", ep.data_file) if has_time else np.arange(ep.length) / fps
    side_file = _load_json(root / SIDE_PATH) if (root / SIDE_PATH).is_file() else {}
    side = side_file.get("episodes", {}).get(str(episode_index), {})
    side_cameras, cameras = side.get("cameras", {}), {}
    guessed = []
    for key in colour_keys:
        name = _camera_name(key)
        frames = _decode_segment(*ep.videos[key], timestamps.astype(np.float64), fps)
        camera = _camera(name, frames, side_cameras.get(name, {}))
        K = None
        if mapping is not None:
            K = _sidecar_K(
                mapping.cameras.get(name, {}), name, camera.width, camera.height, str(mapping.path)
            )
            if K is not None:
                where = f"{mapping.path}: cameras.{name}"
                _check_principal_point(K, camera.width, camera.height, where, str(ep.videos[key][0]))
                camera.K = K
        if K is None and "K" not in side_cameras.get(name, {}):
            guessed.append(name)
        cameras[name] = camera
    for key in depth_keys:  # observation.images.<camera>_depth: that camera's depth
        name = key.removeprefix(IMAGE_PREFIX).removesuffix(DEPTH_SUFFIX)
        if name not in cameras:
            continue
        codes = _decode_segment(*ep.videos[key], timestamps.astype(np.float64), fps, pixels=None)
        camera = cameras[name]
        if codes.ndim != 3 or codes.shape[1] < camera.height or codes.shape[2] < camera.width:
            raise LeRobotFormatError(
                f"{ep.videos[key][0]}: depth frames {codes.shape} do not cover camera {name!r}"
            )
        feature_info = features[key].get("info") or {}
        coding = {k: feature_info.get(f"video.{k}", v) for k, v in DEPTH_CODING.items()}
        camera.depth = dequantize_depth(codes[:, : camera.height, : camera.width], coding)
    extra = dict(side.get("extra") or {})
    if mapping is None:
        robot = _robot(table, info, side, ep.data_file)
        extra |= {"intrinsics_guessed": True} if guessed else {}
    else:
        robot = _sidecar_robot(table, mapping, ep.data_file)
        wrists = [name for name in cameras if "wrist" in name.lower()]
        wrist = mapping.wrist or (wrists[0] if len(wrists) == 1 else None)
        if wrist is not None:  # exterior cameras first, the wrist camera last
            cameras = {name: cam for name, cam in cameras.items() if name != wrist} | {wrist: cameras[wrist]}
            extra[WRIST_CAMERA_KEY] = wrist
        extra |= {"sidecar": str(mapping.path)} | ({"intrinsics_guessed": guessed} if guessed else {})
    return Demonstration(
        fps=fps,
        instruction=ep.task,
        cameras=cameras,
        robot=robot,
        task=side.get("task"),
        segments=side.get("segments") or {},
        extra=extra,
    )
