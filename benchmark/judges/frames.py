"""The frames of an episode a VLM judge is shown: sampled from the episode folder's video of a
static camera (one per second of episode time, first and last included, at most ``max_frames``),
shrunk and encoded as JPEG data URLs, with the episode's instruction."""

from __future__ import annotations

import base64
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROBOT_CAMERA_PREFIX = "robot_"  # videos of robot-mounted cameras (twin.scene.builder.ROBOT_PREFIX)


def sample_indices(n_frames: int, fps: float, per_second: float = 1.0, max_frames: int = 16) -> list[int]:
    """The frames to show: ``per_second`` per second of episode time (at least two: the first and
    the last), at most ``max_frames``, spread evenly from the first frame to the last."""
    if n_frames < 1 or fps <= 0 or per_second <= 0 or max_frames < 1:
        raise ValueError(
            f"cannot sample {max_frames} of {n_frames} frames at {fps} fps, {per_second} per second"
        )
    duration = (n_frames - 1) / fps
    count = min(max(2, math.floor(duration * per_second + 1e-9) + 1), max_frames, n_frames)
    if count == 1:
        return [n_frames - 1]  # one frame: the end state says the most
    return [int(i * (n_frames - 1) / (count - 1) + 0.5) for i in range(count)]


@dataclass(frozen=True)
class EpisodeFrames:
    """The frames of an episode shown to a judge: the camera, the sampled frame indices and their
    times in seconds, the frames as JPEG data URLs, and the instruction."""

    camera: str
    indices: tuple[int, ...]
    times: tuple[float, ...]
    images: tuple[str, ...]
    instruction: str


def default_camera(folder: str | Path) -> str:
    """The episode's first static camera (in name order): its first video not from a
    robot-mounted camera."""
    videos = sorted(p.stem for p in Path(folder).glob("*.mp4"))
    static = [v for v in videos if not v.startswith(ROBOT_CAMERA_PREFIX)]
    if not static:
        raise ValueError(f"{folder}: no video of a static camera (videos: {', '.join(videos) or 'none'})")
    return static[0]


def video_fps(path: str | Path) -> float:
    """The frame rate of a video file."""
    import av

    from twin.video import VideoError

    try:
        with av.open(str(path)) as container:
            rate = container.streams.video[0].average_rate or container.streams.video[0].guessed_rate
    except (av.error.FFmpegError, IndexError) as err:
        raise VideoError(f"{path}: not a readable video ({err})") from err
    if not rate:
        raise VideoError(f"{path}: the video has no frame rate")
    return float(rate)


def jpeg_data_url(frame: np.ndarray, max_side: int = 512, quality: int = 85) -> str:
    """An RGB frame as a ``data:image/jpeg;base64,…`` URL, shrunk to ``max_side`` pixels at most."""
    from PIL import Image

    image = Image.fromarray(np.ascontiguousarray(frame, dtype=np.uint8))
    image.thumbnail((max_side, max_side))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def episode_frames(
    folder: str | Path,
    camera: str | None = None,
    per_second: float = 1.0,
    max_frames: int = 16,
    max_side: int = 512,
    quality: int = 85,
) -> EpisodeFrames:
    """Sample an episode folder's video (``camera``, default :func:`default_camera`) and read its
    instruction from ``episode.json``."""
    from twin.video import VideoError, read_mp4

    folder = Path(folder)
    try:
        instruction = json.loads((folder / "episode.json").read_text())["scenario"]["instruction"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{folder / 'episode.json'}: no scenario instruction ({err})") from None
    camera = camera or default_camera(folder)
    path = folder / f"{camera.replace('/', '_')}.mp4"
    if not path.is_file():
        videos = ", ".join(sorted(p.stem for p in folder.glob("*.mp4"))) or "none"
        raise VideoError(f"{folder}: no video of camera {camera!r} (videos: {videos})")
    frames, fps = read_mp4(path), video_fps(path)
    indices = sample_indices(len(frames), fps, per_second, max_frames)
    return EpisodeFrames(
        camera,
        tuple(indices),
        tuple(round(i / fps, 3) for i in indices),
        tuple(jpeg_data_url(frames[i], max_side, quality) for i in indices),
        str(instruction),
    )
