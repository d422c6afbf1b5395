"""Robot-log recordings (benchmark/scenes/robot_logs.py): exterior and wrist cameras, RGB only,
intrinsics only, no sweep, the base frame as the world; what a real log lacks is in the ground
truth, in that frame, and checked against the pictures."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fuzzing import run_cli

from twin.demonstration import read_demonstration
from twin.transforms import quat_to_mat


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    out = tmp_path_factory.mktemp("robot_log") / "logs"
    result = run_cli("record", "--scene", "tray_pick", "--style", "robot-log", "-o", str(out), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["success"]
    return out / "episode_000000"


def test_a_robot_log_has_only_what_real_logs_have(log):
    demo = read_demonstration(log)
    assert demo.fps == 15.0
    assert list(demo.cameras) == ["exterior_1", "exterior_2", "wrist"]
    for camera in demo.cameras.values():
        assert camera.rgb.shape[1:] == (180, 320, 3)
        assert camera.T_world_camera is None and camera.depth is None
    assert not list(log.rglob("depth*"))
    assert "T_world_camera" not in json.loads((log / "camera.json").read_text())
    assert demo.robot.base_pose is None and demo.robot.action_space == "joint_velocity"
    assert demo.segments == {"execution": [0, demo.num_frames]}
    arrays = demo.robot.arrays
    assert arrays["joint_positions"].shape == (demo.num_frames, 9)
    assert arrays["gripper_position"].shape == (demo.num_frames, 1)
    assert arrays["actions"].shape == (demo.num_frames, 8)
    moving = np.abs(np.diff(arrays["joint_positions"][:5, :7], axis=0)).max()
    assert moving > 1e-3  # the robot moves from the first frames on


def test_joint_velocity_actions_integrate_to_the_recorded_joints(log):
    arrays = read_demonstration(log).robot.arrays
    truth = json.loads((log / "ground_truth" / "objects.json").read_text())
    period = truth["control_period_s"]
    start = arrays["joint_positions"][0, :7]
    targets = start + np.cumsum(arrays["actions"][:, :7] * period, axis=0)
    # the servos lag the targets a little while moving; at the end (held still) they meet
    assert np.allclose(targets[-1], arrays["joint_positions"][-1, :7], atol=0.02)


def test_ground_truth_cameras_in_the_base_frame_see_the_objects_where_they_are(log):
    demo = read_demonstration(log)
    poses = np.load(log / "ground_truth" / "object_poses.npz")
    cube = poses["red_cube"][0]
    for name in ("exterior_1", "exterior_2"):
        T_base_camera = poses[f"T_base_camera_{name}"]  # noqa: N806
        camera = demo.cameras[name]
        p = np.linalg.inv(T_base_camera) @ np.r_[cube[:3], 1.0]
        u, v, w = camera.K @ p[:3]
        col, row = int(round(u / w)), int(round(v / w))
        pixel = camera.rgb[0, row - 1 : row + 2, col - 1 : col + 2].reshape(-1, 3).mean(axis=0)
        assert pixel[0] > 120 and pixel[1] < 90 and pixel[2] < 90, (name, pixel)  # red
    # the cube rests on a table that stands at the base's height (z ~ 0 in the base frame)
    assert abs(cube[2] - 0.02) < 0.01 and np.allclose(quat_to_mat(cube[3:])[2, 2], 1.0, atol=1e-2)
    assert poses["T_base_camera_wrist"].shape == (demo.num_frames, 4, 4)
