"""Camera extrinsics without them: odometry and SfM against the recorded ground truth, the table frame."""

from __future__ import annotations

import numpy as np
import pytest

from twin.calibration import (
    CalibrationError,
    align_similarity,
    estimate_extrinsics,
    odometry_rgbd,
    pose_errors,
    sfm_poses,
    table_frame,
)
from twin.demonstration import read_demonstration
from twin.transforms import axis_angle_to_mat, pose_matrix


@pytest.fixture(scope="module")
def scan(cube_stack_scan):
    return cube_stack_scan


def _world_points(depth, K, poses, stride=4):  # noqa: N803
    """Per frame: camera-frame points of every ``stride``-th valid pixel and their world points."""
    out = []
    for d, pose in zip(depth, poses, strict=True):
        v, u = np.mgrid[0 : d.shape[0] : stride, 0 : d.shape[1] : stride]
        z = d[v, u].astype(np.float64)
        ok = z > 0
        u, v, z = u[ok] + 0.5, v[ok] + 0.5, z[ok]
        cam = np.stack([(u - K[0, 2]) / K[0, 0] * z, (v - K[1, 2]) / K[1, 1] * z, z], axis=1)
        out.append((cam, cam @ pose[:3, :3].T + pose[:3, 3]))
    return out


# -- odometry ----------------------------------------------------------------------------------
def test_odometry_recovers_the_scan_without_drift(scan):
    rgb, depth, K, truth = scan
    poses = odometry_rgbd(rgb, depth, K)
    np.testing.assert_allclose(poses[0], np.eye(4), atol=1e-12)
    trans, rot = pose_errors(poses, truth)
    assert trans.max() < 0.01 and rot.max() < 1.0, (trans.max(), rot.max())


def test_odometry_tracks_a_sparse_scan_of_another_scene(recorded_demo):
    cam = read_demonstration(recorded_demo).primary  # tray_pick, 8 frames: ~13° between frames
    poses = odometry_rgbd(cam.rgb[:8], cam.depth[:8], cam.K)
    trans, rot = pose_errors(poses, cam.T_world_camera[:8])
    assert trans.max() < 0.01 and rot.max() < 1.0, (trans.max(), rot.max())


def test_odometry_names_the_frame_where_tracking_is_lost(scan):
    rgb, depth, K, _ = scan
    broken = depth[:6].copy()
    broken[3] = np.random.default_rng(0).uniform(0.5, 3.0, broken[3].shape)  # depth of nothing
    with pytest.raises(CalibrationError, match="frame 3"):
        odometry_rgbd(rgb[:6], broken, K)


def test_odometry_refuses_geometry_that_does_not_constrain_the_motion(scan):
    rgb, depth, K, _ = scan
    with pytest.raises(CalibrationError, match="frame 1: the depth does not constrain"):
        odometry_rgbd(rgb[:3], np.ones_like(depth[:3]), K)  # a wall facing the camera
    with pytest.raises(CalibrationError, match="frame 0"):
        odometry_rgbd(rgb[:3], np.zeros_like(depth[:3]), K)


# -- the world frame -------------------------------------------------------------------------------
def test_estimate_extrinsics_puts_the_table_at_z0_with_z_up(scan):
    rgb, depth, K, truth = scan
    poses, info = estimate_extrinsics(rgb, depth, K, slice(0, len(rgb)), np.random.default_rng(0))
    assert info["method"] == "rgbd_odometry" and info["registered"] == len(rgb)
    # the table top (world z = 0 in the recording) seen by each camera lands at z = 0 in our frame
    heights = []
    for (cam, world), pose in zip(_world_points(depth, K, truth), poses, strict=True):
        table = (np.abs(world[:, 2]) < 0.002) & (np.abs(world[:, :2]).max(axis=1) < 0.5)
        heights.append((cam[table] @ pose[:3, :3].T + pose[:3, 3])[:, 2])
    heights = np.concatenate(heights)
    assert len(heights) > 5000
    assert np.abs(np.median(heights)) < 0.003 and np.percentile(np.abs(heights), 95) < 0.003
    up_truth = truth[:, :3, :3].transpose(0, 2, 1) @ np.array([0.0, 0.0, 1.0])  # world z in each camera
    up_est = poses[:, :3, :3].transpose(0, 2, 1) @ np.array([0.0, 0.0, 1.0])
    angles = np.degrees(np.arccos(np.clip(np.sum(up_truth * up_est, axis=1), -1, 1)))
    assert angles.max() < 1.0
    np.testing.assert_allclose(poses[:, 2, 3], truth[:, 2, 3], atol=0.003)  # camera heights


