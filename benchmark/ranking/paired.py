"""Two policies' success rates compared: paired on the same scenarios, or on scenarios of their own.

Pure functions over counts (numpy + scipy; no store). A paired comparison is the 2×2 table of the
scenarios both policies played::

                     B succeeded   B failed
    A succeeded          both       only_a
    A failed            only_b      neither

- **McNemar's exact test** (:func:`mcnemar_exact`) uses only the discordant pairs: under "no
  difference" each of the ``only_a + only_b`` of them is A's with probability 1/2, so the two-sided
  p-value is twice the smaller binomial tail, at most 1.
- **The paired difference** ``p_A − p_B = (only_a − only_b) / n`` gets Newcombe's (1998) hybrid
  score interval for paired data (his method 10, :func:`paired_difference`): each rate's Wilson
  interval, combined through the correlation of the two outcomes. It never has zero width.
- **The unpaired difference** (each policy on scenarios of its own) gets Newcombe's (1998) hybrid
  score interval for independent proportions (his method 10, :func:`unpaired_difference`).
- **The verdict** (:func:`verdict`) on A: ``better`` or ``worse`` only when the whole interval lies
  on one side of 0 and, where a p-value is given, the test rejects at ``alpha``; otherwise
  ``inconclusive``. For paired tables McNemar's exact test is the stricter of the two: over every
  table of up to 60 pairs, a rejection at 0.05 always comes with an interval clear of 0 (the
  tests check this up to 25 pairs), so the verdict is the test's, read in the interval's words.

The functions with array arguments (:func:`wilson`, :func:`mcnemar_p`, :func:`unpaired_bounds`)
work elementwise, so :mod:`benchmark.ranking.power` computes the power of exactly these rules.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from math import sqrt

import numpy as np
from scipy.stats import binom, norm

ALPHA = 0.05
BETTER, WORSE, INCONCLUSIVE = "better", "worse", "inconclusive"
VERDICTS = (BETTER, WORSE, INCONCLUSIVE)


def z_value(alpha: float = ALPHA) -> float:
    """The two-sided normal quantile of a ``1 − alpha`` interval (1.96 for 0.05)."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    return float(norm.ppf(1 - alpha / 2))


def wilson(successes, n, z: float):
    """The Wilson score interval ``(low, high)`` of ``successes / n``, elementwise; n must be > 0."""
    k, n = np.asarray(successes, np.float64), np.asarray(n, np.float64)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return np.maximum(0.0, centre - half), np.minimum(1.0, centre + half)


def mcnemar_p(only_a, only_b):
    """:func:`mcnemar_exact` elementwise over arrays of discordant counts."""
    a, b = np.asarray(only_a), np.asarray(only_b)
    return np.minimum(1.0, 2 * binom.cdf(np.minimum(a, b), a + b, 0.5))


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value from the discordant pairs: ``min(1, 2·P(X ≤ min))`` with
    ``X ~ Binomial(only_a + only_b, 1/2)``; 1 without discordant pairs."""
    _check_counts(only_a, only_b)
    return float(mcnemar_p(only_a, only_b))


def paired_difference(
    both: int, only_a: int, only_b: int, neither: int, alpha: float = ALPHA
) -> tuple[float, float, float]:
    """``(p_A − p_B, low, high)``: the paired difference in success rate with Newcombe's hybrid
    score interval (method 10): ``low = D − sqrt(dA² − 2·phi·dA·eB + eB²)`` with ``dA`` the
    distance from p_A down to its Wilson lower limit, ``eB`` from p_B up to its upper limit (the
    upper bound mirrors it), and ``phi`` the table's correlation as Newcombe corrects it
    (:func:`newcombe_phi`). (0, −1, 1) without pairs."""
    _check_counts(both, only_a, only_b, neither)
    n = both + only_a + only_b + neither
    if n == 0:
        return 0.0, -1.0, 1.0
    z = z_value(alpha)
    p_a, p_b = (both + only_a) / n, (both + only_b) / n
    low_a, high_a = (float(v) for v in wilson(both + only_a, n, z))
    low_b, high_b = (float(v) for v in wilson(both + only_b, n, z))
    phi = newcombe_phi(both, only_a, only_b, neither)
    difference = p_a - p_b
    below = _combined(p_a - low_a, high_b - p_b, phi)
    above = _combined(high_a - p_a, p_b - low_b, phi)
    return difference, max(-1.0, difference - below), min(1.0, difference + above)


def newcombe_phi(both: int, only_a: int, only_b: int, neither: int) -> float:
    """The 2×2 table's phi coefficient with Newcombe's continuity correction: the cross product
    ``both·neither − only_a·only_b`` less ``n/2`` when above ``n/2``, 0 between 0 and ``n/2``,
    unchanged when negative, over the root of the four margins' product (0 if a margin is empty)."""
    margins = (both + only_a) * (only_b + neither) * (both + only_b) * (only_a + neither)
    if margins == 0:
        return 0.0
    half = (both + only_a + only_b + neither) / 2
    cross = both * neither - only_a * only_b
    corrected = cross - half if cross > half else (0.0 if cross >= 0 else cross)
    return corrected / sqrt(margins)


