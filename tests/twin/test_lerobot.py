"""LeRobotDataset v3.0 / v2.1 export and import (twin/lerobot.py) on small synthetic demonstrations.

Most tests read exports made with ``scan="mark"`` (every frame kept, the sweep marked), so frame
counts are the demonstrations'; the default, ``scan="drop"``, and depth videos have tests of their own."""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from twin.demonstration import CameraRecording, Demonstration, RobotTrack, write_demonstration
from twin.lerobot import (
    LeRobotFormatError,
    export_lerobot_v3,
    export_lerobot_v21,
    import_lerobot,
    list_episodes,
)

FPS = 15
JOINTS = [f"panda_joint{i}" for i in range(1, 8)] + ["panda_finger_joint1", "panda_finger_joint2"]
INSTRUCTIONS = ["put the red cube in the bowl", "stack the blue cube"]
FRONT, WRIST = "observation.images.front", "observation.images.wrist"


def _frames(count: int, height: int, width: int, colour: tuple[int, int, int]) -> np.ndarray:
    """A soft gradient with a 10-pixel square that moves every frame (H.264 loses little of it)."""
    yy, xx = np.mgrid[0:height, 0:width]
    red, green = 60 + xx * 120 // (width - 1), 60 + yy * 120 // (height - 1)
    base = np.stack([red, green, np.full_like(xx, 110)], axis=-1).astype(np.uint8)
    frames = np.repeat(base[None], count, axis=0)
    for t in range(count):
        x, y = 2 + (3 * t) % (width - 12), 2 + (2 * t) % (height - 12)
        frames[t, y : y + 10, x : x + 10] = colour
    return frames


def _demo(seed: int, count: int, instruction: str, actions: bool = True, state: bool = True) -> Demonstration:
    rng = np.random.default_rng(seed)
    pose = np.eye(4)
    pose[:3, 3] = rng.normal(size=3)
    poses = np.repeat(np.eye(4)[None], count, axis=0)
    poses[:, :3, 3] = rng.normal(size=(count, 3))
    arrays = {"joint_positions": rng.normal(size=(count, 9)), "actions_joint": rng.normal(size=(count, 8))}
    if state:
        arrays["state"] = rng.normal(size=(count, 11))
    if actions:
        arrays["actions"] = rng.normal(size=(count, 7))
    front_K = np.array([[60.0, 0, 32], [0, 60, 24], [0, 0, 1]])
    wrist_K = np.array([[50.0, 0, 31.5], [0, 51, 23.5], [0, 0, 1]])
    depth = np.ones((count, 48, 64), np.float32)
    cameras = {
        "front": CameraRecording("front", _frames(count, 48, 64, (220, 60, 60)), front_K, pose, depth),
        # odd size: H.264 pads it to 64×48, import crops it back
        "wrist": CameraRecording("wrist", _frames(count, 47, 63, (60, 60, 220)), wrist_K, poses),
    }
    return Demonstration(
        fps=FPS,
        instruction=instruction,
        cameras=cameras,
        robot=RobotTrack("franka_panda", JOINTS, arrays, "ee_delta"),
        task={"name": "pick_place", "seed": seed},
        segments={"scan": [0, 3], "execution": [3, count]},
        extra={"recorder": "synthetic"},
    )


@pytest.fixture(scope="module")
def demos() -> list[Demonstration]:
    return [_demo(1, 12, INSTRUCTIONS[0]), _demo(2, 9, INSTRUCTIONS[1])]


@pytest.fixture(scope="module")
def v3_root(demos, tmp_path_factory) -> Path:
    return export_lerobot_v3(demos, tmp_path_factory.mktemp("v3") / "pick", scan="mark")


@pytest.fixture(scope="module")
def v21_root(demos, tmp_path_factory) -> Path:
    return export_lerobot_v21(demos, tmp_path_factory.mktemp("v21") / "pick", scan="mark")


def _copy(root: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(root, tmp_path / root.name))


def _edit_info(root: Path, edit) -> None:
    path = root / "meta/info.json"
    info = json.loads(path.read_text())
    edit(info)
    path.write_text(json.dumps(info))


