"""Bradley–Terry ranking: agreement with choix and with from-scratch references, recovery of known
strengths, interval coverage, edge cases, Elo, judge agreement and active pair selection."""

from __future__ import annotations

import choix
import numpy as np
import pytest
from scipy import optimize, special, stats

from benchmark import ranking as R


def simulate(theta, count, rng, tie=0.0, nu=0.0, names=None):
    """``count`` comparisons of uniformly random pairs under strengths ``theta`` (natural log):
    Davidson's model with tie parameter ``nu`` (0: plain BT), then a fraction ``tie`` of the votes
    replaced by ties regardless of strength."""
    names = names or [f"p{k:02d}" for k in range(len(theta))]
    rows = []
    for _ in range(count):
        i, j = rng.choice(len(theta), 2, replace=False)
        u = (theta[i] - theta[j]) / 2
        p = np.array([np.exp(u), np.exp(-u), nu]) / (np.exp(u) + np.exp(-u) + nu)
        outcome = "tie" if rng.random() < tie else rng.choice(["a", "b", "tie"], p=p)
        rows.append((names[i], names[j], str(outcome)))
    return rows


@pytest.fixture(scope="module")
def strengths():
    return np.random.default_rng(7).normal(0, 0.8, 10)


@pytest.fixture(scope="module")
def no_ties(strengths):
    return R.comparisons(simulate(strengths, 3000, np.random.default_rng(1)))


@pytest.fixture(scope="module")
def with_ties(strengths):
    return R.comparisons(simulate(strengths, 3000, np.random.default_rng(2), tie=0.2))


# --- the table --------------------------------------------------------------------------------


def test_table_encoding():
    table = R.comparisons([("y", "x", "a"), ("x", "z", "b"), ("z", "y", "tie")], policies=["w"])
    assert table.policies == ("w", "x", "y", "z")
    assert table.a.tolist() == [2, 1, 3] and table.b.tolist() == [1, 3, 2]
    assert table.winner.tolist() == [R.A_WINS, R.B_WINS, R.TIE] == [1, 0, 2]
    assert table.counts().tolist() == [0, 2, 2, 2]
    assert len(table) == 3
    with pytest.raises(ValueError):
        table.a[0] = 0  # read-only


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("x", "y", "a"), ("x", "x", "b")], r"row 1 \('x', 'x', 'b'\).*compared with itself"),
        ([("x", "y", "a"), ("x", "y", "draw")], r"row 1 \('x', 'y', 'draw'\).*winner 'draw'"),
        ([("x", "y")], r"row 0 \('x', 'y'\): expected \(policy_a, policy_b, winner\)"),
        ([("x", "", "a")], r"row 0 .*policy '' is not a non-empty string"),
        ([], "no comparisons"),
    ],
)
def test_bad_rows_raise_naming_the_row(rows, message):
    with pytest.raises(ValueError, match=message):
        R.comparisons(rows)


def test_table_validates_arrays():
    with pytest.raises(ValueError, match="compared with itself"):
        R.Comparisons(("x", "y"), np.array([0, 1]), np.array([1, 1]), np.array([1, 0]))
    with pytest.raises(ValueError, match="winner code 3"):
        R.Comparisons(("x", "y"), np.array([0]), np.array([1]), np.array([3]))
    with pytest.raises(ValueError, match="sorted"):
        R.Comparisons(("y", "x"), np.array([0]), np.array([1]), np.array([1]))


def test_with_policies_keeps_the_comparisons():
    table = R.comparisons([("y", "x", "a"), ("x", "z", "tie")])
    wider = R.with_policies(table, ["w", "x"])
    assert wider.policies == ("w", "x", "y", "z")
    assert [(wider.policies[a], wider.policies[b]) for a, b in zip(wider.a, wider.b, strict=True)] == [
        ("y", "x"),
        ("x", "z"),
    ]
    assert wider.winner.tolist() == table.winner.tolist()
    assert R.with_policies(table, ["x"]) is table


def test_aggregate_folds_sides():
    table = R.comparisons([("x", "y", "a"), ("y", "x", "b"), ("y", "x", "a"), ("x", "y", "tie")])
    cells = R.aggregate(table)
    assert cells.i.tolist() == [0] and cells.j.tolist() == [1]
    assert cells.counts.tolist() == [[2, 1, 1]]  # x won twice, y once, one tie


