"""MP4 video files (H.264 through PyAV) and PNG frame folders: frames in, frames out."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np


class VideoError(ValueError):
    """A video that cannot be read or written; the message names the file."""


def write_mp4(
    path: str | Path, frames: np.ndarray, fps: float, crf: int = 18, keyframe_interval: int | None = None
) -> None:
    """Encode ``frames`` (T×H×W×3 uint8) as H.264; single-threaded so bytes are reproducible. The
    index comes first (``+faststart``: a browser plays it before it has loaded); a
    ``keyframe_interval`` of k makes every k-th frame a keyframe, so seeking to any frame decodes
    at most k frames (datasets read at random frames)."""
    import av

    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise VideoError(f"{path}: frames must be T×H×W×3 uint8, got {frames.shape} {frames.dtype}")
    if len(frames) == 0:
        raise VideoError(f"{path}: no frames to write")
    height, width = frames.shape[1:3]
    options: dict[str, object] = {"crf": str(crf), "preset": "veryfast", "tune": "zerolatency"}
    if keyframe_interval is not None:
        if keyframe_interval < 1:
            raise VideoError(f"{path}: keyframe interval must be at least 1, got {keyframe_interval}")
        options |= {"g": str(keyframe_interval), "keyint_min": str(keyframe_interval)}
    with av.open(str(path), mode="w", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=int(round(fps)))
        stream.width, stream.height = width + width % 2, height + height % 2
        stream.pix_fmt = "yuv420p"
        stream.thread_count = 1
        stream.options = options
        for frame in frames:
            if frame.shape[:2] != (stream.height, stream.width):
                frame = np.pad(
                    frame, ((0, stream.height - height), (0, stream.width - width), (0, 0)), mode="edge"
                )
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def read_mp4(path: str | Path) -> np.ndarray:
    """Decode every frame of a video file into T×H×W×3 uint8."""
    import av

    path = Path(path)
    if not path.is_file():
        raise VideoError(f"{path}: no such video file")
    try:
        with av.open(str(path)) as container:
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    except (av.error.FFmpegError, IndexError, UnicodeDecodeError) as err:  # damaged metadata too
        raise VideoError(f"{path}: not a readable video ({err})") from err
    if not frames:
        raise VideoError(f"{path}: the video holds no frames")
    if len({f.shape for f in frames}) != 1:
        raise VideoError(f"{path}: frames differ in size: {sorted({f.shape for f in frames})}")
    return np.stack(frames)


def video_fps(path: str | Path) -> float:
    """Frames per second of a video file's first video stream."""
    import av

    try:
        with av.open(str(path)) as container:
            rate = container.streams.video[0].average_rate
    except (av.error.FFmpegError, IndexError, UnicodeDecodeError) as err:
        raise VideoError(f"{path}: not a readable video ({err})") from err
    return float(rate) if rate else 0.0


def hold_last_frame(frames: np.ndarray, length: int) -> np.ndarray:
    """``frames`` (T×…) made ``length`` long by repeating the last frame; never shortened."""
    frames = np.asarray(frames)
    if length <= len(frames):
        return frames
    return np.concatenate([frames, np.repeat(frames[-1:], length - len(frames), axis=0)])


def same_length_mp4s(paths: Sequence[str | Path]) -> list[bytes]:
    """The videos at ``paths`` re-encoded to one frame count and frame rate, each shorter one
    holding its last frame, so their length tells nothing (a blind A/B vote). The bytes carry no
    file name or metadata of the originals."""
    clips = [read_mp4(path) for path in paths]
    length = max(len(clip) for clip in clips)
    fps = max(video_fps(path) for path in paths) or 1.0
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, clip in enumerate(clips):
            target = Path(tmp, f"{i}.mp4")
            write_mp4(target, hold_last_frame(clip, length), fps)
            out.append(target.read_bytes())
    return out


def read_png_folder(folder: str | Path) -> np.ndarray:
    """Read ``*.png`` frames in name order into T×H×W×3 uint8 (RGB) or T×H×W (16-bit depth)."""
    from PIL import Image

    files = sorted(Path(folder).glob("*.png"))
    if not files:
        raise VideoError(f"{folder}: no PNG frames")
    images = []
    for file in files:
        try:
            with Image.open(file) as image:
                images.append(np.asarray(image.convert("RGB") if image.mode not in ("I;16", "I") else image))
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
            raise VideoError(f"{file}: not a readable PNG ({err})") from err
    shapes = {im.shape for im in images}
    if len(shapes) != 1:
        raise VideoError(f"{folder}: frames differ in size: {sorted(shapes)}")
    return np.stack(images)
