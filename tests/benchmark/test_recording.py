"""The recorder: the demonstration format on disk, the opening camera sweep, determinism."""

import hashlib

import numpy as np
import pytest

from benchmark.scenes.recording import RecordConfig, record, scan_camera_poses
from benchmark.scenes.registry import load_scene
from twin.demonstration import read_demonstration, read_ground_truth


def test_recorded_demonstration_has_the_documented_layout(recorded_demo):
    demo = read_demonstration(recorded_demo)
    scan = demo.segments["scan"]
    assert scan == [0, 8]
    assert demo.segments["execution"][1] == demo.num_frames
    assert set(demo.cameras) == {"front", "wrist"}
    front = demo.primary
    assert front.rgb.shape[1:] == (240, 320, 3)
    assert front.depth.shape == front.rgb.shape[:3]
    assert front.T_world_camera.shape == (demo.num_frames, 4, 4)
    # the sweep moves the camera; the execution view is static
    moves = np.linalg.norm(np.diff(front.T_world_camera[: scan[1], :3, 3], axis=0), axis=1)
    assert np.all(moves > 1e-3)
    assert np.ptp(front.T_world_camera[scan[1] :, :3, 3], axis=0).max() < 1e-9
    arrays = demo.robot.arrays
    assert arrays["joint_positions"].shape == (demo.num_frames, 9)
    assert arrays["actions"].shape == (demo.num_frames, 7)
    assert demo.task["family"] == "pick_place" and demo.instruction
    truth = read_ground_truth(recorded_demo)
    assert truth["objects"]["outcome"]["success"] is True
    assert truth["arrays"]["red_cube"].shape == (demo.num_frames, 7)


def test_metric_depth_matches_ground_truth_object_position(recorded_demo):
    demo = read_demonstration(recorded_demo)
    truth = read_ground_truth(recorded_demo)
    start = demo.segments["execution"][0]
    cube = truth["arrays"]["red_cube"][start, :3] + [0, 0, 0.02]  # top face centre
    cam = demo.primary
    T_cw = np.linalg.inv(cam.pose(start))
    p = T_cw[:3, :3] @ cube + T_cw[:3, 3]
    u, v = (cam.K @ (p / p[2]))[:2]
    assert cam.depth[start, int(round(v)), int(round(u))] == pytest.approx(p[2], abs=0.01)


def test_scan_poses_end_at_the_main_camera():
    poses = scan_camera_poses([0.7, -0.5, 0.6], [0, 0, 0], 5, 90.0, 0.1)
    np.testing.assert_allclose(poses[-1][0], [0.7, -0.5, 0.6], atol=1e-12)
    assert len({tuple(np.round(p, 6)) for p, _ in poses}) == 5


def _hash_frames(path):
    demo = read_demonstration(path)
    return {name: hashlib.sha256(cam.rgb.tobytes()).hexdigest() for name, cam in demo.cameras.items()}


def test_same_seed_gives_byte_identical_frames(tmp_path):
    scene = load_scene("cube_stack")
    config = RecordConfig(scan_frames=4)
    record(scene, tmp_path / "a", 1, seed=5, config=config)
    record(scene, tmp_path / "b", 1, seed=5, config=config)
    record(scene, tmp_path / "c", 1, seed=6, config=config)
    a, b, c = (tmp_path / x / "episode_000000" for x in "abc")
    assert _hash_frames(a) == _hash_frames(b)
    assert (a / "rgb.mp4").read_bytes() == (b / "rgb.mp4").read_bytes()
    assert _hash_frames(a) != _hash_frames(c)


def test_existing_output_folder_is_refused_before_any_work(tmp_path):
    (tmp_path / "out").mkdir()
    with pytest.raises(FileExistsError, match="out already exists"):
        record(load_scene("tray_pick"), tmp_path / "out", 1, seed=0)
