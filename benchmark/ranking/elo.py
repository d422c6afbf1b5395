"""Online Elo: sequential, order-dependent ratings, for comparison with Bradley–Terry."""

from __future__ import annotations

import numpy as np

from benchmark.ranking.table import A_WINS, B_WINS, Comparisons


def elo(table: Comparisons, k: float = 4.0, base: float = 1000.0, scale: float = 400.0) -> np.ndarray:
    """Sequential online Elo over the comparisons in table order (a tie scores 0.5), starting every
    policy at ``base``; ratings aligned with ``table.policies``. Order-dependent, unlike BT."""
    rating = np.full(len(table.policies), float(base))
    score_a = np.where(table.winner == A_WINS, 1.0, np.where(table.winner == B_WINS, 0.0, 0.5))
    for a, b, sa in zip(table.a.tolist(), table.b.tolist(), score_a.tolist(), strict=True):
        expected = 1.0 / (1.0 + 10.0 ** ((rating[b] - rating[a]) / scale))
        rating[a] += k * (sa - expected)
        rating[b] -= k * (sa - expected)
    return rating
