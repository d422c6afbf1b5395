"""Speed of Bradley–Terry ranking: aggregate, fit and bootstrap ``--comparisons`` simulated
comparisons among ``--policies`` policies. Prints JSON with the timing split and whether the
target (fit + ``--rounds`` bootstraps within ``--target`` seconds, from a ready table) is met.
Building the table from ``(a, b, winner)`` string rows and the sandwich are timed on the side.

    python bench/ranking_speed.py [--comparisons 100000] [--policies 100] [--rounds 100] [--target 3]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from scipy import special

from benchmark import ranking as R


def simulated_rows(policies: int, count: int, seed: int) -> list[tuple[str, str, str]]:
    """Comparisons of uniformly random pairs, strengths spread like an arena, 10 % ties."""
    rng = np.random.default_rng(seed)
    theta = rng.normal(0, 1.0, policies)
    a = rng.integers(0, policies, count)
    b = (a + rng.integers(1, policies, count)) % policies
    wins = rng.random(count) < special.expit(theta[a] - theta[b])
    outcome = np.where(rng.random(count) < 0.1, "tie", np.where(wins, "a", "b"))
    names = [f"policy_{k:03d}" for k in range(policies)]
    return [(names[i], names[j], str(w)) for i, j, w in zip(a, b, outcome, strict=True)]


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comparisons", type=int, default=100_000)
    parser.add_argument("--policies", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--target", type=float, default=3.0, help="seconds for fit + bootstraps")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rows = simulated_rows(args.policies, args.comparisons, args.seed)
    table, build = timed(R.comparisons, rows)
    cells, aggregate = timed(R.aggregate, table)
    theta, fit = timed(R._fit, cells, "half", 1.0)
    samples, bootstraps = timed(R.bootstrap_samples, table, args.rounds, args.seed)
    ratings, rank_total = timed(R.rank, table, "bootstrap", args.rounds, seed=args.seed)
    _, sandwich = timed(R.sandwich_intervals, table)
    total = aggregate + fit + bootstraps
    width = ratings.ci_high - ratings.ci_low
    print(
        json.dumps(
            {
                "bench": "ranking_speed",
                "comparisons": args.comparisons,
                "policies": args.policies,
                "pairs_compared": len(cells.i),
                "rounds": args.rounds,
                "seconds": {
                    "table_from_rows": round(build, 4),
                    "aggregate": round(aggregate, 4),
                    "fit": round(fit, 4),
                    "bootstraps": round(bootstraps, 4),
                    "per_bootstrap": round(bootstraps / args.rounds, 5),
                    "aggregate_fit_bootstraps": round(total, 4),
                    "rank_end_to_end": round(rank_total, 4),
                    "sandwich": round(sandwich, 4),
                },
                "median_ci_width": round(float(np.median(width)), 2),
                "target_seconds": args.target,
                "target_met": total <= args.target,
            }
        )
    )


if __name__ == "__main__":
    main()
