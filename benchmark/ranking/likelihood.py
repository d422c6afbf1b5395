"""The Bradley–Terry likelihood (with ties counted half, or Davidson's model) and its maximum
a-posteriori fit by damped Newton, over comparisons aggregated per pair of policies.

Each pair-cell depends on theta only through d = theta_i - theta_j (and Davidson's eta = log nu),
so gradients and Hessians are computed per cell in these local coordinates and scattered.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from benchmark.ranking.table import A_WINS, TIE, Comparisons

TIE_MODELS = ("half", "davidson")


def _check_model(ties: str, prior: float) -> None:
    if ties not in TIE_MODELS:
        raise ValueError(f"ties={ties!r}: expected one of {TIE_MODELS}")
    if not prior >= 0:
        raise ValueError(f"prior={prior!r}: expected a number >= 0")


@dataclass(frozen=True)
class Cells:
    """Comparisons aggregated per unordered pair ``i < j``: ``counts[:, 0]`` wins of ``i``,
    ``counts[:, 1]`` wins of ``j``, ``counts[:, 2]`` ties (float, so resamples and weights fit)."""

    size: int
    i: np.ndarray
    j: np.ndarray
    counts: np.ndarray


def aggregate(table: Comparisons) -> Cells:
    """The pairs that were compared, with outcome counts (a/b order folded: BT has no side bias)."""
    a, b, w = table.a, table.b, table.winner
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    # outcome from lo's side: 0 = lo wins, 1 = hi wins, 2 = tie
    lo_wins = (w == A_WINS) == (a == lo)
    outcome = np.where(w == TIE, 2, np.where(lo_wins, 0, 1))
    size = len(table.policies)
    flat = np.bincount((lo * size + hi) * 3 + outcome, minlength=size * size * 3).reshape(-1, 3)
    pairs = np.flatnonzero(flat.sum(axis=1))
    return Cells(size, pairs // size, pairs % size, flat[pairs].astype(np.float64))


def _resample(cells: Cells, rng: np.random.Generator) -> Cells:
    """A bootstrap resample: a multinomial draw over the (pair, outcome) cells with the total
    count is exactly resampling the comparisons with replacement."""
    flat = cells.counts.ravel()
    total = int(round(flat.sum()))
    keep = np.flatnonzero(flat)
    drawn = np.zeros_like(flat)
    drawn[keep] = rng.multinomial(total, flat[keep] / total)
    return Cells(cells.size, cells.i, cells.j, drawn.reshape(-1, 3))


def _strongly_connected(cells: Cells) -> bool:
    """Whether every policy is reachable from every other along "won or tied against" edges, the
    condition for the unregularised MLE to exist (finite)."""
    won_i = cells.counts[:, 0] + cells.counts[:, 2] > 0
    won_j = cells.counts[:, 1] + cells.counts[:, 2] > 0
    src = np.concatenate([cells.i[won_i], cells.j[won_j]])
    dst = np.concatenate([cells.j[won_i], cells.i[won_j]])
    graph = coo_matrix((np.ones(len(src)), (src, dst)), shape=(cells.size, cells.size))
    return connected_components(graph, directed=True, connection="strong")[0] == 1


def _scatter(size: int, cells: Cells, local: np.ndarray) -> np.ndarray:
    """Sum over cells of ``J' L J`` where ``J`` maps (theta[, eta]) to the cell's (d[, eta]) and
    ``L = local[c]`` (m x k x k, k = 1 or 2). Returns the (size + k - 1) square matrix."""
    k = local.shape[1]
    dim = size + k - 1
    i, j, dd = cells.i, cells.j, local[:, 0, 0]
    rows = [i, j, i, j]
    cols = [i, j, j, i]
    vals = [dd, dd, -dd, -dd]
    if k == 2:
        de, ee = local[:, 0, 1], local[:, 1, 1]
        eta = np.full_like(i, size)
        rows += [i, j, eta, eta, eta]
        cols += [eta, eta, i, j, eta]
        vals += [de, -de, de, -de, ee]
    flat = np.concatenate(rows) * dim + np.concatenate(cols)
    return np.bincount(flat, np.concatenate(vals), minlength=dim * dim).reshape(dim, dim)


def _local(cells: Cells, x: np.ndarray, model: str):
    """Per-cell log-likelihood, gradient (m x k) and Hessian (m x k x k) in (d[, eta]), and the
    per-outcome scores (m x 3 x k) of a single comparison, for the sandwich's meat."""
    d = x[cells.i] - x[cells.j]
    wins, losses, t = cells.counts.T
    n = wins + losses + t
    if model == "half":
        s = special.expit(d)
        ll = (wins + t / 2) * special.log_expit(d) + (losses + t / 2) * special.log_expit(-d)
        grad = ((wins + t / 2) - n * s)[:, None]
        hess = (-n * s * (1 - s))[:, None, None]
        scores = np.stack([1 - s, -s, 0.5 - s], axis=1)[:, :, None]
        return ll, grad, hess, scores
    # Davidson in u = d / 2 and eta = log nu: an exponential family with statistics
    # (1[i wins] - 1[j wins], 1[tie]), so the Hessian is minus their covariance.
    u, eta = d / 2, x[-1]
    log_z = np.logaddexp(np.logaddexp(u, -u), eta)
    pw, pl, pt = np.exp(u - log_z), np.exp(-u - log_z), np.exp(eta - log_z)
    ll = (wins - losses) * u + t * eta - n * log_z
    mean_u = pw - pl
    grad = np.stack([((wins - losses) - n * mean_u) / 2, t - n * pt], axis=1)
    var_u, cov, var_t = pw + pl - mean_u**2, -mean_u * pt, pt * (1 - pt)
    hess = -n[:, None, None] * np.stack(
        [np.stack([var_u / 4, cov / 2], 1), np.stack([cov / 2, var_t], 1)], axis=1
    )
    su = np.stack([1 - mean_u, -1 - mean_u, -mean_u], axis=1) / 2
    se = np.stack([-pt, -pt, 1 - pt], axis=1)
    return ll, grad, hess, np.stack([su, se], axis=2)


