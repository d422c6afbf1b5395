"""Cameras of a robot log calibrated from the robot (twin/robot_cameras.py), against the recorder's
ground truth: a static camera's pose from the arm's silhouettes, the wrist camera from forward
kinematics and its mount, and one clear line for a log that cannot be calibrated."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from fuzzing import run_cli

from twin import robot_cameras as rc
from twin.demonstration import read_demonstration, write_demonstration
from twin.scene.robot_view import RobotView
from twin.transforms import pose_error


@pytest.fixture(scope="module")
def log(robot_log):
    return robot_log


@pytest.fixture(scope="module")
def demo(log):
    return read_demonstration(log)


@pytest.fixture(scope="module")
def truth(log):
    return dict(np.load(log / "ground_truth" / "object_poses.npz"))


def view_of(demo):
    return RobotView(demo.robot.name, np.eye(4), demo.robot.joint_names)


def test_the_wrist_camera_follows_the_hand(demo, truth):
    joints = demo.robot.arrays["joint_positions"]
    cam = demo.cameras[demo.wrist_camera]
    found = rc.calibrate_wrist_camera(view_of(demo), "wrist", cam.rgb, cam.K, joints)
    assert found.T_world_camera.shape == (demo.num_frames, 4, 4)
    assert found.iou >= 0.4, found.summary()  # the rendered hand lies on the still pixels
    for frame in (0, demo.num_frames // 2, demo.num_frames - 1):
        metres, degrees = pose_error(found.T_world_camera[frame], truth["T_base_camera_wrist"][frame])
        assert metres <= 0.005 and degrees <= 1.5


def test_a_wrong_mount_fits_the_hand_worse(demo):
    joints = demo.robot.arrays["joint_positions"]
    cam = demo.cameras["wrist"]
    view = view_of(demo)
    right = rc.calibrate_wrist_camera(view, "wrist", cam.rgb, cam.K, joints)
    wrong_mount = rc.perturbed(rc.default_wrist_mount(), np.array([0.0, 0.0, 0.0, 0.0, 0.02, 0.0]))
    wrong = rc.calibrate_wrist_camera(view, "wrist", cam.rgb, cam.K, joints, mount=wrong_mount)
    assert wrong.method == "given mount" and np.allclose(wrong.mount, wrong_mount)
    assert wrong.iou < right.iou - 0.1


def test_a_static_camera_is_found_from_the_arm(demo, truth):
    joints = demo.robot.arrays["joint_positions"]
    cam = demo.cameras["exterior_2"]
    found = rc.calibrate_static_camera(view_of(demo), "exterior_2", cam.rgb, cam.K, joints)
    metres, degrees = pose_error(found.T_world_camera, truth["T_base_camera_exterior_2"])
    # the bound; the polish on the arm's own silhouettes reaches 0.9 cm and 0.5° here
    assert metres <= 0.015 and degrees <= 1.5, (metres, degrees, found.summary())
    assert found.summary()["arm_silhouette_fit"] > 0.8
    assert found.summary()["quality"] in ("good", "fair")


def test_predicted_changes_and_overlap():
    masks = np.zeros((3, 4, 4), dtype=bool)
    masks[:, 0, 0] = True  # always covered: the median shows the arm, nothing changes
    masks[1, 2, 2] = True  # covered once: a change in that frame
    changes = rc.predicted_changes(masks)
    assert changes.sum() == 1 and changes[1, 2, 2]
    assert rc.silhouette_iou(changes, changes, unexplained=1.0) == 1.0
    observed = changes.copy()
    observed[0, 3, 3] = True  # a change the arm does not explain costs a little
    assert 0.7 < rc.silhouette_iou(changes, observed) < 1.0
    shifted = np.roll(observed, (1, 1), axis=(1, 2))
    assert rc.best_shift(changes, shifted)[1:] == (1, 1)


def test_the_background_leaves_out_the_posed_arm_and_the_silhouettes_are_what_differs():
    rng = np.random.default_rng(0)
    scene = rng.integers(0, 256, (8, 10, 3)).astype(np.uint8)
    rgb = np.repeat(scene[None], 5, axis=0)
    arm = np.zeros((5, 8, 10), dtype=bool)
    arm[:3, 2:5, 2:5] = True  # the arm stands there in most frames: a plain median shows the arm
    arm[3, 0, 9] = True
    arm[4, 6:8, 8:10] = True
    rgb[arm] = (255, 0, 255)
    backdrop, known = rc.background(rgb, arm, margin=0)
    assert known.all()
    np.testing.assert_array_equal(backdrop, scene)
    assert not np.array_equal(np.median(rgb, axis=0), scene)  # what the posed arm buys
    seen = rc.arm_silhouettes(rgb, backdrop, known, threshold=25.0)
    np.testing.assert_array_equal(seen[0], arm[0])  # a 3×3 block survives the speck filter
    assert not seen[3].any()  # a lone changed pixel is a speck
    # where the grown arm covers every frame, nothing is known and nothing counts
    backdrop, known = rc.background(rgb, np.ones_like(arm), margin=1)
    assert not known.any() and not rc.arm_silhouettes(rgb, backdrop, known, 25.0).any()


def test_a_still_arm_is_one_line(demo):
    joints = np.repeat(demo.robot.arrays["joint_positions"][:1], demo.num_frames, axis=0)
    cam = demo.cameras["exterior_1"]
    with pytest.raises(rc.RobotCalibrationError, match="'exterior_1': the arm hardly moves"):
        rc.calibrate_static_camera(view_of(demo), "exterior_1", cam.rgb, cam.K, joints)


def test_an_arm_never_in_view_is_one_line(demo):
    joints = demo.robot.arrays["joint_positions"]
    cam = demo.cameras["exterior_1"]
    rgb = np.repeat(cam.rgb[:1], demo.num_frames, axis=0)  # a camera facing away: nothing moves
    with pytest.raises(rc.RobotCalibrationError, match="'exterior_1': the arm is never in view"):
        rc.calibrate_static_camera(view_of(demo), "exterior_1", rgb, cam.K, joints)


@pytest.mark.parametrize("case", ["joints", "robot"])
def test_a_log_the_robot_model_cannot_pose_is_one_line(log, demo, tmp_path, case):
    robot = demo.robot
    if case == "joints":
        robot = dataclasses.replace(robot, joint_names=[f"joint_{i}" for i in range(9)])
    else:
        robot = dataclasses.replace(robot, name="ur5e")
    bad = dataclasses.replace(demo, robot=robot)
    with pytest.raises(rc.RobotCalibrationError, match="cannot pose the robot") as err:
        rc.calibrate_log(bad)
    assert "\n" not in str(err.value)
    if case == "joints":
        folder = write_demonstration(tmp_path / "bad", bad)
        result = run_cli("twin", "calibrate", str(folder))
        assert result.returncode == 2
        line = (result.stdout + result.stderr).strip().splitlines()[-1]
        assert line.startswith("error:") and "lack the arm joints" in line and str(folder) in line, line
        assert "Traceback" not in result.stderr
