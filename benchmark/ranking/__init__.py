"""Rank policies from pairwise comparisons: Bradley–Terry ratings with confidence intervals, rank
intervals, online Elo, judge agreement and active choice of the next pairs to compare.

Pure functions over a :class:`Comparisons` table (numpy + scipy; no store, no pandas)::

    table = comparisons([("pi0", "octo", "a"), ("octo", "rt1", "tie"), ...])
    ratings = rank(table, ci="bootstrap", rounds=100)   # Ratings: rating, ci_low/high, rank_low/high
    pairs = next_pairs(table, ["pi0", "octo", "rt1", "new"], n=8, rng=0)

Conventions (the same in every module):

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

The modules: :mod:`~benchmark.ranking.table` (the comparisons), :mod:`~benchmark.ranking.scale`
(Elo's scale, ranks), :mod:`~benchmark.ranking.likelihood` (the fit),
:mod:`~benchmark.ranking.bradley_terry` (ratings and intervals), :mod:`~benchmark.ranking.elo`,
:mod:`~benchmark.ranking.agreement` and :mod:`~benchmark.ranking.active` (the next pairs). Beside
them, over success counts rather than comparisons: :mod:`~benchmark.ranking.paired` (two policies on
the same scenarios: McNemar's exact test, Newcombe's intervals, the verdict) and
:mod:`~benchmark.ranking.power` (the campaign size those tests need).
"""

from benchmark.ranking.active import laplacian, next_pairs, pair_quadratic
from benchmark.ranking.agreement import agreement, kendall_tau_b, pair_signs
from benchmark.ranking.bradley_terry import (
    FEW_COMPARISONS,
    Ratings,
    bootstrap_intervals,
    bootstrap_samples,
    bradley_terry,
    covariance,
    rank,
    sandwich_intervals,
)
from benchmark.ranking.elo import elo
from benchmark.ranking.likelihood import TIE_MODELS, Cells, aggregate
from benchmark.ranking.likelihood import _fit as _fit  # for the tests and bench/ranking_speed.py
from benchmark.ranking.likelihood import _resample as _resample  # for the tests
from benchmark.ranking.scale import BASE_RATING, ELO_SCALE, point_ranks, rank_intervals, to_rating
from benchmark.ranking.table import A_WINS, B_WINS, TIE, WINNERS, Comparisons, comparisons, with_policies

__all__ = [
    "A_WINS",
    "BASE_RATING",
    "B_WINS",
    "ELO_SCALE",
    "FEW_COMPARISONS",
    "TIE",
    "TIE_MODELS",
    "WINNERS",
    "Cells",
    "Comparisons",
    "Ratings",
    "aggregate",
    "agreement",
    "bootstrap_intervals",
    "bootstrap_samples",
    "bradley_terry",
    "comparisons",
    "covariance",
    "elo",
    "kendall_tau_b",
    "laplacian",
    "next_pairs",
    "pair_quadratic",
    "pair_signs",
    "point_ranks",
    "rank",
    "rank_intervals",
    "sandwich_intervals",
    "to_rating",
    "with_policies",
]
