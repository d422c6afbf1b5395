"""Hand–eye calibration of the wrist camera (twin/hand_eye.py): the AX = XB solve on synthetic
motions, and the whole path on wrist videos rendered with MuJoCo from a known mount (a moved one
is found, the default one is kept), and a log whose hand only yaws keeps the default and says why."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter, zoom

from twin import hand_eye as he
from twin import robot_cameras as rc
from twin.demonstration import read_demonstration
from twin.scene.builder import ROBOT_PREFIX, add_pinhole_camera, attach_robot, texture_material
from twin.scene.gl import import_mujoco
from twin.scene.robot import ARM_JOINTS, FINGER_JOINTS, HOME_QPOS, WRIST_FOVY, compile_spec
from twin.scene.robot_view import RobotView
from twin.transforms import (
    axis_angle_to_mat,
    intrinsics_from_fovy,
    mujoco_quat_from_opencv,
    pose_error,
    pose_matrix,
)

mujoco = import_mujoco()
SIZE = (320, 180)  # a robot log's (width, height)
# a mount 2 cm and 4.5° off the default: the camera shifted on its bracket and tilted
MOVED = np.array([0.0, 0.05, 0.06, 0.012, -0.01, 0.012])


def speckle(seed: int, n: int = 512) -> np.ndarray:
    """A smooth multi-scale colour noise image (uint8 n×n×3): texture for SIFT to hold on to."""
    rng = np.random.default_rng(seed)
    img = np.zeros((n, n, 3))
    for cells, weight in ((8, 0.5), (32, 0.35), (128, 0.25)):
        img += weight * zoom(rng.random((cells, cells, 3)), (n / cells, n / cells, 1), order=1)
    img = gaussian_filter(img, (1.0, 1.0, 0))
    img = (img - img.min()) / (img.max() - img.min())
    return (40 + 200 * img).astype(np.uint8)


def wiggle(frames: int = 60) -> np.ndarray:
    """Joint rows (arm and fingers) that move the hand and turn it about changing axes."""
    t = np.linspace(0, 2 * np.pi, frames)
    q = np.tile(np.r_[HOME_QPOS, 0.04, 0.04], (frames, 1))
    for joint, amplitude, rate, phase in ((0, 0.25, 1, 0), (1, 0.12, 2, 0), (3, 0.15, 1.5, 0.5)):
        q[:, joint] += amplitude * np.sin(rate * t + phase)
    for joint, amplitude, rate, phase in ((4, 0.35, 1, 1.0), (5, 0.3, 2, 2.0), (6, 0.5, 1.3, 0)):
        q[:, joint] += amplitude * np.sin(rate * t + phase)
    return q


def wrist_video(mount: np.ndarray, joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(rgb [T,H,W,3], K)`` of a wrist camera on ``mount`` over a textured floor and boxes, the
    Panda (base at the origin) posed at ``joints``."""
    spec = mujoco.MjSpec()
    spec.visual.global_.offwidth, spec.visual.global_.offheight = 640, 480
    attach_robot(spec, (0.0, 0.0, 0.0))
    floor = texture_material(spec, "floor", speckle(1))
    plane = mujoco.mjtGeom.mjGEOM_PLANE
    spec.worldbody.add_geom(type=plane, size=[1.2, 1.2, 0.1], pos=[0.4, 0, -0.01], material=floor)
    boxes = texture_material(spec, "boxes", speckle(2, 256), cube=True)
    rng = np.random.default_rng(3)
    for _ in range(6):
        size = list(rng.uniform(0.03, 0.08, 3))
        pos = [rng.uniform(0.3, 0.7), rng.uniform(-0.3, 0.3), 0.05]
        spec.worldbody.add_geom(type=mujoco.mjtGeom.mjGEOM_BOX, size=size, pos=pos, material=boxes)
    spec.worldbody.add_light(pos=[0.5, 0.0, 2.0], dir=[0, 0, -1], diffuse=[0.7, 0.7, 0.7])
    K = intrinsics_from_fovy(WRIST_FOVY, *SIZE)  # noqa: N806
    add_pinhole_camera(spec.worldbody, "wrist", K, *SIZE, np.eye(4))
    model = compile_spec(spec)
    data = mujoco.MjData(model)
    cam, hand = model.camera("wrist").id, model.body(ROBOT_PREFIX + "panda_hand").id
    qpos = [model.joint(ROBOT_PREFIX + j).qposadr[0] for j in (*ARM_JOINTS, *FINGER_JOINTS)]
    frames = []
    with mujoco.Renderer(model, height=SIZE[1], width=SIZE[0]) as renderer:
        for row in joints:
            data.qpos[qpos] = row
            mujoco.mj_kinematics(model, data)
            pose = pose_matrix(data.xmat[hand].reshape(3, 3), data.xpos[hand]) @ mount
            model.cam_pos[cam] = pose[:3, 3]
            model.cam_quat[cam] = mujoco_quat_from_opencv(pose[:3, :3])
            mujoco.mj_kinematics(model, data)
            mujoco.mj_camlight(model, data)
            renderer.update_scene(data, camera=cam)
            frames.append(renderer.render().copy())
    return np.stack(frames), K


