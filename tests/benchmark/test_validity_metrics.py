"""Pearson r, SIMPLER's MMRV, Kendall τ and their bootstrap intervals (benchmark.validity.metrics)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

from benchmark.validity.metrics import bootstrap, kendall_tau, mmrv, pearson

# SIMPLER (Li et al., "Evaluating Real-World Robot Manipulation Policies in Simulation", 2024):
# simpler_env/utils/metrics.py, REAL_PERF and SIMPLER_PERF for "google_robot_pick_coke_can".
POLICIES = ("rt-2-x", "rt-1-converged", "rt-1-15pct", "rt-1-x", "rt-1-begin", "octo-base")
REAL = [0.907, 0.853, 0.920, 0.760, 0.133, 0.293]
SIM = [0.787, 0.857, 0.710, 0.567, 0.027, 0.170]


def test_mmrv_matches_simpler_on_its_pick_coke_can_figures():
    """The worked example, by hand. Simulation orders converged > rt-2-x > 15pct > rt-1-x > octo >
    begin; the real robot orders 15pct > rt-2-x > converged > rt-1-x > octo > begin. Three pairs
    disagree: (rt-2-x, converged) costs |0.907 − 0.853| = 0.054, (converged, 15pct) 0.067 and
    (rt-2-x, 15pct) 0.013 (real-world gaps). Each policy's largest: rt-2-x 0.054, converged 0.067,
    15pct 0.067, the other three 0. MMRV = 0.188 / 6 = 0.03133 (SIMPLER's
    ``mean_maximum_rank_violation(SIMPLER_PERF, REAL_PERF)`` gives the same)."""
    assert mmrv(REAL, SIM) == pytest.approx(0.188 / 6, abs=1e-12)


def test_pearson_matches_simpler_on_its_pick_coke_can_figures():
    """Pearson r of the same figures: Σ(centred products) / √(Σ r² Σ s²) = 0.97543 (SIMPLER's
    ``pearson_correlation`` adds 1e-8 to the denominator, which changes only the 8th decimal)."""
    r, s = np.array(REAL) - np.mean(REAL), np.array(SIM) - np.mean(SIM)
    by_hand = float(np.sum(r * s) / np.sqrt(np.sum(r * r) * np.sum(s * s)))
    assert pearson(REAL, SIM) == pytest.approx(by_hand, abs=1e-12)
    assert pearson(REAL, SIM) == pytest.approx(0.975434, abs=1e-6)


def test_mmrv_counts_a_tie_in_the_twin_as_a_violation_like_simpler():
    # SIMPLER compares strict orders, (S_i > S_j) != (R_i > R_j): a twin that ties what the
    # reference separates violates it, once (from the better policy's side only)
    assert mmrv([0.9, 0.5, 0.1], [0.6, 0.6, 0.1]) == pytest.approx((0.4 + 0.0 + 0.0) / 3)
    # the magnitude is the reference's gap, not the twin's
    assert mmrv([0.9, 0.5], [0.1, 0.8]) == pytest.approx(0.4)
    assert mmrv([0.9, 0.5, 0.1], [0.8, 0.4, 0.0]) == 0.0


def test_agreement_and_reversal():
    reference = [0.95, 0.7, 0.4, 0.1, 0.0]
    assert pearson(reference, reference) == 1.0
    assert kendall_tau(reference, [x / 2 for x in reference]) == 1.0
    reversed_ = reference[::-1]
    assert pearson(reference, reversed_) < -0.9
    assert kendall_tau(reference, reversed_) == -1.0
    assert mmrv(reference, reversed_) > 0.5


def test_pearson_follows_simpler_for_constant_vectors():
    assert pearson([0.2, 0.2, 0.2], [0.2, 0.2, 0.2]) == 1.0  # identical after centring
    assert pearson([0.2, 0.5, 0.9], [0.0, 0.0, 0.0]) == 0.0


def test_kendall_is_tau_b_with_ties():
    rng = np.random.default_rng(0)
    for _ in range(20):
        a = rng.integers(0, 4, size=8) / 4
        b = rng.integers(0, 4, size=8) / 4
        expected = scipy.stats.kendalltau(a, b).statistic
        assert kendall_tau(a, b) == pytest.approx(0.0 if np.isnan(expected) else expected, abs=1e-12)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="equally long"):
        pearson([0.1, 0.2], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="at least two policies"):
        mmrv([0.5], [0.5])
    with pytest.raises(ValueError, match="matrices"):
        bootstrap(np.zeros((3, 4)), np.zeros((3, 5)), np.random.default_rng(0))


def test_bootstrap_resamples_the_same_scenarios_in_both_worlds():
    rng = np.random.default_rng(1)
    outcomes = (rng.random((6, 12)) < np.linspace(0.9, 0.1, 6)[:, None]).astype(float)
    same = bootstrap(outcomes, outcomes, np.random.default_rng(0), rounds=200)
    # common random numbers: identical worlds agree in every resample, so the interval is a point
    assert same["pearson"].to_dict() == {"value": 1.0, "low": 1.0, "high": 1.0}
    assert (same["mmrv"].low, same["mmrv"].high) == (0.0, 0.0)


def test_bootstrap_is_seeded_and_brackets_the_estimate():
    rng = np.random.default_rng(2)
    skill = np.linspace(0.95, 0.05, 8)[:, None]
    reference = (rng.random((8, 16)) < skill).astype(float)
    twin = (rng.random((8, 16)) < skill).astype(float)
    a = bootstrap(reference, twin, np.random.default_rng(7), rounds=300)
    b = bootstrap(reference, twin, np.random.default_rng(7), rounds=300)
    assert a == b
    for name, estimate in a.items():
        assert estimate.low <= estimate.high, name
        assert estimate.low - 1e-9 <= estimate.value <= estimate.high + 0.05, name
    assert a["pearson"].value == pytest.approx(pearson(reference.mean(axis=1), twin.mean(axis=1)))
    assert a["mmrv"].high > a["mmrv"].low  # independent noise in the two worlds: a real interval


def test_a_population_the_reference_cannot_tell_apart_does_not_pass():
    """Every policy at 0 in both worlds: r is 1 by SIMPLER's convention, but the study ranked
    nothing, so it does not meet the targets."""
    from benchmark.validity.study import compare

    zeros = np.zeros((3, 4))
    scenarios = [("none", 0.0, seed) for seed in range(4)]
    flat = compare(["a", "b", "c"], scenarios, zeros, zeros, rounds=10, seed=0)
    assert flat["pearson"]["value"] == 1.0 and flat["reference_spread"] == 0.0 and not flat["passed"]
    ranked = np.array([[1, 1, 1, 1], [1, 0, 1, 0], [0, 0, 0, 0]], dtype=float)
    assert compare(["a", "b", "c"], scenarios, ranked, ranked, rounds=10, seed=0)["passed"]


# -- against success rates measured on a real robot (benchmark.validity.real) ----------------------
def test_real_rates_are_read_from_csv_and_bad_rows_are_one_line():
    from benchmark.validity.real import parse_real_rates
    from benchmark.validity.reference import ValidityError

    rows = parse_real_rates("policy,successes,trials,notes\npi0,17,20,lab A\n\nocto, 4 ,20,\n")
    assert [(r.policy, r.successes, r.trials) for r in rows] == [("pi0", 17, 20), ("octo", 4, 20)]
    assert rows[0].rate == 0.85
    bad = {
        "policy,trials\npi0,3\nocto,4\n": "needs columns policy, successes, trials; missing successes",
        "policy,successes,trials\npi0,x,20\nocto,1,2\n": "line 2: successes and trials must be whole",
        "policy,successes,trials\npi0,21,20\nocto,1,2\n": "line 2: need 0 ≤ successes ≤ trials",
        "policy,successes,trials\npi0,1,0\nocto,1,2\n": "trials ≥ 1",
        "policy,successes,trials\npi0,1,2\npi0,1,2\n": "line 3: policy 'pi0' is listed twice",
        "policy,successes,trials\npi0,1,2\n": "at least two policies, got 1",
        "policy,successes,trials\n,1,2\nocto,1,2\n": "line 2: no policy named",
    }
    for text, message in bad.items():
        with pytest.raises(ValidityError, match=message) as err:
            parse_real_rates(text, "rates.csv")
        assert str(err.value).startswith("rates.csv") and "\n" not in str(err.value)


def test_intervals_against_real_rates_widen_with_fewer_real_trials():
    """Both sides are samples: the same twin against the same real rates measured over 10 trials
    gets a wider Pearson interval than over 200, and the full-data value is the plain Pearson r."""
    from benchmark.validity.real import RealRate, bootstrap_against_real

    rng = np.random.default_rng(0)
    true = np.array([0.9, 0.6, 0.35, 0.1])
    twin = (rng.random((4, 40)) < true[:, None]).astype(float)
    widths = []
    for trials in (10, 200):
        real = [RealRate(f"p{i}", int(round(p * trials)), trials) for i, p in enumerate(true)]
        est = bootstrap_against_real(real, twin, np.random.default_rng(1), rounds=400)
        assert est["pearson"].value == pytest.approx(pearson(true, twin.mean(axis=1)), abs=0.02)
        assert est["pearson"].low <= est["pearson"].value <= est["pearson"].high
        widths.append(est["mmrv"].high - est["mmrv"].low + est["pearson"].high - est["pearson"].low)
    assert widths[0] > widths[1]
    # a twin that reverses the real order is caught
    real = [RealRate(f"p{i}", int(p * 50), 50) for i, p in enumerate(true)]
    est = bootstrap_against_real(real, twin[::-1], np.random.default_rng(1), rounds=200)
    assert est["pearson"].high < 0 and est["mmrv"].value > 0.3
    with pytest.raises(ValueError, match="twin matrix expected"):
        bootstrap_against_real(real, twin[:3], np.random.default_rng(1))
