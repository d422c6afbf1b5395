"""How two judges' scores of the same policies agree: Spearman's rho, Kendall's tau-b, pairwise
accuracy."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy import stats


def pair_signs(x) -> np.ndarray:
    """``sign(x_i - x_j)`` for every pair i < j (row-major), the order of each pair."""
    x = np.asarray(x, np.float64)
    return np.sign(x[:, None] - x[None, :])[np.triu_indices(len(x), 1)]


def kendall_tau_b(x, y) -> float:
    """Kendall's tau-b of two equally long score vectors: (concordant - discordant) /
    sqrt((pairs - ties in x)(pairs - ties in y)); NaN when either ties every pair."""
    return _tau_b(pair_signs(x), pair_signs(y))


def _tau_b(sx: np.ndarray, sy: np.ndarray) -> float:
    denominator = np.sqrt(np.count_nonzero(sx) * np.count_nonzero(sy))
    return float((sx * sy).sum() / denominator) if denominator else float("nan")


def agreement(scores_x, scores_y) -> dict:
    """How two judges' scores of the same policies agree: Spearman's rho, Kendall's tau-b and the
    pairwise accuracy (the fraction of policy pairs both order the same way, a tie matching only a
    tie). Scores are equal-length sequences, or mappings policy -> score with the same keys.
    A coefficient is NaN where it is undefined (a judge giving every policy the same score)."""
    if isinstance(scores_x, Mapping) or isinstance(scores_y, Mapping):
        if not (isinstance(scores_x, Mapping) and isinstance(scores_y, Mapping)):
            raise ValueError("agreement: give both scores as mappings, or both as sequences")
        if set(scores_x) != set(scores_y):
            missing = sorted(set(scores_x) ^ set(scores_y))
            raise ValueError(f"agreement: policies scored by only one judge: {missing}")
        keys = sorted(scores_x)
        scores_x, scores_y = [scores_x[k] for k in keys], [scores_y[k] for k in keys]
    x, y = np.asarray(scores_x, np.float64), np.asarray(scores_y, np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"agreement: scores of shapes {x.shape} and {y.shape}; expected equal 1-D")
    if len(x) < 2:
        raise ValueError("agreement: needs at least two policies")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("agreement: scores must be finite")
    sx, sy = pair_signs(x), pair_signs(y)
    tau = _tau_b(sx, sy)
    rx, ry = stats.rankdata(x) - (len(x) + 1) / 2, stats.rankdata(y) - (len(y) + 1) / 2
    norm = np.sqrt((rx @ rx) * (ry @ ry))
    rho = float(rx @ ry / norm) if norm else float("nan")
    return {
        "spearman": rho,
        "kendall_tau_b": tau,
        "pairwise_accuracy": float(np.mean(sx == sy)),
        "n": len(x),
    }