def robot_view() -> RobotView:
    return RobotView("franka_panda", np.eye(4), [*ARM_JOINTS, *FINGER_JOINTS])


# -- the solve -----------------------------------------------------------------------------------
def synthetic_motions(mount: np.ndarray, count: int, seed: int, turn: float = 0.3, axis=None):
    """Hand motions ``A`` and the camera's ``B = X⁻¹ A X`` as a video gives them: rotation with
    0.2° noise, translation a unit direction with about 1° noise."""
    rng = np.random.default_rng(seed)
    hand, rotations, directions = [], [], []
    for _ in range(count):
        spin = rng.normal(size=3) * turn if axis is None else np.asarray(axis) * rng.uniform(0.1, 0.5)
        a = pose_matrix(axis_angle_to_mat(spin), rng.normal(size=3) * 0.05)
        b = np.linalg.inv(mount) @ a @ mount
        direction = b[:3, 3] / np.linalg.norm(b[:3, 3]) + rng.normal(size=3) * 0.015
        hand.append(a)
        rotations.append(axis_angle_to_mat(rng.normal(size=3) * np.radians(0.2)) @ b[:3, :3])
        directions.append(direction / np.linalg.norm(direction))
    return np.array(hand), np.array(rotations), np.array(directions)


def test_the_solve_recovers_a_known_mount_despite_wrong_pairs():
    default = rc.default_wrist_mount()
    mount = rc.perturbed(default, np.array([0.03, -0.05, 0.04, 0.015, -0.01, 0.02]))
    hand, rotations, directions = synthetic_motions(mount, 30, seed=0)
    rotations[3] = axis_angle_to_mat(np.array([0.4, -0.9, 0.2]))  # a mismatched pair
    directions[5] = -directions[5]  # a pair whose travel came out backwards
    estimate, reason = he.solve_hand_eye(hand, rotations, directions)
    assert reason == "solved" and estimate is not None
    metres, degrees = pose_error(estimate.mount, mount)
    assert metres <= 0.003 and degrees <= 0.3, estimate.summary()
    assert estimate.outliers >= 2 and estimate.pairs >= 24
    assert estimate.rotation_residual_deg < 0.6 and estimate.translation_residual_m < 0.005
    used, record = he.choose_mount(default, estimate, reason)
    assert record["mount_decision"] == "estimate used" and np.allclose(used, estimate.mount)


def test_too_little_motion_gives_no_mount_and_says_why():
    mount = rc.default_wrist_mount()
    hand, rotations, directions = synthetic_motions(mount, 5, seed=1)
    estimate, reason = he.solve_hand_eye(hand, rotations, directions)
    assert estimate is None and "5 usable frame pairs" in reason
    # a hand that only yaws: the turn about that axis is not observable
    hand, rotations, directions = synthetic_motions(mount, 20, seed=2, axis=[0.0, 0.0, 1.0])
    estimate, reason = he.solve_hand_eye(hand, rotations, directions)
    assert estimate is None and "single axis" in reason
    still = np.repeat(np.eye(4)[None], 10, axis=0)
    estimate, reason = he.estimate_mount(np.zeros((10, 8, 8, 3), np.uint8), np.eye(3), still, mount)
    assert estimate is None and "0 frame pairs" in reason


