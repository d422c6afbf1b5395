"""Rank policies from pairwise comparisons: Bradley–Terry ratings with confidence intervals, rank
intervals, online Elo, judge agreement and active choice of the next pairs to compare.

Pure functions over a :class:`Comparisons` table (numpy + scipy; no store, no pandas)::

    table = comparisons([("pi0", "octo", "a"), ("octo", "rt1", "tie"), ...])
    ratings = rank(table, ci="bootstrap", rounds=100)   # Ratings: rating, ci_low/high, rank_low/high
    pairs = next_pairs(table, ["pi0", "octo", "rt1", "new"], n=8, rng=0)

Conventions (the same everywhere below):

- **Scale.** Natural log-strengths ``theta`` (``P(i beats j) = sigmoid(theta_i - theta_j)``) are
  reported as ``rating = 1000 + 400 * log10(strength) = 1000 + 400 / ln(10) * theta`` with theta
  centred to mean 0, so the mean rating is 1000 and 400 points are odds of 10:1 (Elo's scale).
- **Ties.** ``ties="half"`` counts a tie as half a win for each side (FastChat's convention: the tie
  becomes two half-weighted rows). ``ties="davidson"`` fits Davidson's (1970) model instead,
  ``P(tie) = nu * sqrt(s_i s_j) / (s_i + s_j + nu * sqrt(s_i s_j))`` with ``nu`` fitted too.
- **Prior.** ``prior=p`` gives every policy ``p`` virtual comparisons, all ties, against a
  reference of log-strength 0. It keeps ratings finite for a policy that never lost (or never won)
  and for a disconnected comparison graph, where the MLE does not exist; its pull is bounded
  (at most ``p / 2`` wins' worth), so it is negligible once a policy has many comparisons.
  ``prior=0`` is the plain MLE, identified by centring (Newton steps on the sum-zero subspace);
  it needs a strongly connected win graph and raises ValueError otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy import special, stats
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

B_WINS, A_WINS, TIE = 0, 1, 2  # Comparisons.winner codes
WINNERS = {"b": B_WINS, "a": A_WINS, "tie": TIE}
ELO_SCALE = 400.0 / np.log(10.0)  # rating points per unit of natural log-strength
BASE_RATING = 1000.0
TIE_MODELS = ("half", "davidson")


# --- the table --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparisons:
    """Pairwise comparisons, one per index: policy ``a[k]`` against ``b[k]`` (indices into the
    sorted ``policies``), outcome ``winner[k]``: ``A_WINS`` (1), ``B_WINS`` (0) or ``TIE`` (2).
    Arrays are read-only; ``policies`` may name policies that took part in no comparison."""

    policies: tuple[str, ...]
    a: np.ndarray
    b: np.ndarray
    winner: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "policies", tuple(self.policies))
        if list(self.policies) != sorted(set(self.policies)):
            raise ValueError("Comparisons.policies must be sorted and distinct")
        arrays = {}
        for name, dtype in (("a", np.int64), ("b", np.int64), ("winner", np.int8)):
            value = np.asarray(getattr(self, name))
            if value.ndim != 1 or (value.size and not np.issubdtype(value.dtype, np.integer)):
                raise ValueError(f"Comparisons.{name} must be a 1-D integer array")
            value = value.astype(dtype)
            value.flags.writeable = False
            arrays[name] = value
            object.__setattr__(self, name, value)
        a, b, winner = arrays["a"], arrays["b"], arrays["winner"]
        if not len(a) == len(b) == len(winner):
            raise ValueError("Comparisons.a, .b and .winner must have the same length")
        bad = np.flatnonzero((a < 0) | (a >= len(self.policies)) | (b < 0) | (b >= len(self.policies)))
        if bad.size:
            raise ValueError(f"comparison {bad[0]}: policy index out of range")
        bad = np.flatnonzero(a == b)
        if bad.size:
            raise ValueError(f"comparison {bad[0]}: policy {self.policies[a[bad[0]]]!r} compared with itself")
        bad = np.flatnonzero((winner < 0) | (winner > 2))
        if bad.size:
            raise ValueError(f"comparison {bad[0]}: winner code {winner[bad[0]]} is not 0, 1 or 2")

    def __len__(self) -> int:
        return len(self.a)

    def counts(self) -> np.ndarray:
        """Number of comparisons each policy took part in."""
        size = len(self.policies)
        return np.bincount(self.a, minlength=size) + np.bincount(self.b, minlength=size)


def comparisons(rows: Iterable[tuple[str, str, str]], policies: Iterable[str] = ()) -> Comparisons:
    """The table of ``(policy_a, policy_b, winner)`` rows, winner ``"a"``, ``"b"`` or ``"tie"``;
    ``policies`` adds names that have no comparison yet. Rejects an empty input, a policy compared
    with itself and an unknown winner, naming the row."""
    parsed = []
    for number, row in enumerate(rows):
        try:
            pa, pb, outcome = row
        except (TypeError, ValueError):
            raise ValueError(f"row {number} {row!r}: expected (policy_a, policy_b, winner)") from None
        for name in (pa, pb):
            if not isinstance(name, str) or not name:
                raise ValueError(f"row {number} {row!r}: policy {name!r} is not a non-empty string")
        if pa == pb:
            raise ValueError(f"row {number} {row!r}: policy {pa!r} compared with itself")
        if outcome not in WINNERS:
            raise ValueError(f"row {number} {row!r}: winner {outcome!r} is not one of 'a', 'b', 'tie'")
        parsed.append((pa, pb, WINNERS[outcome]))
    if not parsed:
        raise ValueError("no comparisons: rows is empty")
    extra = list(policies)
    for name in extra:
        if not isinstance(name, str) or not name:
            raise ValueError(f"policy {name!r} is not a non-empty string")
    names = tuple(sorted({p for row in parsed for p in row[:2]} | set(extra)))
    index = {name: k for k, name in enumerate(names)}
    a = np.fromiter((index[r[0]] for r in parsed), np.int64, len(parsed))
    b = np.fromiter((index[r[1]] for r in parsed), np.int64, len(parsed))
    winner = np.fromiter((r[2] for r in parsed), np.int8, len(parsed))
    return Comparisons(names, a, b, winner)


def with_policies(table: Comparisons, policies: Iterable[str]) -> Comparisons:
    """The same comparisons over the union of ``table.policies`` and ``policies``."""
    names = tuple(sorted(set(table.policies) | set(policies)))
    if names == table.policies:
        return table
    remap = np.array([names.index(p) for p in table.policies], np.int64)
    return Comparisons(names, remap[table.a], remap[table.b], table.winner)


# --- aggregation ------------------------------------------------------------------------------


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


# --- the likelihood ---------------------------------------------------------------------------
#
# Each pair-cell depends on theta only through d = theta_i - theta_j (and Davidson's eta = log nu),
# so gradients and Hessians are computed per cell in these local coordinates and scattered.


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


# --- ratings ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ratings:
    """Ratings of ``policies`` on Elo's scale (mean 1000) with an interval each, the point rank
    (1 = best; equal ratings share a rank), the rank interval, comparisons taken part in (``n``),
    and how they were computed (``method``). ``tie_param`` is Davidson's nu, if fitted."""

    policies: tuple[str, ...]
    rating: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    rank: np.ndarray
    rank_low: np.ndarray
    rank_high: np.ndarray
    n: np.ndarray
    method: str
    tie_param: float | None = field(default=None)

    def rows(self) -> list[dict]:
        """One dict per policy, best first."""
        order = np.lexsort((np.array(self.policies), -self.rating))
        return [
            {
                "policy": self.policies[k],
                "rating": float(self.rating[k]),
                "ci_low": float(self.ci_low[k]),
                "ci_high": float(self.ci_high[k]),
                "rank": int(self.rank[k]),
                "rank_low": int(self.rank_low[k]),
                "rank_high": int(self.rank_high[k]),
                "n": int(self.n[k]),
            }
            for k in order
        ]


