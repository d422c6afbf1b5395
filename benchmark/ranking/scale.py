"""Elo's scale: natural log-strengths to ratings (mean 1000, 400 points for odds of 10:1), and the
ranks and rank intervals that ratings and their intervals imply."""

from __future__ import annotations

import numpy as np

ELO_SCALE = 400.0 / np.log(10.0)  # rating points per unit of natural log-strength
BASE_RATING = 1000.0


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
