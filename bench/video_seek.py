"""Random access into an exported video: seeking to random frames with LeRobot export's keyframe
interval against the encoder's default (one keyframe per 250 frames). Prints JSON.

Both files hold the same frames, encoded by :func:`twin.video.write_mp4`; each read seeks to a
random frame (PyAV, to the keyframe before it) and decodes up to it, as a training loader does.
The ratio is the median over ``--rounds`` rounds of default time / short-interval time, the two
alternated within each round.

    python bench/video_seek.py [--frames 600] [--size 128] [--reads 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from twin.lerobot import KEYFRAME_INTERVAL
from twin.video import write_mp4


def frames(n: int, size: int) -> np.ndarray:
    """A moving gradient with noise: smooth enough that x264 keeps its own keyframes sparse."""
    x = np.linspace(0.0, 1.0, size)
    rng = np.random.default_rng(0)
    out = np.empty((n, size, size, 3), np.uint8)
    for t in range(n):
        base = (np.add.outer(x, x) + t / 90) % 1.0
        out[t] = np.clip(255 * base[..., None] + rng.normal(0, 4, (size, size, 1)), 0, 255)
    return out


def read_at(path: Path, index: int, fps: float):
    """Decode frame ``index``: seek to the keyframe before it, decode forward to it."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        target = int(round(index / fps / stream.time_base))
        container.seek(target, stream=stream, backward=True)
        for frame in container.decode(stream):
            if frame.pts >= target:
                return frame.to_ndarray(format="rgb24")
    raise RuntimeError(f"{path}: frame {index} not found")


def timed_reads(path: Path, indices, fps: float) -> float:
    start = time.perf_counter()
    for i in indices:
        read_at(path, int(i), fps)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--reads", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    fps = 10.0
    clip = frames(args.frames, args.size)
    with tempfile.TemporaryDirectory() as tmp:
        default, short = Path(tmp) / "default.mp4", Path(tmp) / "short.mp4"
        write_mp4(default, clip, fps)
        write_mp4(short, clip, fps, keyframe_interval=KEYFRAME_INTERVAL)
        rng = np.random.default_rng(1)
        rounds = []
        for _ in range(args.rounds):
            indices = rng.integers(0, args.frames, size=args.reads)
            rounds.append(
                {"default_s": timed_reads(default, indices, fps), "short_s": timed_reads(short, indices, fps)}
            )
        sizes = {"default_bytes": default.stat().st_size, "short_bytes": short.stat().st_size}
    ratio = float(np.median([r["default_s"] / r["short_s"] for r in rounds]))
    print(
        json.dumps(
            {
                "keyframe_interval": KEYFRAME_INTERVAL,
                "frames": args.frames,
                "size": args.size,
                "reads_per_round": args.reads,
                "rounds": rounds,
                "ms_per_read_default": 1000 * float(np.median([r["default_s"] for r in rounds])) / args.reads,
                "ms_per_read_short": 1000 * float(np.median([r["short_s"] for r in rounds])) / args.reads,
                "speedup": ratio,
                **sizes,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
