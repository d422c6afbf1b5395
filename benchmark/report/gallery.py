"""The failure gallery: keyframes of failed episodes, grouped by how they ended."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

EPISODES_PER_REASON = 3  # failed episodes shown per termination reason
KEYFRAMES = 3  # first, middle and last frame of each
FRAME_WIDTH = (320, 480)  # px of each keyframe: smaller frames are enlarged, larger ones reduced
SUCCESS = "success"  # the termination reason of a successful episode (benchmark.episodes.env.TERMINATIONS)


def keyframe_indices(count: int, picks: int = KEYFRAMES) -> list[int]:
    """``picks`` frame indices spread from the first to the last of ``count`` frames."""
    if count <= 0:
        return []
    return sorted({int(round(i)) for i in np.linspace(0, count - 1, min(picks, count))})


def episode_videos(files) -> list[str]:
    """An episode's videos (``*.mp4`` at the top of its folder), in its files' order."""
    return [f for f in files if f.endswith(".mp4") and "/" not in f]


def episode_video(folder: Path, files: tuple[str, ...]) -> Path | None:
    """The episode's primary video: ``front.mp4`` if there is one, else its first ``*.mp4``."""
    videos = sorted(episode_videos(files))
    if not videos:
        return None
    return folder / ("front.mp4" if "front.mp4" in videos else videos[0])


def frame_size(width: int, height: int) -> tuple[int, int]:
    """A keyframe's size in the strip: its width brought within :data:`FRAME_WIDTH`, its aspect kept."""
    low, high = FRAME_WIDTH
    shown = min(high, max(low, width))
    return shown, max(1, round(height * shown / width))


def keyframe_strip(video: Path) -> tuple[bytes, list[int], int]:
    """The keyframes of ``video`` side by side as a JPEG (each :func:`frame_size`, large enough to
    see why the episode failed), their indices, and the frame count."""
    from PIL import Image

    from twin.video import read_mp4

    frames = read_mp4(video)
    picks = keyframe_indices(len(frames))
    size = frame_size(frames.shape[2], frames.shape[1])
    resample = Image.BICUBIC if size[0] > frames.shape[2] else Image.LANCZOS
    strip = np.concatenate(
        [np.asarray(Image.fromarray(frames[i]).resize(size, resample)) for i in picks], axis=1
    )
    image = Image.fromarray(strip)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue(), picks, len(frames)


def failure_gallery(store, policy: str, campaign: str | None, per_reason: int = EPISODES_PER_REASON):
    """Every termination reason of the policy's failed episodes with its count, and up to
    ``per_reason`` of the newest such episodes with keyframes, from different cells where it can.
    Returns (section, images)."""
    from benchmark.errors import StoreError
    from twin.video import VideoError

    counts = store.terminations(campaign, policy)
    failed = {reason: n for reason, n in counts if reason != SUCCESS}  # success ⇔ termination "success"
    groups, images = [], {}
    for reason, total in sorted(failed.items(), key=lambda item: (-item[1], item[0])):
        rows = store.episodes(campaign, policy=policy, termination=reason, limit=per_reason * 4)
        shown = []
        failed_rows = [r for r in rows if not r.success]
        seen: set = set()
        varied = []  # one episode per cell first, so the gallery spans the cells that fail
        for row in failed_rows:
            if (row.axis, row.level) not in seen:
                seen.add((row.axis, row.level))
                varied.append(row)
        varied += [r for r in failed_rows if r not in varied]
        for row in varied[:per_reason]:
            entry = {
                "episode": row.id,
                "twin": row.twin,
                "axis": row.axis,
                "level": row.level,
                "seed": row.seed,
                "progress": row.progress,
                "steps": row.steps,
                "detail": row.detail,
                "folder": None,
                "video": None,
                "frames": [],
                "frame_count": 0,
                "image": None,
                "note": "",
            }
            try:
                folder = store.artefact_path(row.artefact)
            except StoreError as err:  # a missing artefact: say so, show the rest
                entry["note"] = f"episode folder missing: {err}"
                shown.append(entry)
                continue
            entry["folder"] = str(folder)
            video = episode_video(folder, row.files)
            if video is None:
                entry["note"] = "no video recorded"
            else:
                entry["video"] = video.name
                try:
                    jpeg, picks, count = keyframe_strip(video)
                except VideoError as err:
                    entry["note"] = str(err)
                else:
                    entry.update(frames=picks, frame_count=count, image=f"keyframes-{row.id}")
                    images[entry["image"]] = jpeg
            shown.append(entry)
        groups.append({"termination": reason, "episodes": total, "shown": shown})
    return {
        "failed_episodes": sum(failed.values()),
        "terminations": [{"termination": reason, "episodes": n} for reason, n in counts],
        "groups": groups,
    }, images