def test_table_frame_on_a_synthetic_room():
    rng = np.random.default_rng(1)
    table = np.c_[rng.uniform(-0.5, 0.5, (4000, 2)), np.zeros(4000)]
    floor = np.c_[rng.uniform(-2, 2, (1500, 2)), np.full(1500, -0.75)]
    wall = np.c_[rng.uniform(-2, 2, 3000), np.full(3000, 1.2), rng.uniform(-0.75, 1.5, 3000)]
    box = np.c_[rng.uniform(0.1, 0.2, (500, 2)), rng.uniform(0, 0.1, 500)]
    world = np.concatenate([table, floor, wall, box]) + np.array([0.2, -0.1, 0.0])  # table centre
    cams_world = np.array([[-1.0, -0.6, 0.6], [-1.0, 0.0, 0.7], [-0.9, 0.5, 0.6]])
    # frame 0: a camera at the first position looking at the table centre, upright (OpenCV axes)
    forward = np.array([0.2, -0.1, 0.0]) - cams_world[0]
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    world_from_0 = pose_matrix(np.stack([right, np.cross(forward, right), forward], axis=1), cams_world[0])
    to_0 = np.linalg.inv(world_from_0)
    T = table_frame(world @ to_0[:3, :3].T + to_0[:3, 3], cams_world @ to_0[:3, :3].T + to_0[:3, 3], rng)  # noqa: N806
    est = T @ to_0  # our world from the true world: a rotation about z and a shift in the plane
    np.testing.assert_allclose(est[:3, 2], [0, 0, 1], atol=1e-3)  # z stays up
    np.testing.assert_allclose(est[2, 3], 0.0, atol=1e-3)  # the table stays at z = 0
    x_true = np.array([0.2, -0.1, 0.0]) - cams_world.mean(axis=0)
    x_true[2] = 0.0
    np.testing.assert_allclose(est[:3, :3].T @ [1.0, 0, 0], x_true / np.linalg.norm(x_true), atol=0.02)


def test_table_frame_refuses_cameras_on_both_sides_of_the_plane():
    rng = np.random.default_rng(2)
    points = np.c_[rng.uniform(-1, 1, (2000, 2)), np.zeros(2000)][:, [0, 2, 1]]  # plane y = 0
    with pytest.raises(CalibrationError, match="cameras below"):
        table_frame(points, np.array([[0.0, -1.0, 0.0], [0.0, 1.0, 0.0]]), rng)


# -- structure from motion ----------------------------------------------------------------------
def test_sfm_registers_the_scan_and_matches_the_truth_up_to_similarity(scan):
    rgb, _, K, truth = scan
    poses, registered, points = sfm_poses(rgb, K)
    assert registered.sum() >= len(rgb) // 2 and registered[0]
    np.testing.assert_allclose(poses[0], np.eye(4), atol=1e-9)
    assert len(points) > 200 and np.all(np.isfinite(points))
    s, R, t = align_similarity(poses[registered, :3, 3], truth[registered, :3, 3])  # noqa: N806
    err = np.linalg.norm(s * poses[registered, :3, 3] @ R.T + t - truth[registered, :3, 3], axis=1)
    assert err.max() < 0.03, err  # measured: ~9 mm at most on this 20-frame scan


def test_sfm_with_depth_gives_a_metric_table_frame(scan):
    rgb, depth, K, truth = scan
    poses, info = estimate_extrinsics(rgb, depth, K, range(len(rgb)), np.random.default_rng(0), method="sfm")
    assert info["method"] == "sfm" and info["registered"] >= len(rgb) // 2
    ok = np.isfinite(poses[:, 0, 0])
    # camera heights above the table and distances between cameras are metric to a few cm: over the
    # layouts of recording seeds 3, 4, 5, 7 and 8 the worst height was off by 1.1 to 6.4 cm, the
    # span by at most 2 % (seed 6's layout registers too few frames and is refused)
    np.testing.assert_allclose(poses[ok, 2, 3], truth[ok, 2, 3], atol=0.07)
    span = np.linalg.norm(poses[ok][-1, :3, 3] - poses[ok][0, :3, 3])
    assert span == pytest.approx(np.linalg.norm(truth[ok][-1, :3, 3] - truth[ok][0, :3, 3]), rel=0.03)


def test_rgb_only_without_extrinsics_has_no_metric_scale(scan):
    rgb, _, K, _ = scan
    with pytest.raises(CalibrationError, match="no metric scale") as err:
        estimate_extrinsics(rgb, None, K, slice(0, 10), np.random.default_rng(0))
    assert "camera.json" in str(err.value) and "depth.npz" in str(err.value)


def test_black_frames_raise_a_calibration_error(scan):
    _, _, K, _ = scan
    black = np.zeros((8, 240, 320, 3), np.uint8)
    with pytest.raises(CalibrationError, match="registered 0 of 8"):
        sfm_poses(black, K)
    with pytest.raises(CalibrationError):
        estimate_extrinsics(
            black, np.zeros((8, 240, 320), np.float32), K, slice(0, 8), np.random.default_rng(0)
        )


# -- evaluation helpers ----------------------------------------------------------------------------
def test_align_similarity_and_pose_errors():
    rng = np.random.default_rng(3)
    src = rng.normal(size=(30, 3))
    R = axis_angle_to_mat(np.array([0.3, -0.2, 0.9]))  # noqa: N806
    s, R_est, t = align_similarity(src, 2.5 * src @ R.T + [1.0, 2.0, 3.0])  # noqa: N806
    assert s == pytest.approx(2.5) and np.allclose(R_est, R) and np.allclose(t, [1, 2, 3])
    assert align_similarity(src, src @ R.T, with_scale=False)[0] == 1.0
    truth = np.stack(
        [pose_matrix(axis_angle_to_mat(rng.normal(size=3)), rng.normal(size=3)) for _ in range(5)]
    )
    offset = pose_matrix(R, [0.5, 0.0, 0.0])
    trans, rot = pose_errors(offset @ truth, truth)  # a global change of frame is no error
    assert trans.max() < 1e-9 and rot.max() < 1e-6
    moved = truth.copy()
    moved[2, :3, 3] += [0.0, 0.01, 0.0]
    assert pose_errors(moved, truth)[0][2] == pytest.approx(0.01)
