"""The validity study on every reference scene and task: does each twin rank a population of
policies of graded skill the way its reference world does? Prints JSON (one study per task) on
stdout and the table on stderr; every study is also stored (``--db``).

For each task: a demonstration is recorded in the reference world (through its sensor model),
the twin is built from it alone (300 splat steps), and the population (the vision expert at
seven noise levels and the random policy: 8 policies) runs in both worlds, unperturbed and with
``object_placement=0.5``, over the same seeds. Where a task falls short of Pearson ≥ 0.95 and
MMRV ≤ 0.03, three ablations name the twin stage to blame. Demonstrations, twins and episodes are
kept under ``--out`` (default ``~/.cache/twinarena/validity-study``), so a second run reuses them.

    python bench/validity_study.py [--scenes block_push/block_to_square generated:200 ...] [--seeds 24]
        [--workers 2] [--population learned]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from rich.console import Console

from benchmark.campaigns.campaign import RunSettings, parse_sweep
from benchmark.campaigns.executors import LocalExecutor
from benchmark.scenes.registry import scene_tasks
from benchmark.store import open_store
from benchmark.validity.population import POPULATIONS
from benchmark.validity.study import BASELINES, Hooks, StudyConfig, run_study
from benchmark.validity.tables import policy_table, summary_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scenes",
        nargs="*",
        help="SCENE/TASK pairs, generated:SEED or scene spec files (default: every reference task)",
    )
    parser.add_argument("--seeds", type=int, default=StudyConfig.seeds, help="seeds per cell")
    parser.add_argument("--perturb", nargs="*", default=["object_placement=0.5"])
    parser.add_argument("--policies", nargs="*", help="the population (default: --population's)")
    parser.add_argument(
        "--population",
        default="baselines",
        choices=POPULATIONS,
        help="baselines: the scripted expert at seven noise levels and random; learned: the scene's "
        "image_cnn checkpoints (assets/policies/learned), each at its own image size",
    )
    parser.add_argument(
        "--image-size", type=int, help="square images for every policy (px; default 160, learned: their own)"
    )
    parser.add_argument("--max-seconds", type=float, default=12.0, help="episode length (s)")
    parser.add_argument("--splat-steps", type=int, default=300)
    parser.add_argument("--ablate", default="auto", choices=("auto", "always", "never"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path.home() / ".cache" / "twinarena" / "validity-study")
    parser.add_argument("--db", help="store URL (default: a SQLite file in --out)")
    args = parser.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    pairs = args.scenes or [f"{scene}/{task}" for scene, task in scene_tasks()]
    args.out.mkdir(parents=True, exist_ok=True)
    err = Console(stderr=True)
    learned = args.population == "learned" and not args.policies
    policies = tuple(args.policies) if args.policies else None if learned else BASELINES
    size = args.image_size or (None if learned else 160)
    config = StudyConfig(
        policies=policies,
        population=args.population,
        sweeps=tuple(parse_sweep(p) for p in args.perturb),
        seeds=args.seeds,
        settings=RunSettings(image_size=(size, size) if size else None, max_seconds=args.max_seconds),
        splat_steps=args.splat_steps,
        ablate=args.ablate,
    )
    hooks = Hooks(stage=lambda text: err.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {text}"))
    results, start = [], time.perf_counter()
    with open_store(args.db or f"sqlite:///{args.out / 'twinarena.db'}", args.out / "artefacts") as store:
        for pair in pairs:
            t0 = time.perf_counter()
            folder = args.out / pair.replace("/", "__").replace(":", "_")
            result = run_study(
                store, pair, folder / "demo", folder / "twin", config, LocalExecutor(args.workers), hooks
            )
            result["seconds"] = round(time.perf_counter() - t0, 1)
            results.append(result)
            err.print(policy_table(result))
            err.print(f"{pair}: {result['seconds']:.0f} s")
    err.print(summary_table(results))
    summary = {
        "results": results,
        "all_meet_targets": all(r["passed"] for r in results),
        "seconds": round(time.perf_counter() - start, 1),
        "config": {
            "population": args.population,
            "policies": sorted({p["policy"] for r in results for p in r["per_policy"]}),
            "seeds": config.seeds,
            "perturb": args.perturb,
            "image_size": size,
            "max_seconds": args.max_seconds,
        },
    }
    json.dump(summary, sys.stdout, indent=1, default=str)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
