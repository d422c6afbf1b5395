"""The Panda in MuJoCo: servos track targets, the gripper closes, DLS IK reaches poses."""

import numpy as np
import pytest

from benchmark.scenes.registry import load_scene
from benchmark.sim.control import (
    EEDeltaController,
    JointPositionController,
    dls_step,
    make_controller,
)
from twin.scene.robot import HOME_QPOS
from twin.scene.world import World
from twin.transforms import rotation_error


@pytest.fixture(scope="module")
def world():
    with World(load_scene("tray_pick")) as w:
        yield w


def test_dls_step_matches_pseudo_inverse_without_damping():
    rng = np.random.default_rng(0)
    jac = rng.normal(size=(6, 7))
    err = rng.normal(size=6)
    np.testing.assert_allclose(dls_step(jac, err, 0.0), np.linalg.pinv(jac) @ err, atol=1e-9)
    # damping shrinks the step
    assert np.linalg.norm(dls_step(jac, err, 1.0)) < np.linalg.norm(dls_step(jac, err, 0.0))


def test_joint_position_mode_tracks_targets(world):
    world.reset(0)
    controller = JointPositionController(world)
    target = HOME_QPOS + np.array([0.3, -0.2, 0.2, 0.3, -0.3, 0.2, 0.4])
    for _ in range(20):  # two seconds at 10 Hz
        controller.apply(np.concatenate([target, [1.0]]))
        world.step()
    assert np.max(np.abs(world.arm_joints() - target)) < 2e-3
    assert world.gripper_opening() < 2e-3  # closed on nothing


def test_ee_delta_mode_reaches_pose_through_ik(world):
    world.reset(0)
    controller = EEDeltaController(world)
    start_pos, start_rot = world.tcp_pose()
    for _ in range(10):
        controller.apply([0.01, -0.01, -0.01, 0.0, 0.0, 0.03, 0.0])
        world.step()
    for _ in range(10):  # hold still and let the servos settle
        controller.apply(np.zeros(7))
        world.step()
    pos, rot = world.tcp_pose()
    np.testing.assert_allclose(pos, start_pos + [0.1, -0.1, -0.1], atol=5e-3)
    assert np.linalg.norm(rotation_error(rot, controller.target_rot)) < 0.02
    assert abs(np.linalg.norm(rotation_error(start_rot, rot)) - 0.3) < 0.02


def test_unknown_action_space_is_named(world):
    with pytest.raises(ValueError, match="unknown action space 'torque'"):
        make_controller(world, "torque")
