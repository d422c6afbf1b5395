"""Write a DROID-shaped LeRobotDataset with the real lerobot (run in the lerobot side venv).

Usage: python lerobot_dataset_maker.py ROOT WIDTH HEIGHT FRAMES...  (one episode per FRAMES count)

Two video cameras, ``observation.images.exterior_image_1_left`` and ``wrist_image_left``, in
lerobot's own codec; ``observation.state`` named ``joint_0..joint_6, gripper``; an 8-wide action.
Frame ``t`` of episode ``e``: the exterior image is one flat colour (red 20 + 8 t, green 40 + 60 e),
the wrist image another (blue 200 - 8 t); joint ``i`` reads ``e + 0.1 i + 0.01 t``, the gripper
``t / (frames - 1)`` (0 open … 1 closed, as DROID logs it).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from benchmark.policies.lerobot_policy import import_lerobot

STATE_NAMES = [f"joint_{i}" for i in range(7)] + ["gripper"]
EXTERIOR, WRIST = "observation.images.exterior_image_1_left", "observation.images.wrist_image_left"


def main(root: Path, width: int, height: int, lengths: list[int]) -> None:
    import_lerobot()  # loads torchvision the way this venv needs, before lerobot's datasets import it
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    video = {"dtype": "video", "shape": (height, width, 3), "names": ["height", "width", "channels"]}
    features = {
        EXTERIOR: video,
        WRIST: dict(video),
        "observation.state": {"dtype": "float32", "shape": (8,), "names": STATE_NAMES},
        "action": {"dtype": "float32", "shape": (8,), "names": [f"action_{i}" for i in range(8)]},
    }
    dataset = LeRobotDataset.create(
        "local/droid_shaped", fps=15, features=features, root=root, robot_type="panda", use_videos=True
    )
    for episode, frames in enumerate(lengths):
        for t in range(frames):
            exterior = np.zeros((height, width, 3), np.uint8)
            exterior[..., 0], exterior[..., 1] = 20 + 8 * t, 40 + 60 * episode
            wrist = np.zeros((height, width, 3), np.uint8)
            wrist[..., 2] = 200 - 8 * t
            state = episode + 0.1 * np.arange(8) + 0.01 * t
            state[7] = t / (frames - 1)
            frame = {EXTERIOR: exterior, WRIST: wrist, "observation.state": state.astype(np.float32)}
            frame |= {"action": np.zeros(8, np.float32), "task": f"put the marker in the cup {episode}"}
            dataset.add_frame(frame)
        dataset.save_episode()
    dataset.finalize()
    print(dataset.meta.info["features"][EXTERIOR]["info"]["video.codec"])


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), [int(n) for n in sys.argv[4:]])