def _check_model(ties: str, prior: float) -> None:
    if ties not in TIE_MODELS:
        raise ValueError(f"ties={ties!r}: expected one of {TIE_MODELS}")
    if not prior >= 0:
        raise ValueError(f"prior={prior!r}: expected a number >= 0")


def to_rating(theta: np.ndarray) -> np.ndarray:
    """Natural log-strengths to Elo's scale, centred so the mean rating is 1000."""
    theta = np.asarray(theta, np.float64)
    return BASE_RATING + ELO_SCALE * (theta - theta.mean(axis=-1, keepdims=True))


def point_ranks(rating: np.ndarray) -> np.ndarray:
    """1 + the number of strictly higher ratings."""
    rating = np.asarray(rating)
    return 1 + (rating[None, :] > rating[:, None]).sum(axis=1)


def rank_intervals(ci_low: np.ndarray, ci_high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best and worst rank each policy could have given the intervals: ``rank_low`` is 1 + the
    number of policies whose ``ci_low`` is above this ``ci_high`` (surely better; Chatbot Arena's
    "rank (UB)"), ``rank_high`` the number whose ``ci_high`` reaches this ``ci_low`` (itself
    included: everyone not surely worse)."""
    lo, hi = np.asarray(ci_low, np.float64), np.asarray(ci_high, np.float64)
    if lo.shape != hi.shape or lo.ndim != 1:
        raise ValueError("ci_low and ci_high must be 1-D arrays of the same length")
    if np.any(lo > hi):
        raise ValueError(f"ci_low > ci_high for policy index {int(np.flatnonzero(lo > hi)[0])}")
    best = 1 + (lo[None, :] > hi[:, None]).sum(axis=1)
    worst = (hi[None, :] >= lo[:, None]).sum(axis=1)
    return best, worst


def _ratings(table, theta, low, high, method, tie_param=None) -> Ratings:
    rating = to_rating(theta)
    best, worst = rank_intervals(low, high)
    return Ratings(
        table.policies, rating, low, high, point_ranks(rating), best, worst, table.counts(), method, tie_param
    )


def bradley_terry(table: Comparisons, ties: str = "half", prior: float = 1.0) -> Ratings:
    """Bradley–Terry ratings (MAP under ``prior``; the MLE when 0), without intervals (each
    ``ci_low = ci_high = rating``). See the module docstring for the tie and prior conventions."""
    _check_model(ties, prior)
    x = _fit(aggregate(table), ties, prior)
    theta = x[: len(table.policies)]
    rating = to_rating(theta)
    nu = float(np.exp(x[-1])) if ties == "davidson" else None
    return _ratings(table, theta, rating, rating.copy(), f"bt-{ties}", nu)


def _quantiles(draws: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    alpha = (1 - level) / 2
    return np.quantile(draws, alpha, axis=0), np.quantile(draws, 1 - alpha, axis=0)


def _check_level(level: float) -> None:
    if not 0 < level < 1:
        raise ValueError(f"level={level!r}: expected a number in (0, 1)")


def bootstrap_samples(
    table: Comparisons, rounds: int = 100, seed: int = 0, ties: str = "half", prior: float = 1.0
) -> np.ndarray:
    """Ratings refitted on ``rounds`` resamples of the comparisons (rounds x policies)."""
    _check_model(ties, prior)
    if rounds < 1:
        raise ValueError(f"rounds={rounds!r}: expected at least 1")
    cells = aggregate(table)
    start = _fit(cells, ties, prior)
    rng = np.random.default_rng(seed)
    draws = [_fit(_resample(cells, rng), ties, prior, start)[: cells.size] for _ in range(rounds)]
    return to_rating(np.array(draws))


def bootstrap_intervals(
    table: Comparisons,
    rounds: int = 100,
    level: float = 0.95,
    seed: int = 0,
    ties: str = "half",
    prior: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile intervals of the ratings over ``rounds`` bootstrap resamples of the comparisons.
    Resampling says nothing about a policy without comparisons: it gets the prior's interval,
    ``rating ± z * 2 / sqrt(prior)`` in log-strength (the prior's curvature at 0 is ``prior / 4``)."""
    _check_level(level)
    low, high = _quantiles(bootstrap_samples(table, rounds, seed, ties, prior), level)
    unseen = table.counts() == 0
    if unseen.any():
        rating = bradley_terry(table, ties, prior).rating[unseen]
        half = stats.norm.ppf(0.5 + level / 2) * ELO_SCALE * 2 / np.sqrt(prior)
        low[unseen], high[unseen] = rating - half, rating + half
    return low, high


def covariance(table: Comparisons, ties: str = "half", prior: float = 1.0, robust: bool = True):
    """Fitted (theta[, eta]) and their covariance, theta block centred: the sandwich
    ``A M A`` (Huber–White; ``A`` the inverse negative Hessian of the log-posterior, ``M`` the
    sum of the comparisons' outer score products, plus the prior's virtual comparisons at their
    model variance so a policy with few comparisons is not falsely certain) or, with
    ``robust=False``, the model-based ``A``."""
    _check_model(ties, prior)
    cells = aggregate(table)
    x = _fit(cells, ties, prior)
    model = ties
    if ties == "davidson" and not np.isfinite(x[-1]):
        model, x = "half", x[:-1]  # no ties: nu = 0 on the boundary; theta as in BT
    size, dim = cells.size, len(x)
    _, _, h = _objective(cells, x, model, prior)
    fix = _centring(size, dim) if prior == 0 else 0.0
    inverse = np.linalg.inv(fix - h)
    if robust:
        _, _, _, scores = _local(cells, x, model)
        local = np.einsum("mo,mok,mol->mkl", cells.counts, scores, scores)
        meat = _scatter(size, cells, local)
        s = special.expit(x[:size])
        meat[np.arange(size), np.arange(size)] += prior * s * (1 - s)
        inverse = inverse @ meat @ inverse
    centre = np.eye(dim)
    centre[:size, :size] -= 1 / size
    return x, centre @ inverse @ centre.T


def sandwich_intervals(
    table: Comparisons, level: float = 0.95, ties: str = "half", prior: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Normal intervals ``rating ± z * se`` with robust (sandwich) standard errors."""
    _check_level(level)
    x, cov = covariance(table, ties, prior, robust=True)
    size = len(table.policies)
    rating = to_rating(x[:size])
    se = ELO_SCALE * np.sqrt(np.clip(np.diag(cov)[:size], 0, None))
    z = stats.norm.ppf(0.5 + level / 2)
    return rating - z * se, rating + z * se


def rank(
    table: Comparisons,
    ci: str = "bootstrap",
    rounds: int = 100,
    level: float = 0.95,
    seed: int = 0,
    ties: str = "half",
    prior: float = 1.0,
) -> Ratings:
    """Bradley–Terry ratings with ``ci="bootstrap"`` (percentile) or ``"sandwich"`` intervals and
    the rank intervals they imply."""
    fitted = bradley_terry(table, ties, prior)
    if ci == "bootstrap":
        low, high = bootstrap_intervals(table, rounds, level, seed, ties, prior)
        method = f"{fitted.method}+bootstrap({rounds})"
    elif ci == "sandwich":
        low, high = sandwich_intervals(table, level, ties, prior)
        method = f"{fitted.method}+sandwich"
    else:
        raise ValueError(f"ci={ci!r}: expected 'bootstrap' or 'sandwich'")
    # percentile intervals need not contain the point estimate; widen to it so ranks stay coherent
    low, high = np.minimum(low, fitted.rating), np.maximum(high, fitted.rating)
    theta = (fitted.rating - BASE_RATING) / ELO_SCALE
    return _ratings(table, theta, low, high, f"{method}@{level:g}", fitted.tie_param)


# --- online Elo -------------------------------------------------------------------------------


def elo(table: Comparisons, k: float = 4.0, base: float = 1000.0, scale: float = 400.0) -> np.ndarray:
    """Sequential online Elo over the comparisons in table order (a tie scores 0.5), starting every
    policy at ``base``; ratings aligned with ``table.policies``. Order-dependent, unlike BT."""
    rating = np.full(len(table.policies), float(base))
    score_a = np.where(table.winner == A_WINS, 1.0, np.where(table.winner == B_WINS, 0.0, 0.5))
    for a, b, sa in zip(table.a.tolist(), table.b.tolist(), score_a.tolist(), strict=True):
        expected = 1.0 / (1.0 + 10.0 ** ((rating[b] - rating[a]) / scale))
        rating[a] += k * (sa - expected)
        rating[b] -= k * (sa - expected)
    return rating


# --- agreement between judges ------------------------------------------------------------------


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


# --- active pair selection ---------------------------------------------------------------------


def next_pairs(
    table: Comparisons | None,
    policies: Iterable[str] | None = None,
    n: int = 1,
    rng: np.random.Generator | int | None = None,
    *,
    explore: float = 0.03,
    prior: float = 1.0,
) -> list[tuple[str, str]]:
    """The next ``n`` pairs ``(a, b)`` to compare among ``policies`` (default: the table's): those
    that shrink the widest intervals that matter for the order first.

    Fits BT on ``table`` (``None``: no comparisons yet; policies it lacks join with none) and takes
    ``N(theta, S)`` for the log-strengths, ``S`` the sandwich covariance (honest about ties and
    careless votes, which carry less information than the model's ``p(1-p)``); a policy without
    comparisons has only the prior's, so the widest interval. Comparing ``i`` with ``j`` (Fisher
    information ``f = p(1-p)``) would shrink the variance ``v_kl`` of every difference
    ``theta_k - theta_l`` by ``f (c_k - c_l)^2 / (1 + f v_ij)``, ``c = S (e_i - e_j)``. Each pick
    is, with probability ``explore``, a uniformly random pair (so no pair starves), otherwise the
    pair maximising the total shrinkage of all ``v_kl``, each weighted by the probability that
    ``k`` and ``l`` are currently misordered, ``Phi(-|theta_k - theta_l| / sqrt(v_kl))``. So the
    widest intervals between close policies go first, far-apart pairs, whose order is settled, wait,
    and a near-tie does not soak up comparisons (one more shrinks an already small ``v`` little).
    (In ``bench/active_ranking.py``, weighting the relative shrinkage, ``/ v_kl``, needed 0-13 %
    more comparisons for the same Kendall tau, and exploring 10 % of picks instead of 3 % about 4 %
    more, within the noise: random pairs are mostly far apart.) After each pick
    ``S`` is updated with the pick's expected information, so a batch spreads out. Sides
    ``a``/``b`` are shuffled."""
    if not prior > 0:
        raise ValueError(f"prior={prior!r}: next_pairs needs prior > 0")
    if not 0 <= explore <= 1:
        raise ValueError(f"explore={explore!r}: expected a number in [0, 1]")
    if n < 0:
        raise ValueError(f"n={n!r}: expected a number >= 0")
    rng = np.random.default_rng(rng)
    candidates = sorted(set(policies if policies is not None else (table.policies if table else ())))
    if len(candidates) < 2:
        raise ValueError(f"next_pairs needs at least two policies, got {candidates}")
    if table is None:
        names, theta, cov = tuple(candidates), np.zeros(len(candidates)), np.eye(len(candidates)) * 4 / prior
    else:
        table = with_policies(table, candidates)
        names = table.policies
        x, cov = covariance(table, "half", prior, robust=True)
        theta = x[: len(names)]
    index = np.array([names.index(p) for p in candidates])
    theta, cov = theta[index], cov[np.ix_(index, index)]
    m = len(candidates)
    diff = theta[:, None] - theta[None, :]
    info = special.expit(diff) * special.expit(-diff)
    upper = np.triu_indices(m, 1)
    picks = []
    for _ in range(n):
        if rng.random() < explore:
            i, j = rng.choice(m, 2, replace=False)
        else:
            gain = _shrinkage(cov, diff, info)[upper]
            best = np.flatnonzero(gain >= gain.max() * (1 - 1e-9))
            k = int(rng.choice(best))
            i, j = upper[0][k], upper[1][k]
        x = np.zeros(m)
        x[i], x[j] = 1.0, -1.0
        cx = cov @ x
        cov = cov - np.outer(cx, cx) * info[i, j] / (1 + info[i, j] * (x @ cx))
        pair = (candidates[i], candidates[j])
        picks.append(pair if rng.random() < 0.5 else pair[::-1])
    return picks


def laplacian(weight: np.ndarray) -> np.ndarray:
    """The graph Laplacian ``diag(W 1) - W`` of a symmetric weight matrix with zero diagonal:
    ``c' L c = sum_{k<l} w_kl (c_k - c_l)^2``."""
    return np.diag(weight.sum(axis=1)) - weight


def pair_quadratic(matrix: np.ndarray) -> np.ndarray:
    """``x' M x`` for ``x = e_i - e_j``, every pair (i, j) at once: ``M_ii + M_jj - 2 M_ij``. With
    ``M`` a covariance, the variances of all differences."""
    diagonal = np.diag(matrix)
    return diagonal[:, None] + diagonal[None, :] - 2 * matrix


def _shrinkage(cov: np.ndarray, diff: np.ndarray, info: np.ndarray) -> np.ndarray:
    """For every pair (i, j): the shrinkage of all difference variances that comparing them would
    bring, each weighted by the probability that its pair is misordered (see :func:`next_pairs`),
    via the Laplacian ``L`` of the weights ``w_kl = P(k, l misordered)``:
    ``sum_kl w_kl (c_k - c_l)^2 = c' L c`` with ``c = S x``."""
    diff_var = np.maximum(pair_quadratic(cov), 1e-12)
    weight = stats.norm.cdf(-np.abs(diff) / np.sqrt(diff_var))
    np.fill_diagonal(weight, 0.0)
    return info / (1 + info * diff_var) * pair_quadratic(cov @ laplacian(weight) @ cov)
