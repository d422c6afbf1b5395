"""Success rates of a baseline population in the tray_pick twin (task cube_in_tray) under one
scenario distribution: the random policy, the vision expert at several noise levels, and the two
built-in architectures behaviour-cloned from the expert's demonstrations. Prints JSON; a table
goes to stderr as rows finish.

Demonstrations use seeds from ``--train-seed`` on (default 1000), evaluation seeds 0…N-1, so no
evaluated start was seen in training. Demonstrations and weights are cached under ``--out``
(default ``~/.cache/twinarena/baselines``).

    python bench/baseline_spread.py [--seeds 20] [--demos 60] [--noise 0 0.0125 ...] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

from benchmark.episodes.env import EnvConfig, TwinEnv
from benchmark.episodes.episode import run_episode
from benchmark.perturbations.axes import parse_perturbation
from benchmark.policies.architectures import load_weights_policy
from benchmark.policies.builtin import builtin_policy
from benchmark.policies.training import TRAINING_FILE, collect_demonstrations, episode_folders, train_baseline
from benchmark.scenes.authored import cache_root, reference_twin

EXPERT_SIZE = (128, 128)  # the vision expert's camera, and the demonstrations' videos


def evaluate(twin: Path, make_policy, info: dict, seeds: int, perturb: tuple) -> dict:
    """One row: ``make_policy(env, seed)`` run on seeds 0…seeds-1."""
    config = EnvConfig(
        image_size=tuple(info["image_size"]),
        cameras=tuple(info["cameras"]) or None,
        render="mesh",
        perturbations=tuple(parse_perturbation(p) for p in perturb),
    )
    env = TwinEnv(twin, config)
    start = time.perf_counter()
    try:
        outcomes = [run_episode(env, make_policy(env, seed), seed) for seed in range(seeds)]
    finally:
        env.close()
    successes = sum(o.success for o in outcomes)
    return {
        "episodes": seeds,
        "successes": successes,
        "success_rate": successes / seeds,
        "mean_progress": round(float(np.mean([o.progress for o in outcomes])), 3),
        "terminations": sorted({o.termination for o in outcomes}),
        "seconds": round(time.perf_counter() - start, 1),
    }


def trained(twin: Path, args, out: Path) -> tuple[dict[str, Path], dict]:
    """Weights folders of both architectures and a record of how they were made; demonstrations
    are collected and networks trained unless cached under ``out``."""
    demos = out / f"demos-{args.demos}-s{args.train_seed}"
    if not demos.is_dir():
        scratch = out / f".{demos.name}.partial"
        shutil.rmtree(scratch, ignore_errors=True)
        summary = collect_demonstrations(
            twin, scratch, args.demos, args.train_seed, args.perturb, EXPERT_SIZE, progress=_dot
        )
        print(f"\ndemonstrations: {summary['successes']}/{summary['episodes']} succeeded", file=sys.stderr)
        (scratch / "collection.json").write_text(json.dumps({**summary, "folders": None, "successful": None}))
        os.replace(scratch, demos)
    record = {"demonstrations": json.loads((demos / "collection.json").read_text())}
    del record["demonstrations"]["folders"], record["demonstrations"]["successful"]
    folders = episode_folders(demos)
    weights = {}
    for arch, epochs, size in (
        ("state_mlp", args.mlp_epochs, None),
        ("image_cnn", args.cnn_epochs, (args.cnn_size, args.cnn_size)),
    ):
        folder = out / (f"{arch}-d{args.demos}-e{epochs}" + (f"-{args.cnn_size}px" if size else ""))
        if not (folder / TRAINING_FILE).is_file():
            train_baseline(folders, arch, folder, epochs=epochs, image_size=size, progress=_dot)
        s = json.loads((folder / TRAINING_FILE).read_text())
        print(
            f"\n{arch}: {s['samples']} samples from {s['episodes']} episodes, loss "
            f"{s['first_loss']:.3f} → {s['final_loss']:.3f}, {s['seconds']:.0f} s",
            file=sys.stderr,
        )
        record[arch] = {k: s[k] for k in ("samples", "episodes", "epochs", "final_loss", "seconds")}
        weights[arch] = folder
    return weights, record


def _dot(_: dict) -> None:
    print(".", end="", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=20, help="evaluation episodes per policy")
    parser.add_argument("--demos", type=int, default=60, help="expert episodes to collect for training")
    parser.add_argument("--train-seed", type=int, default=1000)
    parser.add_argument("--mlp-epochs", type=int, default=150)
    parser.add_argument("--cnn-epochs", type=int, default=45)
    parser.add_argument("--cnn-size", type=int, default=EXPERT_SIZE[0], help="image_cnn's square image side")
    parser.add_argument(
        "--noise",
        type=float,
        nargs="+",
        default=[0.0, 0.0125, 0.015, 0.0175],
        help="the vision expert's noise levels (m per step; it fails almost always from 0.02)",
    )
    parser.add_argument("--perturb", nargs="+", default=["object_placement=0.5"])
    parser.add_argument("--out", type=Path, default=cache_root().parent / "baselines", help="cache folder")
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    twin = reference_twin("tray_pick", "cube_in_tray")
    weights, record = trained(twin, args, args.out)
    trained_at = time.perf_counter()

    builtin = {"image_size": EXPERT_SIZE, "cameras": ()}
    population = [
        ("random", lambda env, seed: builtin_policy("random", env, seed), {**builtin, "image_size": (64, 64)})
    ]
    for noise in args.noise:
        population.append(
            (
                f"vision-expert noise={noise:g}",
                lambda env, seed, noise=noise: builtin_policy("vision-expert", env, seed, noise),
                builtin,
            )
        )
    for arch, folder in weights.items():
        policy = load_weights_policy(folder, f"bc-{arch}")
        info = {"image_size": policy.info.image_size, "cameras": policy.info.cameras}
        population.append((f"bc {arch}", lambda env, seed, policy=policy: policy, info))

    rows = []
    print(f"{'policy':28s} {'success':>9s} {'progress':>9s} {'seconds':>8s}", file=sys.stderr)
    for name, make, info in population:
        row = {"policy": name, **evaluate(twin, make, info, args.seeds, tuple(args.perturb))}
        rows.append(row)
        print(
            f"{name:28s} {row['successes']:>4d}/{row['episodes']:<4d} {row['mean_progress']:>9.2f} "
            f"{row['seconds']:>8.1f}",
            file=sys.stderr,
            flush=True,
        )
    rates = [r["success_rate"] for r in rows]
    print(
        json.dumps(
            {
                "twin": "tray_pick/cube_in_tray",
                "perturbations": args.perturb,
                "seeds": args.seeds,
                "demonstrations": args.demos,
                "spread": [min(rates), max(rates)],
                "training": record,
                "training_seconds": round(trained_at - start, 1),
                "seconds": round(time.perf_counter() - start, 1),
                "rows": rows,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
