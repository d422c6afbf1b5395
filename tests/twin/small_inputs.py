"""Small, sound inputs of the shared formats, built in milliseconds, for tests that damage them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from twin.demonstration import CameraRecording, Demonstration, RobotTrack
from twin.package import TwinManifest, write_json, write_twin


def small_demo(frames: int = 6) -> Demonstration:
    """Two cameras of 32×24 pixels, depth, a Panda's joint track, a scan and an execution segment."""
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (frames, 24, 32, 3), dtype=np.uint8)
    K = np.array([[40.0, 0, 16], [0, 40.0, 12], [0, 0, 1]])
    poses = np.repeat(np.eye(4)[None], frames, axis=0)
    depth = rng.uniform(0.5, 2.0, (frames, 24, 32)).astype(np.float32)
    cameras = {
        "front": CameraRecording("front", rgb, K, poses, depth),
        "wrist": CameraRecording("wrist", rgb[:, ::-1].copy(), K, np.eye(4)),
    }
    joints = rng.normal(size=(frames, 2)).astype(np.float32)
    robot = RobotTrack("franka_panda", ["j1", "j2"], {"joint_positions": joints}, "ee_delta", np.eye(4))
    return Demonstration(
        fps=10.0,
        instruction="put the red cube in the tray",
        cameras=cameras,
        robot=robot,
        task={"family": "pick_place", "max_seconds": 20.0},
        segments={"scan": [0, 3], "execution": [3, frames]},
    )


def small_package(root: Path) -> Path:
    """A sound twin package whose large files are stand-ins (read_twin never parses them)."""
    root.mkdir(parents=True)
    (root / "scene.xml").write_text("<mujoco/>\n")
    (root / "background.ply").write_bytes(b"ply\nformat binary_little_endian 1.0\nend_header\n" + bytes(64))
    (root / "objects").mkdir()
    (root / "meshes").mkdir()
    for name in ("red", "tray"):
        (root / "objects" / f"{name}.ply").write_bytes(b"ply\n" + name.encode() * 8)
    (root / "meshes" / "red.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    camera = {"K": [[40.0, 0, 16], [0, 40.0, 12], [0, 0, 1]], "width": 32, "height": 24}
    write_json(
        root / "calibration.json", {"cameras": {"front": camera | {"T_world_camera": np.eye(4).tolist()}}}
    )
    task = {"name": "t", "family": "pick_place", "object": "red", "target": "tray", "instruction": "put it"}
    write_json(root / "task.json", task | {"max_seconds": 20.0})
    write_json(root / "fidelity.json", {"psnr_db": 21.5})
    solid = {"name": "red", "kind": "solid", "pos": [0.1, 0.0, 0.72], "quat": [1, 0, 0, 0]}
    solid |= {"half_extents": [0.02, 0.02, 0.02], "mass": 0.1, "splats": "objects/red.ply"}
    solid |= {"mesh": "meshes/red.obj", "xy_range": [0.02, 0.02], "yaw_range": 0.2}
    zone = {"name": "tray", "kind": "zone", "pos": [-0.1, 0.0, 0.7], "quat": [1, 0, 0, 0]}
    zone |= {"half_extents": [0.05, 0.05, 0.001], "splats": "objects/tray.ply"}
    files = {"scene": "scene.xml", "background": "background.ply", "calibration": "calibration.json"}
    files |= {"task": "task.json", "fidelity": "fidelity.json", "preview": "preview.png"}
    manifest = TwinManifest(
        name="fuzz",
        source={"path": "nowhere"},
        world_frame="demonstration",
        robot={"name": "franka_panda", "base_pose": np.eye(4).tolist()},
        table={"height": 0.7, "center_xy": [0.0, 0.0], "half_extents_xy": [0.5, 0.4], "yaw": 0.0},
        objects=[solid, zone],
        physics={"timestep": 0.002, "control_hz": 10.0},
        files=files,
    )
    write_twin(root, manifest)
    return root