# --- Bradley–Terry against independent implementations ------------------------------------------


def _choix_ratings(table):
    data = [
        (a, b) if w == R.A_WINS else (b, a) for a, b, w in zip(table.a, table.b, table.winner, strict=True)
    ]
    size = len(table.policies)
    ilsr = choix.ilsr_pairwise(size, data, alpha=0.0, tol=1e-12, max_iter=10_000)
    opt = choix.opt_pairwise(size, data, alpha=0.0, tol=1e-10)
    return R.to_rating(ilsr), R.to_rating(opt)


def test_matches_choix_without_ties(no_ties):
    ours = R.bradley_terry(no_ties, prior=0).rating
    ilsr, opt = _choix_ratings(no_ties)
    np.testing.assert_allclose(ours, ilsr, atol=1e-3, rtol=0)
    np.testing.assert_allclose(ours, opt, atol=1e-3, rtol=0)
    assert abs(ours.mean() - 1000) < 1e-9


def _logistic_reference(table, prior=0.0):
    """FastChat's formulation from scratch: a logistic regression of outcomes on ±1 design rows
    (a tie as two half-weighted rows, one won by each side), the prior as the same rows against a
    reference column fixed at 0; maximised by BFGS (policy 0 anchored at 0 if there is no prior to
    fix the location), then centred."""
    size = len(table.policies)
    rows, y, weight = [], [], []
    for a, b, w in zip(table.a, table.b, table.winner, strict=True):
        x = np.zeros(size)
        x[a], x[b] = 1.0, -1.0
        for outcome in (1.0, 0.0) if w == R.TIE else (float(w == R.A_WINS),):
            rows.append(x)
            y.append(outcome)
            weight.append(0.5 if w == R.TIE else 1.0)
    for k in range(size):
        x = np.zeros(size)
        x[k] = 1.0
        rows += [x, x]
        y += [1.0, 0.0]
        weight += [prior / 2, prior / 2]
    X, y, weight = np.array(rows), np.array(y), np.array(weight)

    anchor = 1 if prior == 0 else 0

    def loss(free):
        theta = np.concatenate([[0.0] * anchor, free])
        z = X @ theta
        value = -(weight * (y * special.log_expit(z) + (1 - y) * special.log_expit(-z))).sum()
        grad = -(X.T @ (weight * (y - special.expit(z))))[anchor:]
        return value, grad

    fit = optimize.minimize(loss, np.zeros(size - anchor), jac=True, method="BFGS", options={"gtol": 1e-10})
    return R.to_rating(np.concatenate([[0.0] * anchor, fit.x]))


@pytest.mark.parametrize("prior", [0.0, 1.0, 5.0])
def test_matches_logistic_reference_with_ties(with_ties, prior):
    ours = R.bradley_terry(with_ties, prior=prior).rating
    np.testing.assert_allclose(ours, _logistic_reference(with_ties, prior), atol=1e-3, rtol=0)


def test_a_tie_is_half_a_win_each_way():
    """Doubling every comparison, a tie becoming one win each way, doubles the log-likelihood: with
    the prior doubled too, the same ratings."""
    tied = R.comparisons([("x", "y", "tie"), ("y", "z", "a"), ("z", "x", "a"), ("x", "y", "a")])
    doubled = R.comparisons(split_rows(tied))
    np.testing.assert_allclose(
        R.bradley_terry(tied).rating, R.bradley_terry(doubled, prior=2.0).rating, atol=1e-9
    )


def split_rows(table):
    """Every comparison twice, a tie as one win for each side: the same likelihood, doubled."""
    for a, b, w in zip(table.a, table.b, table.winner, strict=True):
        pa, pb = table.policies[a], table.policies[b]
        if w == R.TIE:
            yield from ((pa, pb, "a"), (pa, pb, "b"))
        else:
            yield from ((pa, pb, "a" if w == R.A_WINS else "b"),) * 2


