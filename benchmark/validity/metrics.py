"""How well one world ranks policies the way another does: pure math on arrays.

- :func:`pearson`: Pearson's r between the two worlds' success rates, with SIMPLER's conventions
  (Li et al. 2024, ``simpler_env/utils/metrics.py``): identical centred vectors give 1, and a
  constant vector against a varying one gives 0.
- :func:`mmrv`: SIMPLER's Mean Maximum Rank Violation. For policies i, j with reference (real)
  success R and twin (sim) success S, a rank violation is ``|R_i − R_j|`` when the strict orders
  disagree, ``(S_i > S_j) ≠ (R_i > R_j)``; MMRV is the mean over i of the largest violation of i.
  It is measured in the reference's success units (0 best, ≤ 1).
- :func:`kendall_tau`: Kendall's τ-b of the two rankings (ties counted as ties).
- :func:`bootstrap`: percentile intervals of all three, resampling scenarios with the same
  indices in both worlds (common random numbers), from a generator the caller passes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmark.ranking import kendall_tau_b


def _pair(reference, twin) -> tuple[np.ndarray, np.ndarray]:
    r, s = np.asarray(reference, dtype=float), np.asarray(twin, dtype=float)
    if r.ndim != 1 or r.shape != s.shape:
        raise ValueError(f"two equally long 1-D score vectors expected, got shapes {r.shape} and {s.shape}")
    if len(r) < 2:
        raise ValueError(f"at least two policies are needed to compare rankings, got {len(r)}")
    return r, s


def pearson(reference, twin) -> float:
    """Pearson's r of the two worlds' scores (SIMPLER's conventions for constant vectors)."""
    r, s = _pair(reference, twin)
    r, s = r - r.mean(), s - s.mean()
    if np.array_equal(r, s):
        return 1.0
    norm = np.sqrt(np.sum(r * r) * np.sum(s * s))
    return 0.0 if norm == 0 else float(np.clip(np.sum(r * s) / norm, -1.0, 1.0))


def mmrv(reference, twin) -> float:
    """Mean Maximum Rank Violation (SIMPLER): ``mean_i max_j |R_i − R_j| · [(S_i > S_j) ≠ (R_i > R_j)]``."""
    r, s = _pair(reference, twin)
    disagree = (s[:, None] > s[None, :]) != (r[:, None] > r[None, :])
    violation = np.where(disagree, np.abs(r[:, None] - r[None, :]), 0.0)
    return float(violation.max(axis=1).mean())


def kendall_tau(reference, twin) -> float:
    """Kendall's τ-b: (concordant − discordant) / √((pairs − ties in R)(pairs − ties in S)); 0 when
    a world ties every pair."""
    tau = kendall_tau_b(*_pair(reference, twin))
    return 0.0 if np.isnan(tau) else tau


METRICS = {"pearson": pearson, "mmrv": mmrv, "kendall": kendall_tau}


@dataclass(frozen=True)
class Estimate:
    """A metric's value on the full data and its bootstrap percentile interval."""

    value: float
    low: float
    high: float

    def to_dict(self) -> dict[str, float]:
        return {"value": self.value, "low": self.low, "high": self.high}


def success_rates(outcomes) -> np.ndarray:
    """Per-policy success rates of a [policies, scenarios] 0/1 outcome matrix."""
    return np.asarray(outcomes, dtype=float).mean(axis=1)


def bootstrap(
    reference, twin, rng: np.random.Generator, rounds: int = 1000, level: float = 0.95
) -> dict[str, Estimate]:
    """Pearson, MMRV and Kendall τ of two [policies, scenarios] outcome matrices (same policies,
    same scenarios in the same column order), each with a percentile interval from ``rounds``
    resamples of the scenario columns; a column is drawn for both worlds at once."""
    ref, tw = np.asarray(reference, dtype=float), np.asarray(twin, dtype=float)
    if ref.ndim != 2 or ref.shape != tw.shape or ref.shape[1] < 1:
        raise ValueError(f"two equal [policies, scenarios] matrices expected, got {ref.shape} and {tw.shape}")
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    n = ref.shape[1]
    columns = rng.integers(0, n, size=(rounds, n))
    alpha = (1.0 - level) / 2
    rates = success_rates(ref), success_rates(tw)
    resampled = [(ref[:, c].mean(axis=1), tw[:, c].mean(axis=1)) for c in columns]
    out = {}
    for name, metric in METRICS.items():
        full = metric(*rates)
        draws = np.array([metric(r, t) for r, t in resampled])
        low, high = np.quantile(draws, [alpha, 1.0 - alpha])
        out[name] = Estimate(full, float(low), float(high))
    return out