def test_v3_writes_the_documented_files(v3_root: Path) -> None:
    for rel in [
        "meta/info.json",
        "meta/tasks.parquet",
        "meta/stats.json",
        "meta/episodes/chunk-000/file-000.parquet",
        "data/chunk-000/file-000.parquet",
        f"videos/{FRONT}/chunk-000/file-000.mp4",
        f"videos/{WRIST}/chunk-000/file-000.mp4",
    ]:
        assert (v3_root / rel).is_file(), rel


def test_v3_videos_have_a_short_keyframe_interval(v3_root: Path) -> None:
    """Training samples frames at random: every video seeks to any frame within 2 decoded frames."""
    import av

    from twin.lerobot import KEYFRAME_INTERVAL

    for key in (FRONT, WRIST):
        with av.open(str(v3_root / f"videos/{key}/chunk-000/file-000.mp4")) as container:
            flags = [p.is_keyframe for p in container.demux(container.streams.video[0]) if p.size]
        assert len(flags) > KEYFRAME_INTERVAL and all(flags[::KEYFRAME_INTERVAL]), key


def test_v3_info_json(v3_root: Path) -> None:
    info = json.loads((v3_root / "meta/info.json").read_text())
    assert info["codebase_version"] == "v3.0" and info["fps"] == FPS and info["robot_type"] == "franka_panda"
    assert (info["total_episodes"], info["total_frames"], info["total_tasks"]) == (2, 21, 2)
    assert info["splits"] == {"train": "0:2"} and info["chunks_size"] == 1000
    assert info["data_path"] == "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
    assert info["video_path"] == "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
    features = info["features"]
    state, action = features["observation.state"], features["action"]
    assert state["dtype"] == "float32" and state["shape"] == [11] and state["names"][:7] == JOINTS[:7]
    assert action["dtype"] == "float32" and action["shape"] == [7] and action["names"][-1] == "gripper"
    front, wrist = features[FRONT], features[WRIST]
    assert front["dtype"] == "video" and front["shape"] == [48, 64, 3] and wrist["shape"] == [48, 64, 3]
    assert front["names"] == ["height", "width", "channels"]
    assert front["info"]["video.fps"] == FPS and front["info"]["video.codec"] == "h264"
    assert {"video.height", "video.width", "video.pix_fmt", "video.channels", "has_audio"} <= set(
        front["info"]
    )
    index_features = {"timestamp": "float32", "frame_index": "int64", "episode_index": "int64"}
    for name, dtype in (index_features | {"index": "int64", "task_index": "int64"}).items():
        assert features[name]["dtype"] == dtype and features[name]["shape"] == [1]


def test_v3_data_episodes_tasks_and_stats(v3_root: Path) -> None:
    data = pq.read_table(v3_root / "data/chunk-000/file-000.parquet")
    assert data.num_rows == 21
    columns = [
        "observation.state",
        "action",
        "timestamp",
        "frame_index",
        "episode_index",
        "index",
        "task_index",
    ]
    assert set(columns) <= set(data.column_names)
    assert not any(name.startswith("observation.images") for name in data.column_names)
    np.testing.assert_array_equal(data.column("index").to_numpy(), np.arange(21))
    np.testing.assert_array_equal(data.column("episode_index").to_numpy(), [0] * 12 + [1] * 9)
    np.testing.assert_allclose(data.column("timestamp").to_numpy()[12:14], [0.0, 1 / FPS], rtol=1e-6)

    episodes = pq.read_table(v3_root / "meta/episodes/chunk-000/file-000.parquet").to_pydict()
    assert episodes["episode_index"] == [0, 1] and episodes["length"] == [12, 9]
    assert episodes["tasks"] == [[INSTRUCTIONS[0]], [INSTRUCTIONS[1]]]
    assert episodes["dataset_from_index"] == [0, 12] and episodes["dataset_to_index"] == [12, 21]
    assert episodes["data/chunk_index"] == [0, 0] and episodes["data/file_index"] == [0, 0]
    for key in (FRONT, WRIST):
        assert episodes[f"videos/{key}/chunk_index"] == episodes[f"videos/{key}/file_index"] == [0, 0]
        np.testing.assert_allclose(episodes[f"videos/{key}/from_timestamp"], [0.0, 12 / FPS])
        np.testing.assert_allclose(episodes[f"videos/{key}/to_timestamp"], [12 / FPS, 21 / FPS])
    assert len(episodes["stats/observation.state/mean"][0]) == 11
    assert np.shape(episodes[f"stats/{FRONT}/mean"][0]) == (3, 1, 1)

    assert pq.read_table(v3_root / "meta/tasks.parquet").to_pydict() == {
        "task_index": [0, 1],
        "task": INSTRUCTIONS,
    }
    stats = json.loads((v3_root / "meta/stats.json").read_text())
    assert {"min", "max", "mean", "std", "count"} <= set(stats["action"]) and stats["action"]["count"] == [21]
    wrist = stats[WRIST]
    assert np.shape(wrist["std"]) == (3, 1, 1) and 0 <= np.min(wrist["min"]) <= np.max(wrist["max"]) <= 1