def test_invariant_to_row_order_and_sides(with_ties):
    rng = np.random.default_rng(3)
    order = rng.permutation(len(with_ties))
    flip = rng.random(len(with_ties)) < 0.5
    a = np.where(flip, with_ties.b, with_ties.a)[order]
    b = np.where(flip, with_ties.a, with_ties.b)[order]
    winner = with_ties.winner.copy()
    decisive = winner != R.TIE
    winner[flip & decisive] = 1 - winner[flip & decisive]
    shuffled = R.Comparisons(with_ties.policies, a, b, winner[order])
    for prior in (0.0, 1.0):
        np.testing.assert_allclose(
            R.bradley_terry(shuffled, prior=prior).rating,
            R.bradley_terry(with_ties, prior=prior).rating,
            atol=1e-8,
        )


def _davidson_reference(table):
    """Davidson's likelihood maximised by BFGS over (theta[1:], log nu), policy 0 anchored at 0."""
    size = len(table.policies)
    a, b, w = table.a, table.b, table.winner

    def loss(free):
        theta = np.concatenate([[0.0], free[:-1]])
        u, eta = (theta[a] - theta[b]) / 2, free[-1]
        log_z = np.logaddexp(np.logaddexp(u, -u), eta)
        return -np.where(w == R.A_WINS, u, np.where(w == R.B_WINS, -u, eta)).sum() + log_z.sum()

    fit = optimize.minimize(loss, np.zeros(size), method="BFGS", options={"gtol": 1e-9})
    return R.to_rating(np.concatenate([[0.0], fit.x[:-1]])), float(np.exp(fit.x[-1]))


def test_davidson_matches_reference(with_ties):
    ours = R.bradley_terry(with_ties, ties="davidson", prior=0)
    rating, nu = _davidson_reference(with_ties)
    np.testing.assert_allclose(ours.rating, rating, atol=1e-3, rtol=0)
    assert ours.tie_param == pytest.approx(nu, rel=1e-4)
    assert ours.method == "bt-davidson"


def test_davidson_without_ties_is_plain_bt(no_ties):
    davidson = R.bradley_terry(no_ties, ties="davidson", prior=0)
    np.testing.assert_allclose(davidson.rating, R.bradley_terry(no_ties, prior=0).rating, atol=1e-9)
    assert davidson.tie_param == 0.0
    with pytest.raises(ValueError, match="all are ties"):
        R.bradley_terry(R.comparisons([("x", "y", "tie")]), ties="davidson")


def test_unknown_options_raise(no_ties):
    with pytest.raises(ValueError, match="ties='third'"):
        R.bradley_terry(no_ties, ties="third")
    with pytest.raises(ValueError, match="prior=-1"):
        R.bradley_terry(no_ties, prior=-1)
    with pytest.raises(ValueError, match="ci='exact'"):
        R.rank(no_ties, ci="exact")


# --- recovery and intervals --------------------------------------------------------------------


def test_recovers_ordering_and_strengths():
    """Davidson data: both tie models order the policies; Davidson recovers strengths and nu, the
    half-tie convention shrinks them a little (ties pull ratings together)."""
    theta = np.linspace(-2, 2, 12)
    table = R.comparisons(simulate(theta, 6000, np.random.default_rng(4), nu=0.5))
    half = R.bradley_terry(table)
    davidson = R.bradley_terry(table, ties="davidson")
    for ratings in (half, davidson):
        assert stats.kendalltau(ratings.rating, theta).statistic > 0.9
    np.testing.assert_allclose(davidson.rating, R.to_rating(theta), atol=40)
    assert davidson.tie_param == pytest.approx(0.5, rel=0.15)
    assert np.ptp(half.rating) < np.ptp(davidson.rating)


def test_intervals_cover_the_truth():
    """Across repeated simulations, the 95 % intervals cover the true (centred) ratings most of the
    time, and bootstrap and sandwich widths agree roughly."""
    covered = {"bootstrap": [], "sandwich": []}
    ratio = []
    for seed in range(12):
        rng = np.random.default_rng(100 + seed)
        theta = rng.normal(0, 0.7, 8)
        truth = R.to_rating(theta)
        table = R.comparisons(simulate(theta, 800, rng))
        boot = R.bootstrap_intervals(table, rounds=100, seed=seed)
        sand = R.sandwich_intervals(table)
        for name, (low, high) in (("bootstrap", boot), ("sandwich", sand)):
            covered[name] += list((low <= truth) & (truth <= high))
        ratio.append(np.median((boot[1] - boot[0]) / (sand[1] - sand[0])))
    for name, hits in covered.items():
        assert np.mean(hits) > 0.85, name
    assert 0.8 < np.median(ratio) < 1.25