def unpaired_bounds(successes_a, n_a, successes_b, n_b, z: float):
    """:func:`unpaired_difference` elementwise over arrays (every n > 0), at normal quantile ``z``."""
    k_a, k_b = np.asarray(successes_a, np.float64), np.asarray(successes_b, np.float64)
    p_a, p_b = k_a / n_a, k_b / n_b
    low_a, high_a = wilson(k_a, n_a, z)
    low_b, high_b = wilson(k_b, n_b, z)
    difference = p_a - p_b
    low = difference - np.sqrt((p_a - low_a) ** 2 + (high_b - p_b) ** 2)
    high = difference + np.sqrt((high_a - p_a) ** 2 + (p_b - low_b) ** 2)
    return difference, np.maximum(-1.0, low), np.minimum(1.0, high)


def unpaired_difference(
    successes_a: int, n_a: int, successes_b: int, n_b: int, alpha: float = ALPHA
) -> tuple[float, float, float]:
    """``(p_A − p_B, low, high)`` for rates from separate scenarios, with Newcombe's hybrid score
    interval for independent proportions (method 10): each rate's distance to its Wilson limits,
    squared and added. (0, −1, 1) when either side has no episodes."""
    _check_counts(successes_a, n_a - successes_a, successes_b, n_b - successes_b)
    if n_a == 0 or n_b == 0:
        return 0.0, -1.0, 1.0
    difference, low, high = unpaired_bounds(successes_a, n_a, successes_b, n_b, z_value(alpha))
    return float(difference), float(low), float(high)


def verdict(low: float, high: float, p_value: float | None = None, alpha: float = ALPHA) -> str:
    """``better`` when the interval lies wholly above 0, ``worse`` wholly below, and (where a
    p-value is given) the test rejects at ``alpha``; else ``inconclusive``."""
    if low <= 0 <= high or (p_value is not None and p_value >= alpha):
        return INCONCLUSIVE
    return BETTER if low > 0 else WORSE


def verdict_words(
    low: float, high: float, p_value: float | None = None, alpha: float = ALPHA, line: str = "0"
) -> str:
    """The verdict with its reason, e.g. ``"inconclusive: the interval crosses 0"``; ``line`` names
    what the interval is compared with."""
    if low <= 0 <= high:
        return f"{INCONCLUSIVE}: the interval crosses {line}"
    if p_value is not None and p_value >= alpha:
        return f"{INCONCLUSIVE}: McNemar's p = {p_value:.3g} is not below {alpha:g}"
    if low > 0:
        return f"{BETTER}: the whole interval lies above {line}"
    return f"{WORSE}: the whole interval lies below {line}"


@dataclass(frozen=True)
class PairedComparison:
    """One paired 2×2 table and what it says: both rates, their difference ``A − B`` with its
    interval, McNemar's exact p, the verdict on A (``better``: A succeeds more often) and its
    reason in words."""

    pairs: int
    both: int
    only_a: int
    only_b: int
    neither: int
    success_a: float
    success_b: float
    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    verdict: str
    reason: str

    def as_dict(self) -> dict:
        return asdict(self)


def compare_paired(
    both: int, only_a: int, only_b: int, neither: int, alpha: float = ALPHA
) -> PairedComparison:
    """The whole paired comparison of one 2×2 table."""
    n = both + only_a + only_b + neither
    difference, low, high = paired_difference(both, only_a, only_b, neither, alpha)
    p = mcnemar_exact(only_a, only_b)
    reason = verdict_words(low, high, p, alpha) if n else f"{INCONCLUSIVE}: no scenario played by both"
    return PairedComparison(
        pairs=n,
        both=both,
        only_a=only_a,
        only_b=only_b,
        neither=neither,
        success_a=(both + only_a) / n if n else 0.0,
        success_b=(both + only_b) / n if n else 0.0,
        difference=difference,
        ci_low=low,
        ci_high=high,
        p_value=p,
        verdict=verdict(low, high, p, alpha),
        reason=reason,
    )


def _combined(first: float, second: float, phi: float) -> float:
    return sqrt(max(0.0, first * first - 2 * phi * first * second + second * second))


def _check_counts(*counts: int) -> None:
    if any(c < 0 for c in counts):
        raise ValueError(f"counts must not be negative, got {counts}")
