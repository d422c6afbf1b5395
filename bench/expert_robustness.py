"""The vision expert's success rate in the twin of every reference scene task, at level 0 and as
the placement, camera and lighting axes rise. Prints JSON (one row per twin, axis and level).

    python bench/expert_robustness.py [--seeds 10] [--workers 2] [--levels 0.5 1]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from benchmark.authored import reference_twin
from benchmark.robustness import robustness_rows
from benchmark.scenes import scene_tasks

AXES = ["object_placement", "camera_pose", "camera_fov", "light_intensity", "light_direction", "light_color"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--levels", type=float, nargs="+", default=[0.5, 1.0])
    parser.add_argument("--axes", nargs="+", default=AXES)
    args = parser.parse_args()
    twins = [reference_twin(s, t) for s, t in scene_tasks()]
    start = time.perf_counter()
    rows = robustness_rows(
        twins,
        args.axes,
        args.levels,
        args.seeds,
        workers=args.workers,
        on_row=lambda r: print(
            f"{r['task']:16s} {r['axis']:18s} {r['level']:.2f} {r['success_rate']:.2f}",
            file=sys.stderr,
            flush=True,
        ),
    )
    print(
        json.dumps(
            {"seeds": args.seeds, "seconds": round(time.perf_counter() - start, 1), "rows": rows}, indent=1
        )
    )


if __name__ == "__main__":
    main()
