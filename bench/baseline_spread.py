"""Success of the learned baselines: every member of the learned population
(``assets/policies/learned/SCENE/``, made by ``bench/learned_population.py``) in its reference
twin, on evaluation seeds the demonstrations never used (they start at 1000). Prints JSON; a
table goes to stderr as rows finish. Each rate has its 95 % Wilson interval and the number of
distinct trials (episodes whose trajectories differ; identical ones count once, as on the
leaderboard).

    python bench/baseline_spread.py [--tasks tray_pick/cube_in_tray ...] [--seeds 20] [--first-seed 0]
        [--perturb object_placement=0.5] [--policies vision-expert random] [--members cnn-e015]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from benchmark.campaigns.campaign import WRIST_NAMES
from benchmark.episodes.env import EnvConfig, TwinEnv
from benchmark.episodes.episode import run_episode
from benchmark.perturbations.axes import parse_perturbation
from benchmark.policies.architectures import load_weights_policy
from benchmark.policies.builtin import builtin_policy
from benchmark.scenes.authored import reference_twin
from benchmark.store.queries import wilson_interval
from benchmark.validity.population import LEARNED_ROOT, learned_members

TASKS = ("tray_pick/cube_in_tray", "block_push/block_to_square")
EXPERT_SIZE = (128, 128)


def evaluate(twin: Path, make_policy, info: dict, seeds: list[int], perturb: tuple) -> dict:
    """One row: ``make_policy(env, seed)`` run on ``seeds``."""
    static = tuple(c for c in info["cameras"] if c not in WRIST_NAMES)
    config = EnvConfig(
        image_size=tuple(info["image_size"]),
        cameras=static or None,
        wrist_camera=len(static) < len(info["cameras"]),
        render="mesh",
        perturbations=tuple(parse_perturbation(p) for p in perturb),
    )
    env = TwinEnv(twin, config)
    start = time.perf_counter()
    try:
        outcomes = [run_episode(env, make_policy(env, seed), seed) for seed in seeds]
    finally:
        env.close()
    distinct = {o.trace: o for o in outcomes}.values()
    successes, n = sum(o.success for o in distinct), len(distinct)
    low, high = wilson_interval(successes, n)
    return {
        "successes": successes,
        "trials": n,
        "episodes": len(outcomes),
        "success_rate": successes / n,
        "interval": [round(low, 3), round(high, 3)],
        "mean_progress": round(float(np.mean([o.progress for o in outcomes])), 3),
        "terminations": sorted({o.termination for o in outcomes}),
        "seconds": round(time.perf_counter() - start, 1),
    }


def population(scene: str, root: Path, members: list[str] | None, extra: list[str]):
    """(name, make_policy, info) for the learned members of ``scene`` and the ``extra`` built-ins."""
    rows = []
    for folder in learned_members(root / scene):
        if members and folder.name not in members:
            continue
        policy = load_weights_policy(folder, folder.name)
        info = {"image_size": policy.info.image_size, "cameras": policy.info.cameras}
        training = json.loads((folder / "training.json").read_text())
        rows.append((folder.name, lambda env, seed, policy=policy: policy, info, training))
    for spec in extra:
        name, _, noise = spec.partition("?noise=")
        size = EXPERT_SIZE if name == "vision-expert" else (64, 64)

        def make(env, seed, name=name, noise=noise):
            return builtin_policy(name, env, seed, *([float(noise)] if noise else []))

        rows.append((spec, make, {"image_size": size, "cameras": ()}, None))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), help="SCENE/TASK pairs")
    parser.add_argument("--seeds", type=int, default=20, help="evaluation episodes per policy")
    parser.add_argument("--first-seed", type=int, default=0, help="the first evaluation seed")
    parser.add_argument("--perturb", nargs="*", default=[], help="AXIS=LEVEL (default: unperturbed)")
    parser.add_argument("--members", nargs="*", help="only these members of the learned population")
    parser.add_argument("--policies", nargs="*", default=[], help="built-ins to score beside them")
    parser.add_argument("--root", type=Path, default=LEARNED_ROOT, help="the learned populations")
    args = parser.parse_args()
    torch.set_num_threads(1)
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    start, results = time.perf_counter(), []
    for pair in args.tasks:
        scene, task = pair.split("/")
        twin = reference_twin(scene, task)
        print(f"{pair}: {'policy':16s} {'success':>9s} {'95% Wilson':>13s} {'progress':>9s}", file=sys.stderr)
        for name, make, info, training in population(scene, args.root, args.members, args.policies):
            row = {"task": pair, "policy": name, **evaluate(twin, make, info, seeds, tuple(args.perturb))}
            if training is not None:
                row["training"] = {
                    k: training[k] for k in ("epochs", "episodes", "samples", "seconds", "threads")
                }
            results.append(row)
            low, high = row["interval"]
            print(
                f"{pair}: {name:16s} {row['successes']:>4d}/{row['trials']:<4d} {low:>6.2f}–{high:<6.2f} "
                f"{row['mean_progress']:>9.2f}",
                file=sys.stderr,
                flush=True,
            )
    summary = {
        "seeds": [seeds[0], seeds[-1]],
        "perturbations": args.perturb,
        "rows": results,
        "seconds": round(time.perf_counter() - start, 1),
    }
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