def test_v3_tasks_parquet_reads_in_pandas_indexed_by_task(v3_root: Path) -> None:
    pd = pytest.importorskip("pandas")
    tasks = pd.read_parquet(v3_root / "meta/tasks.parquet")
    assert tasks.index.name == "task" and int(tasks.loc[INSTRUCTIONS[1]].task_index) == 1


def test_v21_writes_the_legacy_layout(v21_root: Path) -> None:
    info = json.loads((v21_root / "meta/info.json").read_text())
    assert info["codebase_version"] == "v2.1" and info["total_videos"] == 4 and info["total_chunks"] == 1
    assert info["data_path"] == "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet"
    for rel in [
        "meta/episodes.jsonl",
        "meta/tasks.jsonl",
        "meta/episodes_stats.jsonl",
        "data/chunk-000/episode_000001.parquet",
        f"videos/chunk-000/{WRIST}/episode_000001.mp4",
    ]:
        assert (v21_root / rel).is_file(), rel
    lines = (v21_root / "meta/episodes.jsonl").read_text().splitlines()
    assert json.loads(lines[1]) == {"episode_index": 1, "tasks": [INSTRUCTIONS[1]], "length": 9}
    stats = json.loads((v21_root / "meta/episodes_stats.jsonl").read_text().splitlines()[0])
    assert stats["episode_index"] == 0 and stats["stats"]["observation.state"]["count"] == [12]


@pytest.mark.parametrize("layout", ["v3", "v21"])
def test_round_trip(layout: str, demos, v3_root: Path, v21_root: Path) -> None:
    root = v3_root if layout == "v3" else v21_root
    listed = [(e.index, e.length, e.task) for e in list_episodes(root)]
    assert listed == [(0, 12, INSTRUCTIONS[0]), (1, 9, INSTRUCTIONS[1])]
    for index, demo in enumerate(demos):
        back = import_lerobot(root, index)
        assert (back.instruction, back.fps, back.num_frames) == (demo.instruction, FPS, demo.num_frames)
        assert (back.task, back.segments, back.extra) == (demo.task, demo.segments, demo.extra)
        assert list(back.cameras) == ["front", "wrist"]
        got, want = back.robot.arrays, demo.robot.arrays
        assert got["state"].dtype == np.float32 and got["actions"].dtype == np.float32
        np.testing.assert_array_equal(got["state"], want["state"].astype(np.float32))
        np.testing.assert_array_equal(got["actions"], want["actions"].astype(np.float32))
        np.testing.assert_array_equal(got["joint_positions"], want["joint_positions"])  # exact: float64 kept
        np.testing.assert_array_equal(got["actions_joint"], want["actions_joint"])
        assert (back.robot.name, back.robot.joint_names, back.robot.action_space) == (
            "franka_panda",
            JOINTS,
            "ee_delta",
        )
        for name, cam in demo.cameras.items():
            camera = back.cameras[name]
            assert camera.rgb.shape == cam.rgb.shape and camera.depth is None
            np.testing.assert_array_equal(camera.K, cam.K)
            np.testing.assert_array_equal(camera.T_world_camera, cam.T_world_camera)
            errors = np.abs(camera.rgb[:, None].astype(float) - cam.rgb[None]).mean(axis=(2, 3, 4))
            assert np.diag(errors).max() < 3.0, (layout, index, name, np.diag(errors))
            np.testing.assert_array_equal(errors.argmin(axis=1), np.arange(len(errors)))  # no frame shifted


