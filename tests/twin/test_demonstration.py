"""The demonstration folder format: round trips and clear errors on broken folders."""

import json

import numpy as np
import pytest

from twin.demonstration import (
    CameraRecording,
    Demonstration,
    DemonstrationError,
    RobotTrack,
    read_demonstration,
    read_ground_truth,
    write_demonstration,
)


def _demo(frames=6):
    rng = np.random.default_rng(0)
    rgb = np.zeros((frames, 48, 64, 3), np.uint8)
    for t in range(frames):
        rgb[t, 10:20, 5 + 4 * t : 15 + 4 * t] = (200, 40, 40)
    K = np.array([[50.0, 0, 32], [0, 50.0, 24], [0, 0, 1]])
    poses = np.repeat(np.eye(4)[None], frames, axis=0)
    depth = rng.uniform(0.5, 2.0, size=(frames, 48, 64)).astype(np.float32)
    cam = CameraRecording("front", rgb, K, poses, depth)
    robot = RobotTrack(
        "franka_panda", ["j1", "j2"], {"joint_positions": rng.normal(size=(frames, 2)).astype(np.float32)}
    )
    return Demonstration(
        fps=10.0, instruction="do it", cameras={"front": cam}, robot=robot, segments={"scan": [0, 2]}
    )


def test_round_trip_keeps_everything(tmp_path):
    demo = _demo()
    write_demonstration(
        tmp_path / "d", demo, ground_truth={"objects": {"a": 1}, "arrays": {"a": np.ones((6, 7))}}
    )
    back = read_demonstration(tmp_path / "d")
    assert back.instruction == "do it" and back.fps == 10.0 and back.segments == {"scan": [0, 2]}
    assert back.num_frames == 6
    assert np.abs(back.primary.rgb.astype(int) - demo.primary.rgb).mean() < 3  # H.264 is lossy
    np.testing.assert_allclose(back.primary.K, demo.primary.K)
    np.testing.assert_allclose(back.primary.depth, demo.primary.depth, rtol=1e-3)  # stored as float16
    np.testing.assert_array_equal(back.robot.arrays["joint_positions"], demo.robot.arrays["joint_positions"])
    assert read_ground_truth(tmp_path / "d")["objects"] == {"a": 1}


def test_reading_never_touches_ground_truth(tmp_path):
    write_demonstration(tmp_path / "d", _demo(), ground_truth={"objects": {}, "arrays": {}})
    (tmp_path / "d" / "ground_truth" / "objects.json").write_text("{corrupt")
    read_demonstration(tmp_path / "d")  # must not fail: ground truth is never opened


def test_existing_output_folder_is_refused(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(FileExistsError, match="already exists"):
        write_demonstration(tmp_path / "d", _demo())


def test_png_frames_and_millimetre_depth_are_read(tmp_path):
    from PIL import Image

    folder = tmp_path / "png"
    (folder / "rgb").mkdir(parents=True)
    (folder / "depth").mkdir()
    for t in range(3):
        Image.fromarray(np.full((8, 10, 3), 40 * t, np.uint8)).save(folder / "rgb" / f"{t:06d}.png")
        Image.fromarray(np.full((8, 10), 1500, np.uint16)).save(folder / "depth" / f"{t:06d}.png")
    (folder / "camera.json").write_text(json.dumps({"K": np.eye(3).tolist(), "width": 10, "height": 8}))
    (folder / "meta.json").write_text(json.dumps({"fps": 5, "instruction": "x"}))
    demo = read_demonstration(folder)
    assert demo.primary.rgb.shape == (3, 8, 10, 3)
    assert demo.primary.T_world_camera is None
    np.testing.assert_allclose(demo.primary.depth, 1.5)


@pytest.mark.parametrize(
    "breakage, message",
    [
        (lambda d: (d / "rgb.mp4").write_bytes(b"\x00not a video"), "rgb.mp4: not a readable video"),
        (lambda d: (d / "camera.json").unlink(), "camera.json: missing"),
        (lambda d: (d / "meta.json").write_text("{"), "meta.json: not valid JSON"),
        (
            lambda d: (d / "camera.json").write_text(
                json.dumps({"K": [[1, 0], [0, 1]], "width": 64, "height": 48})
            ),
            "K: expected finite 3×3",
        ),
        (lambda d: (d / "robot_states.npz").write_bytes(b"junk"), "robot_states.npz: unreadable"),
    ],
)
def test_broken_folders_name_the_file(tmp_path, breakage, message):
    write_demonstration(tmp_path / "d", _demo())
    breakage(tmp_path / "d")
    with pytest.raises(DemonstrationError, match=message):
        read_demonstration(tmp_path / "d")