def test_the_choice_keeps_the_default_unless_the_estimate_is_sound():
    default = rc.default_wrist_mount()

    def estimate(delta, rotation_std=0.1, translation_std=0.001):
        moved = rc.perturbed(default, np.asarray(delta, dtype=float))
        return he.HandEyeEstimate(moved, 20, 2, 0.2, 0.002, rotation_std, translation_std)

    decide = he.choose_mount
    assert decide(default, None, "too few")[1]["mount_decision"] == "default kept: no estimate"
    wild = estimate([0, 0, 0, 0.0, 0.08, 0.0])  # 8 cm off
    assert decide(default, wild, "solved")[1]["mount_decision"].endswith("too far from it to trust")
    vague = estimate([0, 0, 0, 0.0, 0.02, 0.0], translation_std=0.02)
    assert decide(default, vague, "solved")[1]["mount_decision"].endswith("too uncertain")
    close = estimate([0.005, 0, 0, 0.003, 0, 0])
    mount, record = decide(default, close, "solved")
    assert record["mount_decision"].endswith("agrees with it") and np.array_equal(mount, default)
    clear = estimate([0, 0.05, 0, 0.0, 0.02, 0.0])
    mount, record = decide(default, clear, "solved")
    assert record["mount_decision"] == "estimate used" and np.array_equal(mount, clear.mount)
    json.dumps(record)  # goes into calibration.json and fidelity.json as it is


# -- the whole path on rendered wrist videos -----------------------------------------------------
@pytest.fixture(scope="module")
def joints():
    return wiggle(60)


def test_a_moved_wrist_camera_is_found_from_its_video(joints):
    default = rc.default_wrist_mount()
    truth = rc.perturbed(default, MOVED)
    rgb, K = wrist_video(truth, joints)  # noqa: N806
    found = rc.calibrate_wrist_camera(robot_view(), "wrist", rgb, K, joints)
    summary = found.summary()
    assert found.method == "hand-eye from motion", summary
    before = pose_error(default, truth)
    after = pose_error(found.mount, truth)
    assert before[0] > 0.015 and before[1] > 4.0
    # measured: 1.5 mm and 0.7° (pycolmap 4.2.1)
    assert after[0] <= 0.01 and after[1] <= 2.0, (after, summary)
    assert summary["pairs"] >= 10 and summary["rotation_residual_deg"] < 1.0
    assert summary["translation_residual_m"] < 0.01 and summary["mount_decision"] == "estimate used"
    assert np.allclose(found.T_world_camera, rc.hand_poses(robot_view(), joints) @ found.mount)


def test_the_default_mount_is_kept_when_it_is_right(joints):
    default = rc.default_wrist_mount()
    rgb, K = wrist_video(default, joints)  # noqa: N806
    found = rc.calibrate_wrist_camera(robot_view(), "wrist", rgb, K, joints)
    summary = found.summary()
    metres, degrees = pose_error(found.mount, default)
    assert metres <= 0.003 and degrees <= 0.5, summary
    assert summary["hand_eye"] == "solved" and "mount_decision" in summary
    # the estimate itself came within 3.3 mm and 0.75° of the default
    assert summary["estimate_offset_from_default_m"] <= 0.01, summary
    assert summary["estimate_turn_from_default_deg"] <= 1.5, summary


def test_a_hand_that_only_yaws_keeps_the_default_and_says_why(robot_log):
    demo = read_demonstration(robot_log)
    cam = demo.cameras[demo.wrist_camera]
    view = RobotView(demo.robot.name, np.eye(4), demo.robot.joint_names)
    found = rc.calibrate_wrist_camera(view, "wrist", cam.rgb, cam.K, demo.robot.arrays["joint_positions"])
    assert found.method == "default mount" and np.array_equal(found.mount, rc.default_wrist_mount())
    assert "single axis" in found.extra["hand_eye"], found.extra
    assert found.extra["mount_decision"] == "default kept: no estimate"
