"""The static bound printed by ``bench/active_ranking.py``: the information of one comparison, the
expected discordance of an allocation and its gradient, checked against plain references."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from scipy import special, stats

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "active_ranking.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("active_ranking", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def random_field(bench, size: int, sd: float, seed: int):
    """True gaps of all pairs ``triu_indices(size, 1)`` and their information per comparison."""
    theta = np.random.default_rng(seed).normal(0, sd, size)
    gap = (theta[:, None] - theta[None, :])[np.triu_indices(size, 1)]
    return gap, bench.information(gap, 0.3, 0.1)


def test_information_without_ties_or_noise_is_bt_fisher_information(bench):
    gap = np.linspace(-4, 4, 17)
    p = special.expit(gap)
    assert np.allclose(bench.information(gap, nu=0.0, noise=0.0), p * (1 - p), rtol=1e-9)


def test_information_matches_finite_differences_of_the_half_win_score(bench):
    gap, nu, noise, h = np.linspace(-3, 3, 13), 0.3, 0.1, 1e-6

    def mean_and_var(g):
        p = (1 - noise) * bench.davidson(g, nu) + noise / 3
        y = np.array([0.0, 1.0, 0.5])  # B_WINS, A_WINS, TIE
        mean = p @ y
        return mean, p @ y**2 - mean**2

    slope = (mean_and_var(gap + h)[0] - mean_and_var(gap - h)[0]) / (2 * h)
    expected = slope**2 / mean_and_var(gap)[1]
    assert np.allclose(bench.information(gap, nu, noise), expected, rtol=1e-6)
    # ties and careless votes carry less than a clean BT vote
    assert np.all(bench.information(gap, nu, noise) < special.expit(gap) * special.expit(-gap))


def test_two_policies_expected_discordance_is_the_normal_tail(bench):
    gap, info, n = np.array([0.4]), np.array([0.2]), 30.0
    value, _ = bench.expected_discordance(np.array([n]), gap, info, 2)
    assert value == pytest.approx(stats.norm.cdf(-0.4 * np.sqrt(n * 0.2)), rel=1e-9)


def test_expected_discordance_gradient_matches_finite_differences(bench):
    size = 5
    gap, info = random_field(bench, size, 0.8, seed=0)
    allocation = np.random.default_rng(1).uniform(5, 20, len(gap))
    _, gradient = bench.expected_discordance(allocation, gap, info, size)
    h = 1e-4
    numeric = []
    for k in range(len(gap)):
        step = np.zeros(len(gap))
        step[k] = h
        up = bench.expected_discordance(allocation + step, gap, info, size)[0]
        down = bench.expected_discordance(allocation - step, gap, info, size)[0]
        numeric.append((up - down) / (2 * h))
    assert np.allclose(gradient, numeric, rtol=1e-4, atol=1e-8)
    assert np.all(gradient <= 0)  # more comparisons never raise the expected discordance


def test_best_static_design_beats_uniform_and_keeps_the_total(bench):
    size = 8
    gap, info = random_field(bench, size, 1.2, seed=2)
    total = 400.0
    uniform, _ = bench.expected_discordance(np.full(len(gap), total / len(gap)), gap, info, size)
    best, allocation = bench.best_static_design(total, gap, info, size)
    assert allocation.sum() == pytest.approx(total)
    assert np.all(allocation >= 0)
    assert best < uniform
    assert best == pytest.approx(bench.expected_discordance(allocation, gap, info, size)[0])
