"""Paired comparisons' arithmetic (benchmark.ranking.paired) and the campaign sizes planned from it
(benchmark.ranking.power), checked against hand-computed and published values, and the plans
checked by simulating campaigns."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest

from benchmark.ranking.paired import (
    BETTER,
    INCONCLUSIVE,
    WORSE,
    compare_paired,
    mcnemar_exact,
    paired_difference,
    unpaired_difference,
    verdict,
    verdict_words,
)
from benchmark.ranking.power import critical_counts, mcnemar_power, plan, unpaired_power


@pytest.mark.parametrize(
    ("only_a", "only_b", "p"),
    [
        (1, 9, 2 * (1 + 10) / 2**10),  # 2·P(X ≤ 1), X ~ Bin(10, 1/2)
        (9, 1, 2 * (1 + 10) / 2**10),
        (0, 5, 2 / 2**5),
        (2, 8, 2 * (1 + 10 + 45) / 2**10),
        (1, 7, 2 * (1 + 8) / 2**8),  # Bentur et al.: 0.070 in Fagerland, Lydersen & Laake (2014)
        (3, 3, 1.0),  # twice the tail is above 1: capped
        (0, 0, 1.0),  # no discordant pair: no evidence
    ],
)
def test_mcnemar_exact_p_values_by_hand(only_a, only_b, p):
    assert mcnemar_exact(only_a, only_b) == pytest.approx(p, rel=1e-12)


def test_mcnemar_exact_agrees_with_scipys_binomial_test():
    for m in range(1, 40):
        for k in range(m + 1):
            assert mcnemar_exact(k, m - k) == pytest.approx(binomtest(k, m, 0.5).pvalue, rel=1e-9), (k, m)


def test_paired_interval_matches_the_published_example():
    # Bentur et al. (2009), as in Fagerland, Lydersen & Laake (2014): Newcombe -0.507 to -0.026
    difference, low, high = paired_difference(1, 1, 7, 12)
    assert difference == pytest.approx(-6 / 21)
    assert (round(low, 3), round(high, 3)) == (-0.507, -0.026)


def test_paired_interval_never_has_zero_width():
    z2 = 1.959963984540054**2
    for n in range(1, 11):
        for table in ((n, 0, 0, 0), (0, 0, 0, n)):
            difference, low, high = paired_difference(*table)
            # all pairs agree: both rates are 1 (or 0), each Wilson interval reaches n/(n + z²) from it
            assert difference == 0 and high == pytest.approx(1 - n / (n + z2)) and low == -high
    assert paired_difference(0, 0, 0, 0) == (0.0, -1.0, 1.0)


def test_paired_interval_shrinks_with_more_pairs_and_stays_in_range():
    widths = []
    for scale in (1, 4, 16):
        _, low, high = paired_difference(3 * scale, 5 * scale, 1 * scale, 3 * scale)
        assert -1 <= low < high <= 1
        widths.append(high - low)
    assert widths[0] > widths[1] > widths[2]
    assert paired_difference(0, 10, 0, 0)[2] == 1.0  # clipped at 1


@pytest.mark.parametrize(
    ("counts", "published"),
    [  # Newcombe (1998), "Interval estimation for the difference between independent proportions", method 10
        ((56, 70, 48, 80), (0.0524, 0.3339)),
        ((9, 10, 3, 10), (0.1705, 0.8090)),
        ((5, 56, 0, 29), (-0.0381, 0.1926)),
        ((0, 10, 0, 20), (-0.1611, 0.2775)),
        ((0, 10, 0, 10), (-0.2775, 0.2775)),
    ],
)
def test_unpaired_interval_matches_newcombes_table(counts, published):
    _, low, high = unpaired_difference(*counts)
    assert (round(low, 4), round(high, 4)) == published


def test_verdicts_in_words():
    assert verdict(0.05, 0.3) == BETTER and verdict(-0.3, -0.05) == WORSE
    assert verdict(-0.1, 0.3) == INCONCLUSIVE and verdict(0.0, 0.3) == INCONCLUSIVE
    assert verdict(0.05, 0.3, p_value=0.07) == INCONCLUSIVE  # the test did not reject
    assert verdict_words(-0.1, 0.3) == "inconclusive: the interval crosses 0"
    assert verdict_words(-0.3, -0.05, 0.01) == "worse: the whole interval lies below 0"
    assert verdict_words(0.05, 0.3, 0.07).startswith("inconclusive: McNemar's p = 0.07")


def test_compare_paired_reads_the_whole_table():
    result = compare_paired(both=2, only_a=9, only_b=1, neither=8)
    assert result.pairs == 20 and result.success_a == 11 / 20 and result.success_b == 3 / 20
    assert result.difference == pytest.approx(0.4) and result.p_value == pytest.approx(22 / 1024)
    assert result.ci_low > 0 and result.verdict == BETTER and result.reason.startswith("better")
    # Cavo et al. (2012): the interval is clear of 0 but McNemar's exact p is 0.052: inconclusive
    cavo = compare_paired(59, 6, 16, 80)
    assert cavo.ci_high < 0 and cavo.p_value == pytest.approx(0.0525, abs=1e-4)
    assert cavo.verdict == INCONCLUSIVE and "not below 0.05" in cavo.reason
    nothing = compare_paired(0, 0, 0, 0)
    assert nothing.verdict == INCONCLUSIVE and "no scenario" in nothing.reason


def test_a_rejection_always_comes_with_an_interval_clear_of_0():
    """Why the paired verdict is McNemar's test: for every table of up to 25 pairs, p < 0.05
    implies the interval excludes 0 on the same side (the planner counts on it)."""
    for n in range(1, 26):
        for both in range(n + 1):
            for only_a in range(n + 1 - both):
                for only_b in range(n + 1 - both - only_a):
                    neither = n - both - only_a - only_b
                    if mcnemar_exact(only_a, only_b) < 0.05:
                        _, low, high = paired_difference(both, only_a, only_b, neither)
                        assert low > 0 if only_a > only_b else high < 0, (both, only_a, only_b, neither)


def test_critical_counts_are_the_largest_rejected_counts():
    for m in range(60):
        rejected = [k for k in range(m + 1) if 2 * k < m and mcnemar_exact(k, m - k) < 0.05]
        assert int(critical_counts(m)) == (max(rejected) if rejected else -1), m


def test_mcnemar_power_by_enumeration():
    """The planner's power is the chance of a 'better' verdict, summed over every 2×2 table."""
    from math import factorial

    n, rate_a, rate_b = 14, 0.8, 0.3
    chance = (rate_a * rate_b, rate_a * (1 - rate_b), (1 - rate_a) * rate_b, (1 - rate_a) * (1 - rate_b))
    total = 0.0
    for a in range(n + 1):
        for b in range(n + 1 - a):
            for c in range(n + 1 - a - b):
                table = (a, b, c, n - a - b - c)
                if compare_paired(*table).verdict == BETTER:
                    ways = factorial(n) / np.prod([factorial(k) for k in table])
                    total += ways * np.prod([q**k for q, k in zip(chance, table, strict=True)])
    assert 0.2 < total < 0.9  # neither trivial nor certain at this size
    assert mcnemar_power(n, rate_a, rate_b) == pytest.approx(total, rel=1e-9)
    assert mcnemar_power(n, rate_b, rate_a) == pytest.approx(total, rel=1e-9)  # 'worse' mirrored


