"""Active pair selection against uniform random pairs, with simulated annotators. Prints JSON.

Ground truth per seed: ``--policies`` BT log-strengths drawn from a normal with standard deviation
``--spread`` rating points (an arena-like field: most policies in the middle, close neighbours by
chance, a few far ahead or behind). Votes follow Davidson's tie model (``--nu``; 0.3 gives 13 %
ties between equals) and a fraction ``--random-votes`` of them is replaced by a uniformly random
``a``/``b``/``tie`` (careless annotators). Both strategies label ``--batch`` comparisons between
refits; ``active`` asks :func:`benchmark.ranking.next_pairs`, ``uniform`` draws pairs at random.
Every ``--every`` comparisons the BT ratings (default prior) are scored by Kendall's tau against the
truth. Reported: the seed-averaged tau curves, the comparisons each strategy needs until its
averaged curve reaches ``--target`` and stays there, and their ratio (the goal: at most 0.6); for
robustness, that ratio over bootstrap resamples of the seeds and per quarter of them, and each
seed's own counts and ratio (median).

For scale, ``static_bound`` (skip with ``--no-bound``): the same ratio for the best fixed
allocation of comparisons over pairs, chosen knowing the true ratings, under the normal
approximation of the BT estimate (its uniform prediction can be checked against the measured
uniform curve). In that model no allocation fixed in advance needs fewer comparisons, even one
chosen with the truth known, so a ratio below the bound is reachable only by adapting to the votes.

    python bench/active_ranking.py [--seeds 80] [--policies 20] [--spread 200] [--budget 5000] \\
        [--batch 10] [--target 0.9] [--plot curve.png]
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
import time

import numpy as np
from scipy import stats

from benchmark import ranking as R

GOAL = 0.6  # active must reach the target with at most this fraction of uniform's comparisons


def davidson(gap: np.ndarray, nu: float) -> np.ndarray:
    """Outcome probabilities ``[..., (B_WINS, A_WINS, TIE)]`` of Davidson's model for true
    log-strength differences ``gap = theta_a - theta_b``."""
    u = np.asarray(gap, dtype=float) / 2
    weights = np.stack([np.exp(-u), np.exp(u), np.full_like(u, nu)], axis=-1)
    return weights / weights.sum(axis=-1, keepdims=True)


def votes(theta: np.ndarray, a: np.ndarray, b: np.ndarray, rng, nu: float, noise: float) -> np.ndarray:
    """Winner codes for comparisons ``a[k]`` vs ``b[k]``: Davidson's model, then a fraction
    ``noise`` of the votes replaced by uniformly random ones."""
    cumulative = np.cumsum(davidson(theta[a] - theta[b], nu), axis=1)
    winner = (rng.random(len(a))[:, None] > cumulative[:, :-1]).sum(axis=1)
    careless = rng.random(len(a)) < noise
    winner[careless] = rng.integers(0, 3, careless.sum())
    return winner.astype(np.int8)


# --- the static bound: the best fixed allocation of comparisons, with the true ratings known ---


def information(gap: np.ndarray, nu: float, noise: float) -> np.ndarray:
    """Fisher information about ``gap`` that one comparison carries when scored as a half-win
    (``y`` = 1, 1/2 or 0; the ``ties="half"`` fit): ``(dE[y]/dgap)^2 / Var(y)`` under Davidson's
    model with a fraction ``noise`` of uniformly random votes."""
    p = (1 - noise) * davidson(gap, nu) + noise / 3
    mean, square = p[..., 1] + p[..., 2] / 2, p[..., 1] + p[..., 2] / 4
    u = np.asarray(gap, dtype=float) / 2
    total = np.exp(u) + np.exp(-u) + nu
    slope = (1 - noise) / 2 * (np.exp(u) / total - (np.exp(u) + nu / 2) * (np.exp(u) - np.exp(-u)) / total**2)
    return slope**2 / (square - mean**2)


def expected_discordance(allocation: np.ndarray, gap: np.ndarray, info: np.ndarray, size: int):
    """Expected number of misordered pairs, and its gradient in ``allocation``, when the pairs
    ``triu_indices(size, 1)`` are compared ``allocation`` times each (normal approximation: the
    estimated difference of pair ``kl`` is ``N(gap_kl, v_kl)``, ``v`` from the pseudo-inverse of
    the information Laplacian). ``dv_kl / dn_ij = -info_ij ((P x_ij)_k - (P x_ij)_l)^2``."""
    upper = np.triu_indices(size, 1)
    information_weight = np.zeros((size, size))
    information_weight[upper] = allocation * info
    inverse = np.linalg.pinv(R.laplacian(information_weight + information_weight.T))
    v = R.pair_quadratic(inverse)[upper]
    z = np.abs(gap) / np.sqrt(v)
    weight = np.zeros((size, size))
    weight[upper] = stats.norm.pdf(z) * z / (2 * v)  # d Phi(-|gap| / sqrt(v)) / dv
    quadratic = R.pair_quadratic(inverse @ R.laplacian(weight + weight.T) @ inverse)[upper]
    return float(stats.norm.cdf(-z).sum()), -info * quadratic


def best_static_design(total: float, gap, info, size: int, start=None, steps: int = 150):
    """The least expected discordance over allocations of ``total`` comparisons (exponentiated
    gradient on the simplex, from ``start`` or the uniform allocation) and that allocation."""
    allocation = np.full(len(gap), total / len(gap)) if start is None else start * total / start.sum()
    best = (np.inf, allocation)
    for _ in range(steps):
        value, gradient = expected_discordance(allocation, gap, info, size)
        best = min(best, (value, allocation), key=lambda pair: pair[0])
        benefit = -gradient * total
        allocation = allocation * np.exp(benefit / np.abs(benefit).max())
        allocation = allocation * total / allocation.sum()
    return best


def static_bound(thetas: list[np.ndarray], args) -> dict:
    """Comparisons until the seed-averaged expected Kendall tau reaches the target: for uniform
    allocation (the model's prediction of the measured uniform curve) and for the best fixed
    allocation chosen with the true ratings known. Their ratio is what any design that does not
    react to the votes can reach; only adaptive selection can go below it."""
    size = args.policies
    pairs = size * (size - 1) // 2
    grid = np.unique(np.round(pairs * np.geomspace(1, 100, 25)).astype(int))
    upper = np.triu_indices(size, 1)
    curves = {"uniform": [], "best_static": []}
    for theta in thetas:
        gap = (theta[:, None] - theta[None, :])[upper]
        info = information(gap, args.nu, args.random_votes)
        allocation = None
        uniform, best = [], []
        for total in grid:
            uniform.append(expected_discordance(np.full(pairs, total / pairs), gap, info, size)[0])
            value, allocation = best_static_design(total, gap, info, size, allocation)
            best.append(value)
        curves["uniform"].append(1 - 2 * np.array(uniform) / pairs)
        curves["best_static"].append(1 - 2 * np.array(best) / pairs)

    def needed(tau: np.ndarray) -> int | None:
        if tau[-1] < args.target:
            return None
        return int(round(np.exp(np.interp(args.target, tau, np.log(grid)))))  # tau rises with total

    mean = {k: np.mean(v, axis=0) for k, v in curves.items()}
    need = {k: needed(v) for k, v in mean.items()}
    return {
        "comparisons": grid.tolist(),
        "expected_tau": {k: np.round(v, 4).tolist() for k, v in mean.items()},
        "comparisons_to_target": need,
        "ratio": ratio(need["best_static"], need["uniform"]),
    }


def run(strategy: str, theta: np.ndarray, seed: int, args) -> np.ndarray:
    """Kendall tau against the truth after every ``args.every`` comparisons."""
    size = len(theta)
    names = tuple(f"policy_{k:02d}" for k in range(size))
    vote_rng, pick_rng = np.random.default_rng([seed, 1]), np.random.default_rng([seed, 2])
    a, b, winner, curve = [], [], [], []
    while len(a) < args.budget:
        if strategy == "uniform" or not a:
            i = pick_rng.integers(0, size, args.batch)
            j = (i + pick_rng.integers(1, size, args.batch)) % size
        else:
            table = R.Comparisons(names, np.array(a), np.array(b), np.array(winner))
            pairs = R.next_pairs(table, names, args.batch, pick_rng, explore=args.explore)
            i = np.array([names.index(p) for p, _ in pairs])
            j = np.array([names.index(q) for _, q in pairs])
        w = votes(theta, i, j, vote_rng, args.nu, args.random_votes)
        before = len(a)
        a += i.tolist()
        b += j.tolist()
        winner += w.tolist()
        if len(a) // args.every > before // args.every:
            table = R.Comparisons(names, np.array(a), np.array(b), np.array(winner))
            curve.append(stats.kendalltau(R.bradley_terry(table).rating, theta).statistic)
    return np.array(curve)


def reach(curve: np.ndarray, every: int, target: float) -> int | None:
    """Comparisons after which the curve is at or above ``target`` to the end; None if never."""
    below = np.flatnonzero(curve < target)
    first = 0 if below.size == 0 else below[-1] + 1
    return None if first == len(curve) else int((first + 1) * every)


def ratio(active: int | None, uniform: int | None) -> float | None:
    return None if active is None or uniform is None else round(active / uniform, 3)


def paired(per_seed: dict, never: int) -> dict:
    """Each seed's own active / uniform ratio (a strategy that never reached counts as ``never``)."""
    ratios = np.array(
        [(a or never) / (u or never) for a, u in zip(per_seed["active"], per_seed["uniform"], strict=True)]
    )
    return {
        "median": round(float(np.median(ratios)), 3),
        "fraction_within_goal": round(float(np.mean(ratios <= GOAL)), 3),
    }


def seed_bootstrap(curves: dict, args, rounds: int = 1000) -> dict:
    """The ratio's spread over resamples of the seeds (paired: both strategies share them)."""
    rng = np.random.default_rng(0)
    never = args.budget + args.every
    ratios = []
    for _ in range(rounds):
        pick = rng.integers(0, args.seeds, args.seeds)
        need = [reach(curves[k][pick].mean(axis=0), args.every, args.target) for k in ("active", "uniform")]
        ratios.append((need[0] or never) / (need[1] or never))
    ratios = np.array(ratios)
    return {
        "p05": round(float(np.quantile(ratios, 0.05)), 3),
        "median": round(float(np.median(ratios)), 3),
        "p95": round(float(np.quantile(ratios, 0.95)), 3),
        "fraction_within_goal": round(float(np.mean(ratios <= GOAL)), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=80)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--policies", type=int, default=20)
    parser.add_argument("--spread", type=float, default=200.0, help="sd of true ratings (points)")
    parser.add_argument("--nu", type=float, default=0.3, help="Davidson tie parameter of the truth")
    parser.add_argument("--random-votes", type=float, default=0.1)
    parser.add_argument("--budget", type=int, default=5000)
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--batch", type=int, default=10)
    explore = inspect.signature(R.next_pairs).parameters["explore"].default
    parser.add_argument("--explore", type=float, default=explore, help="next_pairs' share of random picks")
    parser.add_argument("--target", type=float, default=0.9)
    parser.add_argument("--plot", help="write the curves to this PNG (needs matplotlib)")
    parser.add_argument("--no-bound", action="store_true", help="skip the best-static-design bound")
    args = parser.parse_args()
    if args.budget % args.every or args.every % args.batch:
        parser.error("--budget must be a multiple of --every, and --every of --batch")

    start = time.perf_counter()
    curves = {"uniform": [], "active": []}
    thetas = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        theta = np.random.default_rng([seed, 0]).normal(0, args.spread / R.ELO_SCALE, args.policies)
        thetas.append(theta)
        for strategy, runs in curves.items():
            runs.append(run(strategy, theta, seed, args))
        print(".", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    curves = {k: np.array(v) for k, v in curves.items()}

    def reached(rows: np.ndarray) -> int | None:
        return reach(rows.mean(axis=0), args.every, args.target)

    need = {k: reached(v) for k, v in curves.items()}
    quarters = [
        {k: reached(v[q::4]) for k, v in curves.items()} for q in range(4) if len(range(q, args.seeds, 4))
    ]
    for row in quarters:
        row["ratio"] = ratio(row["active"], row["uniform"])
    per_seed = {
        k: [reach(c, args.every, args.target) for c in v] for k, v in curves.items()
    }  # None: not within the budget
    never = args.budget + args.every
    overall = ratio(need["active"], need["uniform"])
    resampled = seed_bootstrap(curves, args)
    result = {
        "bench": "active_ranking",
        "settings": {k: v for k, v in vars(args).items() if k not in ("plot", "no_bound")},
        "comparisons": list(range(args.every, args.budget + 1, args.every)),
        "tau_mean": {k: np.round(v.mean(axis=0), 4).tolist() for k, v in curves.items()},
        "tau_sd": {k: np.round(v.std(axis=0), 4).tolist() for k, v in curves.items()},
        "comparisons_to_target": need,
        "ratio": overall,
        "ratio_seed_bootstrap": resampled,
        "ratio_by_seed_quarter": [row["ratio"] for row in quarters],
        "median_comparisons_to_target_per_seed": {
            k: float(np.median([r if r is not None else never for r in v])) for k, v in per_seed.items()
        },
        "seeds_reaching_target_within_budget": {
            k: sum(r is not None for r in v) for k, v in per_seed.items()
        },
        "per_seed_ratio": paired(per_seed, never),
        "goal": f"active <= {GOAL} * uniform",
        "goal_met": overall is not None and overall <= GOAL,
        "goal_met_in_every_quarter": all(r["ratio"] is not None and r["ratio"] <= GOAL for r in quarters),
        "static_bound": None if args.no_bound else static_bound(thetas, args),
        "seconds": round(time.perf_counter() - start, 1),
    }
    if args.plot:
        result["plot"] = plot(result, args.plot)
    print(json.dumps(result))


def plot(result: dict, path: str) -> str:
    """Draw the curves to ``path`` if matplotlib is installed; says what happened."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed: no plot"
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, tau in result["tau_mean"].items():
        ax.plot(result["comparisons"], tau, label=name)
    if result["static_bound"]:
        bound = result["static_bound"]
        labels = {"uniform": "uniform (normal model)", "best_static": "best static, truth known (model)"}
        for name, tau in bound["expected_tau"].items():
            ax.plot(bound["comparisons"], tau, linestyle="--", label=labels[name])
        ax.set_xlim(0, result["comparisons"][-1])
    ax.axhline(result["settings"]["target"], color="grey", linestyle=":")
    ax.set_xlabel("comparisons")
    ax.set_ylabel("Kendall tau vs truth (mean over seeds)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


if __name__ == "__main__":
    main()