def test_sandwich_matches_per_comparison_reference(with_ties):
    """The sandwich from per-comparison residuals and design rows, prior 0 (pseudo-inverse bread)."""
    table = with_ties
    size = len(table.policies)
    theta = (R.bradley_terry(table, prior=0).rating - 1000) / R.ELO_SCALE
    X = np.zeros((len(table), size))
    X[np.arange(len(table)), table.a] = 1
    X[np.arange(len(table)), table.b] = -1
    y = np.where(table.winner == R.A_WINS, 1.0, np.where(table.winner == R.B_WINS, 0.0, 0.5))
    p = special.expit(X @ theta)
    bread = np.linalg.pinv((X * (p * (1 - p))[:, None]).T @ X)
    meat = (X * ((y - p) ** 2)[:, None]).T @ X
    se = R.ELO_SCALE * np.sqrt(np.diag(bread @ meat @ bread))
    low, high = R.sandwich_intervals(table, level=0.9, prior=0)
    np.testing.assert_allclose((high - low) / 2, stats.norm.ppf(0.95) * se, rtol=1e-6)


def test_model_based_and_robust_covariances_agree_without_misspecification(no_ties):
    _, robust = R.covariance(no_ties, prior=0)
    _, model = R.covariance(no_ties, prior=0, robust=False)
    np.testing.assert_allclose(np.sqrt(np.diag(robust)), np.sqrt(np.diag(model)), rtol=0.15)


def test_davidson_intervals(with_ties):
    low, high = R.sandwich_intervals(with_ties, ties="davidson")
    rating = R.bradley_terry(with_ties, ties="davidson").rating
    assert np.all(low < rating) and np.all(rating < high)
    b_low, b_high = R.bootstrap_intervals(with_ties, rounds=30, ties="davidson")
    assert 0.6 < np.median((b_high - b_low) / (high - low)) < 1.6


def test_bootstrap_resample_keeps_the_total_and_observed_cells(with_ties):
    cells = R.aggregate(with_ties)
    draws = np.array([R._resample(cells, np.random.default_rng(s)).counts for s in range(200)])
    assert np.all(draws.sum(axis=(1, 2)) == len(with_ties))
    assert np.all(draws[:, cells.counts == 0] == 0)
    np.testing.assert_allclose(
        draws.mean(axis=0), cells.counts, atol=4 * np.sqrt(cells.counts.max() / 200) + 0.5
    )


def test_bootstrap_is_deterministic_with_a_seed(with_ties):
    first = R.bootstrap_samples(with_ties, rounds=5, seed=11)
    np.testing.assert_array_equal(first, R.bootstrap_samples(with_ties, rounds=5, seed=11))
    assert not np.array_equal(first, R.bootstrap_samples(with_ties, rounds=5, seed=12))
    assert R.rank(with_ties, rounds=5, seed=3).rows() == R.rank(with_ties, rounds=5, seed=3).rows()


# --- edge cases -------------------------------------------------------------------------------


def test_undefeated_policy_gets_a_finite_top_rating():
    rows = [("champ", "x", "a"), ("y", "champ", "b"), ("x", "y", "a"), ("y", "x", "a"), ("x", "y", "tie")] * 5
    table = R.comparisons(rows)
    ratings = R.rank(table, rounds=50)
    champ = table.policies.index("champ")
    assert np.all(np.isfinite(ratings.rating)) and np.all(np.isfinite(ratings.ci_high))
    assert ratings.rank[champ] == 1 and ratings.rating[champ] < 2000
    assert np.isfinite(R.rank(table, ci="sandwich").ci_high).all()
    with pytest.raises(ValueError, match="use prior > 0"):
        R.bradley_terry(table, prior=0)


def test_disconnected_graph():
    left = [("a1", "a2", "a"), ("a2", "a1", "b"), ("a1", "a2", "b")] * 4
    right = [("b1", "b2", "a"), ("b2", "b1", "a"), ("b2", "b1", "a")] * 4
    table = R.comparisons(left + right)
    ratings = R.rank(table, rounds=30)
    rating = dict(zip(table.policies, ratings.rating, strict=True))
    assert np.all(np.isfinite(ratings.rating))
    assert rating["a1"] > rating["a2"] and rating["b2"] > rating["b1"]
    with pytest.raises(ValueError, match="disconnected"):
        R.bradley_terry(table, prior=0)


