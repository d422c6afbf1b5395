"""How many scenarios a comparison of two policies needs: the exact power of the rules in
:mod:`benchmark.ranking.paired`, and the smallest campaign that reaches a wanted power.

The question ``twinarena plan`` answers: with A's true success rate ``base ± detect`` and B's
``base``, how many scenarios per policy make the report's verdict come out ``better`` (or
``worse``), at level ``alpha``, with probability at least ``power``?

- **Paired** (both policies on the same scenarios): the verdict is McNemar's exact test
  (:func:`~benchmark.ranking.paired.mcnemar_p`). Its power is exact: the number of discordant
  pairs is binomial, and given it, A's share of them is binomial too. The outcomes of the two
  policies on a scenario are assumed independent given their rates. Outcomes that agree more
  often than that (hard scenarios hard for both, the usual case) have fewer discordant pairs and
  need fewer scenarios, so the plan is conservative for any non-negative correlation.
- **Unpaired** (each policy on scenarios of its own): the verdict is Newcombe's interval for
  independent rates clearing 0 (:func:`~benchmark.ranking.paired.unpaired_bounds`); its power is
  summed exactly over the two binomial counts.

Both sums leave out the binomial outcomes less likely than :data:`TAIL`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import binom

from benchmark.ranking.paired import ALPHA, mcnemar_p, unpaired_bounds, z_value

MAX_SCENARIOS = 100_000  # a plan needing more than this per policy is refused
TAIL = 1e-13  # binomial outcomes less likely than this are left out of the power sums

PAIRED_TEST = "McNemar's exact test (two-sided), the verdict of the paired comparison"
UNPAIRED_TEST = "Newcombe's hybrid score interval for independent rates clearing 0 (two-sided)"
PAIRED_ASSUMPTION = (
    "the two policies' outcomes on a scenario are independent given their rates; outcomes that "
    "agree more often (usual on shared scenarios) need fewer scenarios, so the number is conservative "
    "unless the policies fail on opposite scenarios"
)
UNPAIRED_ASSUMPTION = "each policy's episodes are independent, on scenarios of its own"


def mcnemar_power(n: int, rate_a: float, rate_b: float, alpha: float = ALPHA) -> float:
    """The probability that McNemar's exact test on ``n`` pairs rejects at ``alpha`` in the
    direction of the true difference, with A and B succeeding independently at their rates."""
    _check_rates(rate_a, rate_b)
    if n <= 0:
        return 0.0
    only_a, only_b = rate_a * (1 - rate_b), rate_b * (1 - rate_a)
    discordant = only_a + only_b
    share = only_a / discordant  # of a discordant pair, the chance that it is A's success
    m, weight = _likely(n, discordant)
    k = critical_counts(m, alpha)  # reject when the smaller discordant count is at most k
    # A's count at least m - k when A is the better one, at most k when it is the worse
    given = binom.sf(m - k - 1, m, share) if rate_a > rate_b else binom.cdf(k, m, share)
    given = np.where(k >= 0, given, 0.0)
    return float(np.sum(weight * given))


def critical_counts(m, alpha: float = ALPHA):
    """For each number ``m`` of discordant pairs, the largest smaller count ``k`` whose McNemar
    p-value is below ``alpha`` (−1 where none is)."""
    m = np.asarray(m)
    k = binom.ppf(alpha / 2, m, 0.5).astype(np.int64) - 1
    for _ in range(2):  # settle ties between the quantile and the p-value's own rounding
        k = np.where((k >= 0) & (mcnemar_p(np.maximum(k, 0), m - np.maximum(k, 0)) >= alpha), k - 1, k)
        up = k + 1
        k = np.where((2 * up < m) & (mcnemar_p(up, m - up) < alpha), up, k)
    return k


def unpaired_power(n: int, rate_a: float, rate_b: float, alpha: float = ALPHA) -> float:
    """The probability that Newcombe's interval for independent rates, from ``n`` episodes of
    each policy, lies wholly on the true side of 0."""
    _check_rates(rate_a, rate_b)
    if n <= 0:
        return 0.0
    k_a, w_a = _likely(n, rate_a)
    k_b, w_b = _likely(n, rate_b)
    _, low, high = unpaired_bounds(k_a[:, None], n, k_b[None, :], n, z_value(alpha))
    hit = low > 0 if rate_a > rate_b else high < 0
    return float(np.sum(w_a[:, None] * w_b[None, :] * hit))


@dataclass(frozen=True)
class Plan:
    """A campaign size: ``scenarios`` per policy, the power it reaches (the lower of the two
    directions ``base ± detect`` that fit in [0, 1]: ``powers`` by signed gap), and the test and
    assumption behind it."""

    scenarios: int
    paired: bool
    detect: float
    base: float
    power: float
    alpha: float
    achieved: float
    powers: dict[str, float]
    test: str
    assumption: str

    def as_dict(self) -> dict:
        return asdict(self)


def plan(
    detect: float,
    base: float = 0.5,
    paired: bool = True,
    power: float = 0.95,
    alpha: float = ALPHA,
    max_scenarios: int = MAX_SCENARIOS,
) -> Plan:
    """The fewest scenarios per policy at which the comparison's verdict detects a success gap of
    ``detect`` around ``base`` (both directions that fit in [0, 1]) with at least ``power``.
    ValueError for arguments out of range or a plan beyond ``max_scenarios``."""
    if not 0 < detect < 1:
        raise ValueError(f"--detect {detect:g}: the success gap must lie in (0, 1)")
    if not 0 <= base <= 1:
        raise ValueError(f"--base {base:g}: a success rate must lie in [0, 1]")
    if not 0 < power < 1:
        raise ValueError(f"--power {power:g}: must lie in (0, 1)")
    if not 0 < alpha < 1:
        raise ValueError(f"--alpha {alpha:g}: must lie in (0, 1)")
    gaps = [g for g in (detect, -detect) if 0 <= base + g <= 1]
    if not gaps:
        raise ValueError(f"--detect {detect:g} around --base {base:g}: base ± detect leaves [0, 1]")
    rule = mcnemar_power if paired else unpaired_power

    def powers(n: int) -> dict[str, float]:
        return {f"{g:+g}": rule(n, base + g, base, alpha) for g in gaps}

    def enough(n: int) -> bool:
        return min(powers(n).values()) >= power

    high = 8
    while not enough(high):
        if high >= max_scenarios:
            raise ValueError(
                f"detecting {detect:g} around {base:g} with power {power:g} needs more than "
                f"{max_scenarios} scenarios per policy"
            )
        high = min(2 * high, max_scenarios)
    low = 0  # enough(high) holds, and (as far as bisection can tell) not below low + 1
    while high - low > 1:
        middle = (low + high) // 2
        if enough(middle):
            high = middle
        else:
            low = middle
    at = powers(high)
    return Plan(
        scenarios=high,
        paired=paired,
        detect=detect,
        base=base,
        power=power,
        alpha=alpha,
        achieved=min(at.values()),
        powers=at,
        test=PAIRED_TEST if paired else UNPAIRED_TEST,
        assumption=PAIRED_ASSUMPTION if paired else UNPAIRED_ASSUMPTION,
    )


def _likely(n: int, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """The counts of Binomial(n, rate) more likely than :data:`TAIL`, and their probabilities."""
    k = np.arange(n + 1)
    w = binom.pmf(k, n, rate)
    keep = w > TAIL
    return k[keep], w[keep]


def _check_rates(*rates: float) -> None:
    if any(not 0 <= r <= 1 for r in rates) or rates[0] == rates[1]:
        raise ValueError(f"two different success rates in [0, 1] needed, got {rates}")
