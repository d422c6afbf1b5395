"""The vision expert's success rate in the twin of every reference scene task, at level 0 and as
the placement, camera and lighting axes rise: one campaign, read back as the store's robustness
table. Prints JSON (one row per twin, axis and level).

    python bench/expert_robustness.py [--seeds 10] [--workers 2] [--levels 0.5 1]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from benchmark.campaigns.campaign import CampaignSpec, Sweep
from benchmark.campaigns.evaluate import run_campaign
from benchmark.campaigns.executors import LocalExecutor
from benchmark.scenes.authored import reference_twin
from benchmark.scenes.registry import scene_tasks
from benchmark.store import open_store

AXES = ["object_placement", "camera_pose", "camera_fov", "light_intensity", "light_direction", "light_color"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--levels", type=float, nargs="+", default=[0.5, 1.0])
    parser.add_argument("--axes", nargs="+", default=AXES)
    args = parser.parse_args()
    twins = tuple(str(reference_twin(s, t)) for s, t in scene_tasks())
    sweeps = tuple(Sweep(axis, tuple(args.levels)) for axis in args.axes)
    spec = CampaignSpec(("vision-expert",), twins, sweeps, args.seeds)
    start = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="twinarena-robustness-") as tmp,
        open_store(f"sqlite:///{Path(tmp) / 'store.db'}") as store,
    ):
        report = run_campaign(
            store,
            spec,
            LocalExecutor(args.workers),
            on_result=lambda job, result, error: print(
                f"{job.label()}: {error or result.outcome['termination']}", file=sys.stderr, flush=True
            ),
        )
        rows = [asdict(r) for r in store.robustness()]
    print(
        json.dumps(
            {
                "seeds": args.seeds,
                "seconds": round(time.perf_counter() - start, 1),
                "errors": report.errors,
                "rows": rows,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