def test_policy_without_comparisons_sits_at_the_mean_with_a_wide_interval(no_ties):
    table = R.with_policies(no_ties, ["newcomer"])
    ratings = R.rank(table, ci="sandwich")
    k = table.policies.index("newcomer")
    assert ratings.n[k] == 0
    for ci in ("sandwich", "bootstrap"):
        ratings = R.rank(table, ci=ci, rounds=20)
        assert ratings.rating[k] == pytest.approx(1000, abs=10)
        assert ratings.rank_low[k] == 1 and ratings.rank_high[k] == len(table.policies)


def test_rank_intervals_by_hand():
    low = np.array([10.0, 8.0, 0.0, -5.0])
    high = np.array([12.0, 11.0, 9.0, -1.0])
    best, worst = R.rank_intervals(low, high)
    assert best.tolist() == [1, 1, 2, 4]
    assert worst.tolist() == [2, 3, 3, 4]
    with pytest.raises(ValueError, match="ci_low > ci_high"):
        R.rank_intervals(high, low)


def test_rank_is_coherent(with_ties):
    for ci in ("bootstrap", "sandwich"):
        ratings = R.rank(with_ties, ci=ci, rounds=40)
        assert np.all(ratings.ci_low <= ratings.rating) and np.all(ratings.rating <= ratings.ci_high)
        assert np.all(ratings.rank_low <= ratings.rank) and np.all(ratings.rank <= ratings.rank_high)
        assert sorted(ratings.rank.tolist()) == list(range(1, len(with_ties.policies) + 1))
        rows = ratings.rows()
        assert [r["rank"] for r in rows] == sorted(r["rank"] for r in rows)
        assert ci in ratings.method


# --- Elo --------------------------------------------------------------------------------------


def test_elo_sanity():
    won = R.elo(R.comparisons([("x", "y", "a")]))
    assert won[0] > 1000 > won[1] and won.sum() == pytest.approx(2000)
    assert won[0] == pytest.approx(1002.0)  # k = 4, expected score 0.5
    np.testing.assert_allclose(R.elo(R.comparisons([("x", "y", "tie")] * 3)), [1000, 1000])
    rows = [("x", "y", "a"), ("y", "x", "a"), ("x", "z", "a")]
    forward, backward = R.elo(R.comparisons(rows)), R.elo(R.comparisons(rows[::-1]))
    assert not np.allclose(forward, backward)  # order matters, unlike Bradley–Terry
    np.testing.assert_allclose(
        R.bradley_terry(R.comparisons(rows)).rating, R.bradley_terry(R.comparisons(rows[::-1])).rating
    )


def test_elo_orders_like_bt_on_plenty_of_data(no_ties, strengths):
    assert stats.kendalltau(R.elo(no_ties, k=4), strengths).statistic > 0.8


# --- agreement --------------------------------------------------------------------------------


def test_agreement_known_examples():
    x = [1.0, 2.0, 3.0, 4.0]
    same = R.agreement(x, [10, 20, 30, 40])
    assert same["spearman"] == same["kendall_tau_b"] == same["pairwise_accuracy"] == 1.0
    reversed_ = R.agreement(x, x[::-1])
    assert reversed_["spearman"] == reversed_["kendall_tau_b"] == -1.0 and reversed_["pairwise_accuracy"] == 0
    one_swap = R.agreement(x, [1, 3, 2, 4])  # 5 concordant, 1 discordant of 6 pairs
    assert one_swap["kendall_tau_b"] == pytest.approx(4 / 6)
    assert one_swap["pairwise_accuracy"] == pytest.approx(5 / 6)
    assert one_swap["spearman"] == pytest.approx(1 - 6 * 2 / (4 * 15))
    tied = R.agreement([1, 1, 2], [1, 2, 3])  # tau-b: (2 - 0) / sqrt(2 * 3)
    assert tied["kendall_tau_b"] == pytest.approx(2 / np.sqrt(6))
    assert tied["pairwise_accuracy"] == pytest.approx(2 / 3)


def test_agreement_matches_scipy():
    rng = np.random.default_rng(5)
    x, y = rng.integers(0, 5, 30).astype(float), rng.integers(0, 5, 30).astype(float)
    result = R.agreement(x, y)
    assert result["kendall_tau_b"] == pytest.approx(stats.kendalltau(x, y).statistic)
    assert result["spearman"] == pytest.approx(stats.spearmanr(x, y).statistic)


