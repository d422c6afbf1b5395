"""Build time of a twin from a 10 s, 30 fps, 320×240 RGB-D demonstration, stage by stage; prints JSON.

Run: ``python bench/twin_build.py [--splat-steps 800] [--splat-seconds 150] [--idle]``. The
demonstration is recorded first (not timed): tray_pick with the controller at 30 Hz, a 90-frame (3 s)
camera sweep, then the expert's run, held until the video is 300 frames long. The build uses the
default settings. Unless ``--idle``, a busy loop runs pinned to the last CPU while the build runs
(the build itself is not pinned), as on a machine whose other core is taken. The JSON holds the
splat fit's steps, why it stopped, its training and held-out PSNR, and the build's seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from benchmark.scenes.recording import RecordConfig, record  # noqa: E402
from benchmark.scenes.registry import load_scene  # noqa: E402
from twin.appearance import AppearanceConfig  # noqa: E402
from twin.build import BuildConfig, build_twin  # noqa: E402
from twin.demonstration import read_demonstration  # noqa: E402

FPS, SECONDS, SCAN = 30, 10, 90


def record_demo(out: Path) -> Path:
    scene = load_scene("tray_pick")
    scene = dataclasses.replace(scene, physics=dataclasses.replace(scene.physics, control_hz=FPS))
    probe = record(scene, out / "probe", 1, 3, config=RecordConfig(scan_frames=SCAN, hold_steps=0))[0]
    hold = max(0, FPS * SECONDS - probe.frames)
    record(scene, out / "demo", 1, 3, config=RecordConfig(scan_frames=SCAN, hold_steps=hold))
    return out / "demo" / "episode_000000"


@contextlib.contextmanager
def busy_core(on: bool):
    """A process spinning on the last CPU inside the block (nothing when ``on`` is False); yields
    the CPU it is pinned to, or None."""
    if not on:
        yield None
        return
    cpu = max(os.sched_getaffinity(0))
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        os.sched_setaffinity(spinner.pid, {cpu})
        yield cpu
    finally:
        spinner.kill()
        spinner.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--splat-steps", type=int, default=AppearanceConfig().steps)
    parser.add_argument("--splat-seconds", type=float, default=AppearanceConfig().seconds)
    parser.add_argument("--idle", action="store_true", help="No busy loop on the other core.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        demo = record_demo(Path(tmp))
        recording = read_demonstration(demo)
        appearance = AppearanceConfig(steps=args.splat_steps, seconds=args.splat_seconds)
        config = BuildConfig(appearance=appearance)
        with busy_core(not args.idle) as busy_cpu:
            t0 = time.perf_counter()
            report = build_twin(demo, Path(tmp) / "twin", config)
            total = time.perf_counter() - t0
    fit = report.fidelity["splats"]
    print(
        json.dumps(
            {
                "demonstration": {
                    "frames": recording.num_frames,
                    "fps": recording.fps,
                    "seconds": recording.num_frames / recording.fps,
                    "size": [recording.primary.width, recording.primary.height],
                    "depth": recording.primary.depth is not None,
                },
                "busy_loop_on_cpu": busy_cpu,
                "splat_fit": {
                    "max_steps": args.splat_steps,
                    "budget_s": args.splat_seconds,
                    "steps": fit["steps"],
                    "stop_reason": fit["stop_reason"],
                    "fit_s": fit["fit_s"],
                    "train_psnr_db": fit["train_psnr_db"],
                },
                "stages_s": report.seconds,
                "total_s": round(total, 2),
                "heldout_psnr_db": round(report.fidelity["psnr_db"], 2),
                "cpu_count": os.cpu_count(),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