def test_unpaired_power_by_enumeration():
    n, rate_a, rate_b = 15, 0.7, 0.3
    k = np.arange(n + 1)
    from scipy.stats import binom

    total = sum(
        binom.pmf(i, n, rate_a) * binom.pmf(j, n, rate_b)
        for i in k
        for j in k
        if unpaired_difference(int(i), n, int(j), n)[1] > 0
    )
    assert 0.2 < total < 0.99
    assert unpaired_power(n, rate_a, rate_b) == pytest.approx(total, rel=1e-9)


def test_plan_refuses_what_cannot_be_planned():
    with pytest.raises(ValueError, match="leaves"):
        plan(0.6, base=0.5)
    with pytest.raises(ValueError, match="must lie in"):
        plan(0.1, power=1.0)
    with pytest.raises(ValueError, match="needs more than 50"):
        plan(0.1, max_scenarios=50)
    one_sided = plan(0.1, base=0.95)  # 1.05 does not fit: only the drop to 0.85 is planned for
    assert list(one_sided.powers) == ["-0.1"]


def _simulated_detection(n: int, base: float, gap: float, paired: bool, campaigns: int, seed: int) -> float:
    """The share of ``campaigns`` seeded campaigns of ``n`` scenarios per policy, A at
    ``base + gap`` and B at ``base`` (independent outcomes), whose verdict finds the gap's side."""
    rng = np.random.default_rng(seed)
    a = rng.random((campaigns, n)) < base + gap
    b = rng.random((campaigns, n)) < base
    wanted = BETTER if gap > 0 else WORSE
    found = 0
    for x, y in zip(a, b, strict=True):
        if paired:
            table = (int(np.sum(x & y)), int(np.sum(x & ~y)), int(np.sum(~x & y)), int(np.sum(~x & ~y)))
            found += compare_paired(*table).verdict == wanted
        else:
            _, low, high = unpaired_difference(int(x.sum()), n, int(y.sum()), n)
            found += verdict(low, high) == wanted
    return found / campaigns


@pytest.mark.parametrize("paired", [True, False], ids=["paired", "unpaired"])
def test_planned_campaigns_detect_the_gap_as_often_as_promised(paired):
    """1,000 seeded campaigns at the planned size, A at base ± gap, run through the report's own
    verdict: detection at least the asked power (less two points of simulation error); at a
    quarter of the size clearly less, so the check can fail."""
    base, gap, power = 0.5, 0.1, 0.95
    planned = plan(gap, base, paired=paired, power=power)
    assert planned.achieved >= power and planned.scenarios > 100
    for signed, seed in ((gap, 1), (-gap, 2)):
        detected = _simulated_detection(planned.scenarios, base, signed, paired, 1000, seed)
        assert detected >= power - 0.02, (signed, detected)
        small = _simulated_detection(planned.scenarios // 4, base, signed, paired, 1000, seed + 10)
        assert small < 0.6, (signed, small)
    # and the plan's exact power is what the simulation finds, away from the target too
    rule = mcnemar_power if paired else unpaired_power
    half = planned.scenarios // 2
    simulated = _simulated_detection(half, base, gap, paired, 1000, 3)
    assert simulated == pytest.approx(rule(half, base + gap, base), abs=0.045)


def test_plan_at_another_base_rate_covers_both_directions():
    planned = plan(0.1, base=0.8)
    # the drop to 0.7 has more discordant pairs than the rise to 0.9: it sets the size
    assert planned.powers["-0.1"] == planned.achieved < planned.powers["+0.1"]
    detected = _simulated_detection(planned.scenarios, 0.8, -0.1, True, 1000, 4)
    assert detected >= 0.95 - 0.02
