"""Each known bad input of the shared formats is refused in one line naming the file and the fault:
demonstration folders, twin packages, camera poses that are not rigid, too few scan frames."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from fuzzing import assert_one_error_line, run_cli
from small_inputs import small_demo, small_package

from twin.build import BuildConfig, TwinBuildError, prepare_scan
from twin.demonstration import (
    DemonstrationError,
    check_demonstration,
    read_demonstration,
    write_demonstration,
)
from twin.package import TwinPackageError, check_twin, read_twin
from twin.transforms import pose_matrix, quat_to_mat, rigid_problem

ROTATION = quat_to_mat(np.array([0.9, 0.1, -0.3, 0.2]))


@pytest.fixture(scope="module")
def sound_demo(tmp_path_factory) -> Path:
    return write_demonstration(tmp_path_factory.mktemp("bad_inputs") / "demo", small_demo())


@pytest.fixture
def demo(sound_demo, tmp_path) -> Path:
    """A copy of the sound demonstration, to damage."""
    return Path(shutil.copytree(sound_demo, tmp_path / "demo"))


@pytest.fixture
def package(tmp_path) -> Path:
    return small_package(tmp_path / "twin")


def _edit(path: Path, **values) -> None:
    data = json.loads(path.read_text())
    for key, value in values.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    path.write_text(json.dumps(data))


def _refused(folder: Path, *words: str) -> str:
    with pytest.raises(DemonstrationError) as err:
        read_demonstration(folder)
    message = str(err.value)
    assert "\n" not in message
    for word in words:
        assert word in message, message
    return message


# -- rigid transforms ------------------------------------------------------------------------------
def test_rigid_problem_accepts_rotations_and_refuses_the_rest():
    pose = pose_matrix(ROTATION, [0.3, -0.2, 1.1])
    assert rigid_problem(pose) is None and rigid_problem(np.stack([pose, np.eye(4)])) is None
    assert rigid_problem(np.round(pose, 6)) is None  # rounding in a JSON file is fine
    assert "scaled or sheared" in rigid_problem(pose_matrix(1000 * ROTATION, [0, 0, 0]))
    shear = np.eye(3)
    shear[0, 1] = 0.5
    assert "scaled or sheared" in rigid_problem(pose_matrix(shear, [0, 0, 0]))
    assert "determinant -1, expected 1" in rigid_problem(pose_matrix(np.diag([1.0, 1.0, -1.0]), [0, 0, 0]))
    projective = np.eye(4)
    projective[3, 2] = 0.1
    assert "last row" in rigid_problem(projective)
    assert rigid_problem(np.stack([pose, 2 * pose])).startswith("pose 1: ")


# -- demonstration folders -------------------------------------------------------------------------
def test_a_truncated_depth_file_is_refused(demo):
    depth = demo / "depth.npz"
    depth.write_bytes(depth.read_bytes()[: depth.stat().st_size // 2])
    _refused(demo, str(depth), "unreadable (truncated or corrupt")


@pytest.mark.parametrize("fps", ["abc", 0, -10, math.nan, math.inf, 1e12, {}, True, [10]])
def test_a_bad_frame_rate_is_refused(demo, fps):
    _edit(demo / "meta.json", fps=fps)
    _refused(demo, "meta.json: fps must be a number in (0, 1000], got")


@pytest.mark.parametrize(
    ("span", "words"),
    [
        ([0, 100], "segments.scan [0, 100] ends past the end of the video (6 frames)"),
        ([4, 1], "segments.scan [4, 1] is empty or reversed"),
        ([3, 3], "segments.scan [3, 3] is empty or reversed"),
        ([-2, 3], "segments.scan [-2, 3] is empty or reversed"),
        ([0.5, 3], "segments.scan must be [start, end] frame numbers"),
        ("0-3", "segments.scan must be [start, end] frame numbers"),
    ],
)
def test_a_bad_segment_is_refused(demo, span, words):
    _edit(demo / "meta.json", segments={"scan": span, "execution": [3, 6]})
    _refused(demo, "meta.json", words)


def test_an_unknown_robot_is_refused(demo):
    _edit(demo / "robot.json", name="ur5")
    _refused(demo, "robot.json: unknown robot 'ur5'; known robots: franka_panda")
    _edit(demo / "robot.json", name=None)
    _refused(demo, "robot.json: missing the robot's 'name'")


def test_an_imported_demonstration_is_checked_too():
    demo = small_demo()
    demo.robot.name = "so100"
    with pytest.raises(DemonstrationError, match="lerobot-root: robot: unknown robot 'so100'"):
        check_demonstration(demo, "lerobot-root")
    demo = small_demo()
    demo.primary.T_world_camera = demo.primary.T_world_camera * 3
    with pytest.raises(DemonstrationError, match="camera 'front' T_world_camera: not a rigid transform"):
        check_demonstration(demo, "lerobot-root")


@pytest.mark.parametrize(
    ("pose", "words"),
    [
        (pose_matrix(1000 * ROTATION, [0, 0, 1]).tolist(), "scaled or sheared"),
        (pose_matrix(np.diag([1.0, -1.0, -1.0]) @ np.diag([1, 1, -1.0]), [0, 0, 1]).tolist(), "determinant"),
        ([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 2]], "last row"),
        ([np.eye(4).tolist()] * 5 + [(np.eye(4) * 2).tolist()], "pose 5: "),
    ],
)
def test_a_camera_pose_that_is_not_rigid_is_refused(demo, pose, words):
    _edit(demo / "camera.json", T_world_camera=pose)
    _refused(demo, "camera.json: T_world_camera: not a rigid transform (rotation + translation)", words)


def test_a_robot_base_that_is_not_rigid_is_refused(demo):
    _edit(demo / "robot.json", base_pose=(np.eye(4) * 5).tolist())
    _refused(demo, "robot.json: base_pose: not a rigid transform")


@pytest.mark.parametrize("name", ["../elsewhere", "/etc", "a/b", "..", "x" * 300])
def test_a_camera_outside_the_folder_is_refused(demo, name):
    (demo.parent / "elsewhere").mkdir()
    _edit(demo / "meta.json", cameras=["front", name])
    _refused(demo, "meta.json: camera", "must name a sub-folder of the demonstration")


def test_links_out_of_the_folder_are_refused(demo, tmp_path):
    outside = Path(shutil.copytree(demo / "wrist", tmp_path / "outside"))
    shutil.rmtree(demo / "wrist")
    (demo / "wrist").symlink_to(outside, target_is_directory=True)
    _refused(demo, str(demo / "wrist"), f"resolves to {outside}, outside {demo}")
    (demo / "wrist").unlink()
    shutil.copytree(outside, demo / "wrist")
    (demo / "camera.json").rename(tmp_path / "camera.json")
    (demo / "camera.json").symlink_to(tmp_path / "camera.json")
    _refused(demo, "camera.json: resolves to", "outside")


def test_links_inside_the_folder_are_followed(demo):
    (demo / "depth.npz").rename(demo / "depth-copy.npz")
    (demo / "depth.npz").symlink_to(demo / "depth-copy.npz")
    assert read_demonstration(demo).primary.depth is not None


@pytest.mark.parametrize("seconds", [math.nan, -1, 0, 1e12, "20"])
def test_a_bad_episode_length_in_a_demonstration_is_refused(demo, seconds):
    _edit(demo / "meta.json", task={"family": "pick_place", "max_seconds": seconds})
    _refused(demo, "meta.json: task: max_seconds must be a number of seconds in (0, 600]")


# -- twin packages ---------------------------------------------------------------------------------
def _twin_refused(folder: Path, *words: str) -> None:
    with pytest.raises(TwinPackageError) as err:
        read_twin(folder)
    message = str(err.value)
    assert "\n" not in message
    for word in words:
        assert word in message, message
    assert check_twin(folder) == [message]


@pytest.mark.parametrize(
    ("pose", "words"),
    [
        ((np.eye(4) * 3).tolist(), "last row"),
        (pose_matrix(3 * ROTATION, [0, 0, 1]).tolist(), "scaled or sheared"),
        (pose_matrix(-np.eye(3), [0, 0, 1]).tolist(), "determinant -1"),
    ],
)
def test_a_twin_camera_pose_that_is_not_rigid_is_refused(package, pose, words):
    path = package / "calibration.json"
    calibration = json.loads(path.read_text())
    calibration["cameras"]["front"]["T_world_camera"] = pose
    path.write_text(json.dumps(calibration))
    _twin_refused(package, "calibration.json: cameras.front.T_world_camera: not a rigid transform", words)


@pytest.mark.parametrize("seconds", [math.nan, -5, 0, 1e12, "abc", None])
def test_a_bad_episode_length_in_a_twin_is_refused(package, seconds):
    _edit(package / "task.json", max_seconds=seconds if seconds is not None else [])
    _twin_refused(package, "task.json: max_seconds must be a number of seconds in (0, 600], got")


def _manifest_edit(package: Path, change) -> None:
    manifest = json.loads((package / "twin.json").read_text())
    change(manifest)
    (package / "twin.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            lambda m: m["files"].update(scene="../scene.xml"),
            "files.scene: '../scene.xml' points outside the package",
        ),
        (
            lambda m: m["files"].update(task="/etc/hostname"),
            "files.task: '/etc/hostname' points outside the package",
        ),
        (lambda m: m["files"].update(task=["task.json"]), "files.task: expected a relative path"),
        (
            lambda m: m["objects"][0].update(splats="objects/../../x.ply"),
            "objects[0].splats: 'objects/../../x.ply'",
        ),
        (
            lambda m: m["objects"][0].update(mesh="/tmp/red.obj"),
            "objects[0].mesh: '/tmp/red.obj' points outside",
        ),
    ],
)
def test_paths_out_of_a_twin_package_are_refused(package, change, words):
    _manifest_edit(package, change)
    _twin_refused(package, "twin.json", words)


def test_links_out_of_a_twin_package_are_refused(package, tmp_path):
    outside = tmp_path / "red.ply"
    (package / "objects" / "red.ply").rename(outside)
    (package / "objects" / "red.ply").symlink_to(outside)
    _twin_refused(package, "objects/red.ply: resolves to", f"{outside}, outside")


def test_check_twin_reports_a_stray_link_out_of_the_package(package, tmp_path):
    (tmp_path / "secret").write_text("not part of the twin")
    (package / "notes.txt").symlink_to(tmp_path / "secret")
    assert check_twin(package) == [
        f"{package / 'notes.txt'}: a link to {tmp_path / 'secret'}, outside the package"
    ]


# -- twin build ------------------------------------------------------------------------------------
@pytest.mark.parametrize("frames", [-1, 0, 2, 4])
def test_too_few_scan_frames_say_the_minimum(frames):
    with pytest.raises(TwinBuildError, match=f"scan frames: {frames} is too few; a build needs at least 5"):
        BuildConfig(max_scan_frames=frames)
    assert BuildConfig(max_scan_frames=5).min_scan_frames == 5


def test_a_scan_segment_too_short_to_build_from_is_refused():
    demo = small_demo()
    with pytest.raises(TwinBuildError, match="demo: the scan has 3 frames; a build needs at least 5"):
        prepare_scan(demo, BuildConfig(), "demo")


def test_too_few_scan_frames_is_one_error_line_from_the_cli(sound_demo, tmp_path):
    out = run_cli("twin", "build", str(sound_demo), "-o", str(tmp_path / "twin"), "--scan-frames", "2")
    assert_one_error_line(out, "scan frames: 2 is too few; a build needs at least 5")
    assert not (tmp_path / "twin").exists()


def test_a_bad_frame_rate_is_one_error_line_from_the_cli(demo, tmp_path):
    _edit(demo / "meta.json", fps="abc")
    out = run_cli("twin", "build", str(demo), "-o", str(tmp_path / "twin"))
    assert_one_error_line(out, "meta.json: fps must be a number in (0, 1000], got 'abc'")
    assert not (tmp_path / "twin").exists()
