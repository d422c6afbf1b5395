"""Campaign throughput: episodes per minute through ``run_campaign`` (roll out, store the folder,
write the row), per executor.

    python bench/campaign_throughput.py [--seeds 6] [--render mesh] [--executors local:1,local:2,ray:2]

Each executor runs the same campaign (``vision-expert`` and ``random`` in the tray_pick reference
twin, unperturbed and with ``object_placement=0.5``) into a fresh temporary store. The reference
twin is built before timing; worker start-up and environment builds are timed, as a user meets
them. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--render", default="mesh", choices=("auto", "splat", "mesh"))
    parser.add_argument("--image-size", default="224x224")
    parser.add_argument("--executors", default="local:1,local:2,ray:2")
    args = parser.parse_args()

    from benchmark.campaigns.campaign import CampaignSpec, RunSettings, parse_sweep
    from benchmark.campaigns.evaluate import run_campaign
    from benchmark.campaigns.executors import make_executor
    from benchmark.scenes.authored import reference_twin
    from benchmark.store import open_store

    width, height = (int(v) for v in args.image_size.lower().split("x"))
    twin = reference_twin("tray_pick")
    settings = RunSettings(render=args.render, image_size=(width, height))
    sweeps = (parse_sweep("object_placement=0.5"),)
    spec = CampaignSpec(("vision-expert", "random"), (str(twin),), sweeps, args.seeds, settings)
    rows = []
    for entry in args.executors.split(","):
        kind, _, count = entry.partition(":")
        executor = make_executor(kind, int(count or 1))
        with tempfile.TemporaryDirectory(prefix="twinarena-bench-") as tmp:
            db = Path(tmp) / "store.db"
            with open_store(f"sqlite:///{db}", Path(tmp) / "artefacts") as store:
                start = time.perf_counter()
                report = run_campaign(store, spec, executor)
                seconds = time.perf_counter() - start
            with sqlite3.connect(db) as connection:
                steps = connection.execute("SELECT SUM(steps) FROM episodes").fetchone()[0]
        rows.append(
            {
                "executor": entry,
                "episodes": report.stored,
                "errors": len(report.errors),
                "seconds": round(seconds, 1),
                "episodes_per_minute": round(60 * report.stored / seconds, 1),
                "control_steps_per_second": round(steps / seconds, 1),
            }
        )
    print(
        json.dumps(
            {
                "campaign": "vision-expert + random, tray_pick, unperturbed + object_placement=0.5",
                "seeds": args.seeds,
                "render": args.render,
                "image_size": args.image_size,
                "cpus": os.cpu_count(),
                "runs": rows,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