def test_export_from_folders_without_state_or_actions(tmp_path: Path) -> None:
    demo = _demo(3, 6, "wipe the table", actions=False, state=False)
    folder = write_demonstration(tmp_path / "demo", demo)
    root = export_lerobot_v3([folder], tmp_path / "ds", repo_id="lab/wipe")
    features = json.loads((root / "meta/info.json").read_text())["features"]
    assert features["observation.state"]["shape"] == [9] and features["observation.state"]["names"] == JOINTS
    assert features["action"]["shape"] == [7]
    data = pq.read_table(root / "data/chunk-000/file-000.parquet")
    assert not np.any(np.stack(data.column("action").to_pylist()))
    assert json.loads((root / "meta/twinarena.json").read_text())["repo_id"] == "lab/wipe"
    back = import_lerobot(root, 0)
    assert sorted(back.robot.arrays) == ["actions_joint", "joint_positions"]
    want = demo.robot.arrays["joint_positions"][3:].astype(np.float32)  # after the scan: frames 3..5
    np.testing.assert_array_equal(back.robot.arrays["joint_positions"], want)


def test_import_of_a_foreign_dataset_guesses_intrinsics(v21_root: Path, tmp_path: Path) -> None:
    root = _copy(v21_root, tmp_path)  # without our side file and twinarena.* features
    (root / "meta/twinarena.json").unlink()
    _edit_info(root, lambda info: [info["features"].pop(k) for k in list(info["features"]) if "twin" in k])
    back = import_lerobot(root, 1)
    assert back.extra == {"intrinsics_guessed": True} and back.task is None
    focal = 24 / math.tan(math.radians(30))
    np.testing.assert_allclose(back.cameras["front"].K, [[focal, 0, 32], [0, focal, 24], [0, 0, 1]])
    assert back.cameras["front"].T_world_camera is None
    assert back.cameras["wrist"].rgb.shape == (9, 48, 64, 3)  # as encoded: the true size is unknown
    assert sorted(back.robot.arrays) == ["actions", "joint_positions"]
    assert back.robot.arrays["joint_positions"].shape == (9, 11)  # observation.state, as stored
    assert back.robot.joint_names == JOINTS[:7] + ["gripper_opening", "tcp_x", "tcp_y", "tcp_z"]


def test_export_rejects_mismatched_demonstrations_and_used_folders(demos, tmp_path: Path) -> None:
    other = _demo(4, 5, "x")
    other.fps = 30
    with pytest.raises(LeRobotFormatError, match=re.escape("demos[1]: fps or features")):
        export_lerobot_v3([demos[0], other], tmp_path / "a")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "keep.txt").write_text("x")
    with pytest.raises(FileExistsError):
        export_lerobot_v21(demos, tmp_path / "b")


def _drop_file(rel: str):
    return lambda root: (root / rel).unlink()


def _declare(feature: str):
    return lambda root: _edit_info(
        root, lambda info: info["features"].update({feature: {"dtype": "float32"}})
    )