def test_agreement_inputs():
    assert R.agreement({"a": 1, "b": 2, "c": 3}, {"c": 9, "b": 5, "a": 1})["kendall_tau_b"] == 1.0
    assert np.isnan(R.agreement([1, 1, 1], [1, 2, 3])["kendall_tau_b"])
    with pytest.raises(ValueError, match=r"only one judge: \['d'\]"):
        R.agreement({"a": 1, "b": 2}, {"a": 1, "b": 2, "d": 3})
    with pytest.raises(ValueError, match="shapes"):
        R.agreement([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="at least two"):
        R.agreement([1], [1])


# --- active pair selection --------------------------------------------------------------------


def test_next_pairs_are_valid(with_ties):
    policies = list(with_ties.policies)
    pairs = R.next_pairs(with_ties, policies, n=50, rng=0)
    assert len(pairs) == 50
    assert all(a != b and a in policies and b in policies for a, b in pairs)
    assert pairs == R.next_pairs(with_ties, policies, n=50, rng=0)
    assert R.next_pairs(with_ties, n=3, rng=1) == R.next_pairs(with_ties, policies, n=3, rng=1)
    only = policies[:3]
    assert all(a in only and b in only for a, b in R.next_pairs(with_ties, only, n=20, rng=0))


def test_next_pairs_start_without_comparisons():
    pairs = R.next_pairs(None, ["x", "y", "z"], n=30, rng=0)
    assert {frozenset(p) for p in pairs} == {frozenset(p) for p in (("x", "y"), ("x", "z"), ("y", "z"))}
    with pytest.raises(ValueError, match="at least two policies"):
        R.next_pairs(None, ["x"], n=1)
    with pytest.raises(ValueError, match="prior"):
        R.next_pairs(None, ["x", "y"], prior=0)


def test_next_pairs_prefer_the_widest_interval(with_ties):
    """A newcomer (widest interval) is in almost every pick of a small batch, then the policies
    with the fewest comparisons."""
    pairs = R.next_pairs(with_ties, [*with_ties.policies, "newcomer"], n=6, rng=0, explore=0.0)
    assert sum("newcomer" in p for p in pairs) >= 4
    assert pairs == R.next_pairs(R.with_policies(with_ties, ["newcomer"]), n=6, rng=0, explore=0.0)
    sparse = with_ties.policies[0]
    keep = (with_ties.a != 0) & (with_ties.b != 0) | (np.arange(len(with_ties)) % 20 == 0)
    thin = R.Comparisons(with_ties.policies, with_ties.a[keep], with_ties.b[keep], with_ties.winner[keep])
    first = R.next_pairs(thin, n=1, rng=0, explore=0.0)[0]
    assert sparse in first


def test_next_pairs_explore_reaches_every_pair(with_ties):
    pairs = R.next_pairs(with_ties, n=2000, rng=0, explore=1.0)
    size = len(with_ties.policies)
    assert len({frozenset(p) for p in pairs}) == size * (size - 1) // 2


def test_a_few_identical_comparisons_are_not_certainty():
    """Two identical votes resample to themselves; the interval still has the model's width."""
    for winner in ("a", "tie"):
        table = R.comparisons([("x", "y", winner)] * 2)
        ratings = R.rank(table, rounds=50)
        floor_low, floor_high = R.sandwich_intervals(table)
        assert np.all(ratings.ci_high - ratings.ci_low > 100)
        assert np.all(ratings.ci_low <= floor_low + 1e-9) and np.all(ratings.ci_high >= floor_high - 1e-9)
        assert ratings.rank_low.tolist() == [1, 1] and ratings.rank_high.tolist() == [2, 2]


def test_many_comparisons_keep_the_plain_bootstrap(with_ties):
    assert (with_ties.counts() >= R.FEW_COMPARISONS).all()
    ratings = R.rank(with_ties, rounds=20, seed=1)
    low, high = R.bootstrap_intervals(with_ties, 20, seed=1)
    assert np.allclose(ratings.ci_low, np.minimum(low, ratings.rating))
    assert np.allclose(ratings.ci_high, np.maximum(high, ratings.rating))