def _objective(cells: Cells, x: np.ndarray, model: str, prior: float):
    """Log-posterior, its gradient and Hessian in (theta[, eta])."""
    size = cells.size
    ll, grad, hess, _ = _local(cells, x, model)
    g = np.bincount(cells.i, grad[:, 0], size) - np.bincount(cells.j, grad[:, 0], size)
    if model == "davidson":
        g = np.append(g, grad[:, 1].sum())
    h = _scatter(size, cells, hess)
    value = ll.sum()
    if prior:
        theta = x[:size]
        value += prior * (special.log_expit(theta) + special.log_expit(-theta)).sum() / 2
        s = special.expit(theta)
        g[:size] += prior * (0.5 - s)
        h[np.arange(size), np.arange(size)] -= prior * s * (1 - s)
    return value, g, h


def _centring(size: int, dim: int) -> np.ndarray:
    """``v v'`` for the unit vector along (1, ..., 1[, 0]): the direction BT cannot identify."""
    v = np.zeros(dim)
    v[:size] = 1 / np.sqrt(size)
    return np.outer(v, v)


def _fit(
    cells: Cells,
    model: str,
    prior: float,
    start: np.ndarray | None = None,
    tol: float = 1e-10,
    max_iter: int = 100,
) -> np.ndarray:
    """Maximum a-posteriori (theta[, eta]) by damped Newton from ``start`` (default 0; a finite
    earlier fit saves iterations), theta centred to mean 0."""
    size = cells.size
    if model == "davidson":
        ties = cells.counts[:, 2].sum()
        if ties == 0:  # nu -> 0: Davidson is BT without ties
            start = None if start is None else start[:size]
            return np.append(_fit(cells, "half", prior, start, tol, max_iter), -np.inf)
        if ties == cells.counts.sum():
            raise ValueError("ties='davidson' needs at least one decisive comparison: all are ties")
    if prior == 0 and not _strongly_connected(cells):
        raise ValueError(
            "the maximum-likelihood ratings do not exist (some policies never won, or never lost, "
            "against the rest, or the comparison graph is disconnected); use prior > 0"
        )
    dim = size + (model == "davidson")
    x = np.zeros(dim)
    if model == "davidson":
        x[-1] = np.log(max(cells.counts[:, 2].sum(), 0.5) / cells.counts.sum())
    if start is not None and np.all(np.isfinite(start)) and len(start) == dim:
        x = np.array(start, np.float64)
    fix = _centring(size, dim) if prior == 0 else 0.0
    value, g, h = _objective(cells, x, model, prior)
    for _ in range(max_iter):
        step = np.linalg.solve(fix - h, g)
        if model == "davidson":  # keep eta steps moderate far from the optimum
            step *= min(1.0, 5.0 / max(abs(step[-1]), 1e-300))
        decrease = g @ step  # predicted increase of the log-posterior
        scale = 1.0
        while True:
            trial = x + scale * step
            new_value, new_g, new_h = _objective(cells, trial, model, prior)
            if new_value >= value + 1e-4 * scale * decrease or scale < 1e-8:
                break
            scale /= 2
        x, value, g, h = trial, new_value, new_g, new_h
        if np.max(np.abs(scale * step)) < tol:
            break
    else:
        raise ValueError(f"Bradley–Terry fit did not converge in {max_iter} Newton steps")
    x[:size] -= x[:size].mean()
    return x
