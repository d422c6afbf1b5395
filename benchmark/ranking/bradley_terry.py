"""Bradley–Terry ratings with bootstrap or sandwich intervals, and the rank intervals they imply
(see :mod:`benchmark.ranking` for the scale, tie and prior conventions)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import special, stats

from benchmark.ranking.likelihood import (
    _centring,
    _check_model,
    _fit,
    _local,
    _objective,
    _resample,
    _scatter,
    aggregate,
)
from benchmark.ranking.scale import BASE_RATING, ELO_SCALE, point_ranks, rank_intervals, to_rating
from benchmark.ranking.table import Comparisons
from benchmark.ranking.threads import one_blas_thread

FEW_COMPARISONS = 30  # below this, a policy's bootstrap interval is at least its sandwich interval


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


def _ratings(table, theta, low, high, method, tie_param=None) -> Ratings:
    rating = to_rating(theta)
    best, worst = rank_intervals(low, high)
    return Ratings(
        table.policies, rating, low, high, point_ranks(rating), best, worst, table.counts(), method, tie_param
    )


@one_blas_thread
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


@one_blas_thread
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


@one_blas_thread
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


@one_blas_thread
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
    the rank intervals they imply. A percentile bootstrap over a few comparisons can collapse to a
    point (two identical votes resample to themselves), so a policy with fewer than
    :data:`FEW_COMPARISONS` gets at least its sandwich interval."""
    fitted = bradley_terry(table, ties, prior)
    if ci == "bootstrap":
        low, high = bootstrap_intervals(table, rounds, level, seed, ties, prior)
        method = f"{fitted.method}+bootstrap({rounds})"
        few = table.counts() < FEW_COMPARISONS
        if few.any():
            floor_low, floor_high = sandwich_intervals(table, level, ties, prior)
            low[few], high[few] = np.minimum(low, floor_low)[few], np.maximum(high, floor_high)[few]
    elif ci == "sandwich":
        low, high = sandwich_intervals(table, level, ties, prior)
        method = f"{fitted.method}+sandwich"
    else:
        raise ValueError(f"ci={ci!r}: expected 'bootstrap' or 'sandwich'")
    # percentile intervals need not contain the point estimate; widen to it so ranks stay coherent
    low, high = np.minimum(low, fitted.rating), np.maximum(high, fitted.rating)
    theta = (fitted.rating - BASE_RATING) / ELO_SCALE
    return _ratings(table, theta, low, high, f"{method}@{level:g}", fitted.tie_param)
