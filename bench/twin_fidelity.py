"""Twins of every reference task: fidelity, ground-truth errors, the expert inside the twin; prints JSON.

Run: ``python bench/twin_fidelity.py [--splat-steps 800] [--scan-frames 30] [--style robot-log]
[--keep DIR]``.
Each row records one demonstration (seed 3, a 30-frame scan; or with ``--style robot-log`` a robot
log: exterior and wrist cameras, RGB only, no camera poses, whose rows add each camera's pose
error), builds its twin with the default settings, compares it with the recording's ground truth
and runs the scripted expert in the twin. The README's twin
table comes from this script; ``tests/twin/test_reference_twins.py`` checks the geometry columns.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from benchmark.scenes.registry import load_scene, scene_names  # noqa: E402
from benchmark.scenes.twins import reference_twin_row  # noqa: E402
from twin.appearance import AppearanceConfig  # noqa: E402
from twin.build import BuildConfig  # noqa: E402
from twin.robot_cameras import RobotCalibrationConfig  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--splat-steps", type=int, default=AppearanceConfig().steps)
    parser.add_argument("--scan-frames", type=int, default=30)
    parser.add_argument("--scene", action="append", help="Only these scenes (repeatable).")
    parser.add_argument("--style", choices=("scan", "robot-log"), default="scan")
    parser.add_argument("--keep", type=Path, help="Keep each demonstration and twin under this folder.")
    args = parser.parse_args()
    config = BuildConfig(
        appearance=AppearanceConfig(steps=args.splat_steps),
        robot_calibration=RobotCalibrationConfig(workers=None),
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.scene or scene_names():
            for task in load_scene(name).tasks:
                work = (args.keep or Path(tmp)) / f"{name}-{task.name}"
                rows.append(
                    reference_twin_row(
                        name, task.name, work, config, scan_frames=args.scan_frames, style=args.style
                    )
                )
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)  # each row as it comes
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