BAD = {  # name: (layout, change to a copy, episode, pattern the error must match)
    "no info": ("v3", _drop_file("meta/info.json"), 0, r"meta/info\.json: missing"),
    "version": (
        "v3",
        lambda root: _edit_info(root, lambda info: info.update(codebase_version="v9.9")),
        0,
        r"info\.json: unknown codebase_version 'v9\.9'",
    ),
    "no state feature": (
        "v3",
        lambda root: _edit_info(root, lambda info: info["features"].pop("observation.state")),
        0,
        r"info\.json: feature 'observation\.state' missing",
    ),
    "no column": (
        "v3",
        _declare("twinarena.torque"),
        0,
        r"file-000\.parquet: column 'twinarena\.torque' missing",
    ),
    "no data": (
        "v3",
        _drop_file("data/chunk-000/file-000.parquet"),
        1,
        r"chunk-000/file-000\.parquet: missing",
    ),
    "no video": (
        "v3",
        _drop_file(f"videos/{WRIST}/chunk-000/file-000.mp4"),
        1,
        r"file-000\.mp4: missing video",
    ),
    "v3 range": ("v3", lambda root: None, 5, r"meta/episodes: episode 5 out of range \(episodes 0\.\.1\)"),
    "v21 range": ("v21", lambda root: None, -1, r"episodes\.jsonl: episode -1 out of range"),
    "v21 listing": ("v21", _drop_file("meta/episodes.jsonl"), 0, r"meta/episodes\.jsonl: missing"),
    "v21 video": (
        "v21",
        _drop_file(f"videos/chunk-000/{WRIST}/episode_000001.mp4"),
        1,
        r"episode_000001\.mp4: missing video",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_datasets_raise_errors_naming_the_file(case: str, v3_root: Path, v21_root: Path, tmp_path: Path):
    layout, change, episode, pattern = BAD[case]
    root = _copy(v3_root if layout == "v3" else v21_root, tmp_path)
    change(root)
    with pytest.raises(LeRobotFormatError, match=pattern):
        import_lerobot(root, episode)


def test_recorded_demonstration_round_trips_through_lerobot_v3(recorded_demo, tmp_path):
    """The recorder's real output (Panda joints, ee_delta actions, two cameras) survives export."""
    from twin.demonstration import read_demonstration

    original = read_demonstration(recorded_demo)
    export_lerobot_v3([recorded_demo], tmp_path / "ds", scan="mark")  # every frame: an archive
    back = import_lerobot(tmp_path / "ds", 0)
    assert back.instruction == original.instruction and back.segments == original.segments
    assert set(back.cameras) == set(original.cameras)
    for key in ("joint_positions", "actions"):
        np.testing.assert_array_equal(back.robot.arrays[key], original.robot.arrays[key])
    np.testing.assert_allclose(back.primary.K, original.primary.K)
    assert np.abs(back.primary.rgb.astype(int) - original.primary.rgb).mean() < 3


def _rows(root: Path, column: str) -> np.ndarray:
    return np.stack(pq.read_table(root / "data/chunk-000/file-000.parquet").column(column).to_pylist())


def test_the_scan_segment_is_left_out_by_default(demos, tmp_path: Path) -> None:
    """The camera sweep is no demonstration: its frames (3 of each) are not exported as actions to
    train on; the episode starts after it and the other segments are renumbered."""
    root = export_lerobot_v3(demos, tmp_path / "ds")
    info = json.loads((root / "meta/info.json").read_text())
    assert (info["total_frames"], [e.length for e in list_episodes(root)]) == (9 + 6, [9, 6])
    assert "twinarena.scan" not in info["features"]
    want = np.concatenate([d.robot.arrays["actions"][3:] for d in demos]).astype(np.float32)
    np.testing.assert_array_equal(_rows(root, "action"), want)
    np.testing.assert_array_equal(_rows(root, "frame_index").ravel(), [*range(9), *range(6)])
    side = json.loads((root / "meta/twinarena.json").read_text())["episodes"]["0"]
    assert (side["scan"], side["scan_dropped"], side["segments"]) == ("drop", [0, 3], {"execution": [0, 9]})
    back = import_lerobot(root, 0)
    assert back.num_frames == 9 and back.segments == {"execution": [0, 9]}
    np.testing.assert_array_equal(back.robot.arrays["actions"], want[:9])
    np.testing.assert_array_equal(
        back.cameras["wrist"].T_world_camera, demos[0].cameras["wrist"].T_world_camera[3:]
    )
    sent, got = demos[0].cameras["front"].rgb[3:].astype(float), back.cameras["front"].rgb.astype(float)
    errors = np.abs(got[:, None] - sent[None]).mean(axis=(2, 3, 4))
    np.testing.assert_array_equal(errors.argmin(axis=1), np.arange(9))  # the frames after the sweep
    np.testing.assert_array_equal(back.cameras["front"].depth, None)  # depth not asked for


def test_the_scan_segment_can_be_kept_marked(v3_root: Path, demos) -> None:
    marks = _rows(v3_root, "twinarena.scan").ravel()
    np.testing.assert_array_equal(marks, [1, 1, 1] + [0] * 9 + [1, 1, 1] + [0] * 6)
    assert (
        json.loads((v3_root / "meta/info.json").read_text())["features"]["twinarena.scan"]["dtype"] == "uint8"
    )
    back = import_lerobot(v3_root, 1)
    assert "scan" not in back.robot.arrays and back.segments == demos[1].segments


def test_only_known_scan_modes(demos, tmp_path: Path) -> None:
    with pytest.raises(LeRobotFormatError, match="scan must be one of drop, mark, not 'skip'"):
        export_lerobot_v3(demos, tmp_path / "ds", scan="skip")
    whole = _demo(5, 4, "x")
    whole.segments = {"scan": [0, 4]}
    with pytest.raises(LeRobotFormatError, match=r"the scan segment \[0, 4\] is the whole video"):
        export_lerobot_v3([whole], tmp_path / "ds2")


def _depth_demo(seed: int, count: int) -> Demonstration:
    demo = _demo(seed, count, INSTRUCTIONS[0])
    rng = np.random.default_rng(seed)
    depth = rng.uniform(0.2, 3.0, (count, 48, 64)).astype(np.float32)
    depth[:, :5, :5] = 0.0  # unknown
    demo.cameras["front"].depth = depth
    return demo


def test_depth_round_trips_as_lerobot_06s_depth_video(tmp_path: Path) -> None:
    import av

    from twin.lerobot import DEPTH_CODING, KEYFRAME_INTERVAL

    demos = [_depth_demo(6, 10), _depth_demo(7, 8)]
    root = export_lerobot_v3(demos, tmp_path / "ds", depth=True)
    key = "observation.images.front_depth"
    info = json.loads((root / "meta/info.json").read_text())
    feature = info["features"][key]
    assert feature["dtype"] == "video" and feature["shape"] == [48, 64, 1]
    assert feature["info"]["is_depth_map"] is True and feature["info"]["video.pix_fmt"] == "gray12le"
    assert feature["info"]["video.codec"] == "hevc" and feature["info"]["video.channels"] == 1
    assert {feature["info"][f"video.{k}"] == v for k, v in DEPTH_CODING.items()} == {True}
    assert "observation.images.wrist_depth" not in info["features"]  # the wrist camera has no depth
    video = root / f"videos/{key}/chunk-000/file-000.mp4"
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.pix_fmt) == ("hevc", "gray12le")
        flags = [p.is_keyframe for p in container.demux(stream) if p.size]
    assert len(flags) == 7 + 5 and all(flags[::KEYFRAME_INTERVAL])  # scan frames left out
    episodes = pq.read_table(root / "meta/episodes/chunk-000/file-000.parquet").to_pydict()
    np.testing.assert_allclose(episodes[f"videos/{key}/from_timestamp"], [0.0, 7 / FPS])
    assert np.shape(episodes[f"stats/{key}/mean"][0]) == (1, 1, 1)
    stats = json.loads((root / "meta/stats.json").read_text())[key]
    assert stats["min"][0][0][0] >= 0 and 2.0 < stats["max"][0][0][0] <= 3.0  # metres, not [0, 1]
    low, high, shift = DEPTH_CODING["depth_min"], DEPTH_CODING["depth_max"], DEPTH_CODING["shift"]
    step = (math.log(high + shift) - math.log(low + shift)) / 4095  # one code, in log(depth + shift)
    for index, demo in enumerate(demos):
        back = import_lerobot(root, index)
        sent, got = demo.cameras["front"].depth[3:], back.cameras["front"].depth
        assert got.shape == sent.shape and got.dtype == np.float32 and back.cameras["wrist"].depth is None
        np.testing.assert_array_equal(got[:, :5, :5], 0.0)  # unknown stays unknown
        # lossless codes: at most half a code from the sent depth
        bound = 0.5 * step * (sent + shift) * 1.001 + 1e-6
        assert np.all(np.abs(got - sent)[:, 5:, 5:] <= bound[:, 5:, 5:])


def test_depth_needs_a_camera_with_depth(demos, tmp_path: Path) -> None:
    bare = _demo(8, 6, "x")
    bare.cameras["front"].depth = None
    with pytest.raises(LeRobotFormatError, match="depth asked for, but no camera of it has depth"):
        export_lerobot_v3([bare], tmp_path / "ds", depth=True)


def test_depth_codes_match_lerobots_log_scale() -> None:
    """quantize/dequantize are LeRobot 0.6's defaults: 0.01 m is code 0 (unknown here), 10 m is
    4095, and codes are spaced evenly in log(depth + 3.5 m)."""
    from twin.lerobot import dequantize_depth, quantize_depth

    metres = np.array([0.0, np.nan, 0.01, 10.0, 20.0, 1.0])
    codes = quantize_depth(metres)
    assert codes.tolist()[:5] == [0, 0, 0, 4095, 4095]
    want = round((math.log(4.5) - math.log(3.51)) / (math.log(13.5) - math.log(3.51)) * 4095)
    assert codes[5] == want
    back = dequantize_depth(codes)
    assert back[0] == 0 and abs(back[3] - 10.0) < 1e-4 and abs(back[5] - 1.0) < 0.002
