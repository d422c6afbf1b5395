"""The leaderboard's and the policy page's tables, from query records to rows: pure functions.

Nothing here ranks or fits: ratings, ranks and rank intervals are the stored ones
(:func:`benchmark.judges.standings.fit_and_store`), success rates and VLM scores come from
:func:`benchmark.store.queries.leaderboard`, judge agreement from :func:`benchmark.ranking.agreement`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from benchmark.campaigns.campaign import UNPERTURBED, cell_label
from benchmark.store.queries import (
    JUDGES,
    LeaderboardRow,
    RatingRow,
    RobustnessRow,
    scope_text,
    wilson_interval,
)
from dashboard.fmt import EMPTY, interval, points


@dataclass(frozen=True)
class BoardRow:
    """One policy on the leaderboard: its rank (and rank interval) and rating under the chosen
    judge with the comparisons behind them, its success rate (state judge) with the episodes
    behind it, and its VLM score with the episodes the VLM judged. None where there is nothing."""

    rank: int | None
    rank_low: int | None
    rank_high: int | None
    policy: str
    rating: float | None
    rating_low: float | None
    rating_high: float | None
    comparisons: int | None
    success_rate: float | None
    success_low: float | None
    success_high: float | None
    episodes: int
    vlm_score: float | None
    vlm_low: float | None
    vlm_high: float | None
    vlm_episodes: int


def board(
    ratings: Sequence[RatingRow],
    judged: Sequence[LeaderboardRow],
    state: Sequence[LeaderboardRow],
    vlm: Sequence[LeaderboardRow],
    filtered: bool = False,
) -> list[BoardRow]:
    """The leaderboard's rows. Order: the stored ratings' ranks when there are any, else the
    chosen judge's own order (``judged``, whose ranks are shown), then the policies neither
    ranks (no rank). ``filtered``: the
    success and VLM columns are kept to some scenarios, so only policies with episodes there show."""
    rated = {r.policy: r for r in ratings}
    own_rank = {r.policy: r.rank for r in judged}
    by_state = {r.policy: r for r in state}
    by_vlm = {r.policy: r for r in vlm}
    if filtered:
        names = [n for n in dict.fromkeys([*(r.policy for r in judged), *by_state]) if n in by_state]
        order = [r.policy for r in ratings if r.policy in by_state] + names
    else:
        order = [r.policy for r in ratings] + [r.policy for r in judged] + list(by_state) + list(by_vlm)
    rows = []
    for name in dict.fromkeys(order):
        r, s, v = rated.get(name), by_state.get(name), by_vlm.get(name)
        rows.append(
            BoardRow(
                rank=r.rank if r is not None else None if ratings else own_rank.get(name),
                rank_low=None if r is None else r.rank_low,
                rank_high=None if r is None else r.rank_high,
                policy=name,
                rating=None if r is None else r.rating,
                rating_low=None if r is None else r.ci_low,
                rating_high=None if r is None else r.ci_high,
                comparisons=None if r is None else r.n,
                success_rate=None if s is None else s.score,
                success_low=None if s is None else s.ci_low,
                success_high=None if s is None else s.ci_high,
                episodes=0 if s is None else s.n,
                vlm_score=None if v is None else v.score,
                vlm_low=None if v is None else v.ci_low,
                vlm_high=None if v is None else v.ci_high,
                vlm_episodes=0 if v is None else v.n,
            )
        )
    return rows


def rank_interval(row: BoardRow) -> str:
    if row.rank_low is None or row.rank_high is None:
        return EMPTY
    return str(row.rank_low) if row.rank_low == row.rank_high else f"{row.rank_low}–{row.rank_high}"


def table(rows: Sequence[BoardRow]) -> list[dict]:
    """The rows as the page shows them (numbers stay numbers, rates in percent points; intervals
    become text)."""
    return [
        {
            "rank": row.rank,
            "rank interval": rank_interval(row),
            "policy": row.policy,
            "rating": row.rating,
            "rating 95 % CI": interval(row.rating_low, row.rating_high),
            "comparisons": row.comparisons,
            "success rate": points(row.success_rate),
            "success 95 % CI": interval(row.success_low, row.success_high, as_percent=True),
            "episodes": row.episodes,
            "VLM score": row.vlm_score,
            "VLM 95 % CI": interval(row.vlm_low, row.vlm_high, digits=1),
            "VLM episodes": row.vlm_episodes,
            "details": f"policy?policy={quote(row.policy)}",
        }
        for row in rows
    ]


def judge_scores(
    ratings: Mapping[str, Sequence[RatingRow]], scores: Mapping[str, Sequence[LeaderboardRow]]
) -> dict[str, dict[str, float]]:
    """Each judge's score per policy: its stored ratings where it has some, else its leaderboard
    score (success rate, mean VLM score); judges with neither are left out."""
    out = {}
    for judge in JUDGES:
        if ratings.get(judge):
            out[judge] = {r.policy: float(r.rating) for r in ratings[judge]}
        elif scores.get(judge):
            out[judge] = {r.policy: float(r.score) for r in scores[judge]}
    return out


def agreement_rows(scores: Mapping[str, Mapping[str, float]]) -> list[dict]:
    """How every two judges agree on the policies both scored (at least two):
    :func:`benchmark.ranking.agreement`'s Spearman, Kendall and pairwise accuracy."""
    from benchmark.ranking import agreement

    judges = list(scores)
    rows = []
    for i, x in enumerate(judges):
        for y in judges[i + 1 :]:
            common = sorted(set(scores[x]) & set(scores[y]))
            if len(common) < 2:
                continue
            result = agreement({p: scores[x][p] for p in common}, {p: scores[y][p] for p in common})
            rows.append(
                {
                    "judges": f"{x} · {y}",
                    "policies": result["n"],
                    "Spearman ρ": _finite(result["spearman"]),
                    "Kendall τ-b": _finite(result["kendall_tau_b"]),
                    "pairwise accuracy": points(_finite(result["pairwise_accuracy"])),
                }
            )
    return rows


def scope_label(campaign: str | None, axis: str | None, twin: str | None, task: str | None) -> str:
    """What the leaderboard's numbers are over (:func:`benchmark.store.queries.scope_text`); the
    page opens on the newest campaign's unperturbed cell, as ``twinarena leaderboard`` does."""
    return scope_text(campaign, axis, twin, task, quote="`")


def chart_rows(rows: Sequence[BoardRow]) -> tuple[list[dict], list[dict]]:
    """The leaderboard chart's data: ratings with their 95 % intervals (policies with a rating),
    and success rates with their Wilson intervals in percent points (policies with episodes)."""
    ratings = [
        {
            "policy": r.policy,
            "rating": r.rating,
            "low": r.rating_low,
            "high": r.rating_high,
            "n": r.comparisons,
        }
        for r in rows
        if r.rating is not None and r.rating_low is not None and r.rating_high is not None
    ]
    success = [
        {
            "policy": r.policy,
            "success rate": points(r.success_rate),
            "low": points(r.success_low),
            "high": points(r.success_high),
            "episodes": r.episodes,
        }
        for r in rows
        if r.success_rate is not None and r.episodes
    ]
    return ratings, success


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


# -- the policy page ----------------------------------------------------------------------------
# line colours of the robustness curves: saturated, each at least 3:1 against the white page
AXIS_PALETTE = (
    "#1f5fa8", "#c0392b", "#1e8449", "#7d3c98", "#a04000",
    "#117a8b", "#c2185b", "#34495e", "#6b6b00", "#5d4037",
)  # fmt: skip


def axis_colours(axes: Sequence[str]) -> dict[str, str]:
    """A visible colour per axis, single axes first then composed ones (``a+b``), in the order
    given; the palette repeats past ten axes (composed axes are also dashed)."""
    names = list(dict.fromkeys(axes))
    ordered = [a for a in names if "+" not in a] + [a for a in names if "+" in a]
    return {axis: AXIS_PALETTE[k % len(AXIS_PALETTE)] for k, axis in enumerate(ordered)}


@dataclass(frozen=True)
class CurvePoint:
    """Success at one level of one axis, over the episodes of the chosen twins and tasks."""

    axis: str
    level: float
    successes: int
    episodes: int
    success_rate: float
    low: float
    high: float


def curves(
    rows: Sequence[RobustnessRow], twin: str | None = None, task: str | None = None
) -> list[CurvePoint]:
    """Per-axis robustness curves: success against level with Wilson intervals, each axis
    starting from the unperturbed cell (level 0) of the same twins and tasks. Cells of several
    twins or tasks are pooled (their successes and episodes added)."""
    pooled: dict[tuple[str, float], list[int]] = {}
    for row in rows:
        if (twin is not None and row.twin != twin) or (task is not None and row.task != task):
            continue
        cell = pooled.setdefault((row.axis, float(row.level)), [0, 0])
        cell[0] += row.successes
        cell[1] += row.episodes
    base = pooled.get((UNPERTURBED, 0.0))
    axes = sorted({axis for axis, _ in pooled if axis != UNPERTURBED})
    points = []
    for axis in axes or ([UNPERTURBED] if base else []):
        cells = sorted((level, counts) for (a, level), counts in pooled.items() if a == axis)
        if base is not None and axis != UNPERTURBED:
            cells = [(0.0, base), *cells]
        for level, (successes, n) in cells:
            low, high = wilson_interval(successes, n)
            points.append(CurvePoint(axis, level, successes, n, successes / n if n else 0.0, low, high))
    return points


def worst_cells(rows: Sequence[RobustnessRow], k: int = 5) -> list[dict]:
    """The ``k`` scenario cells (twin, task, axis, level) where the policy did worst: lowest
    success rate, then lowest mean progress, then most episodes."""
    ordered = sorted(rows, key=lambda r: (r.success_rate, r.mean_progress, -r.episodes, r.twin, r.axis))
    out = []
    for row in ordered[:k]:
        out.append(
            {
                "twin": row.twin,
                "task": row.task,
                "perturbation": cell_label(row.axis, row.level),
                "success rate": points(row.success_rate),
                "success 95 % CI": interval(*wilson_interval(row.successes, row.episodes), as_percent=True),
                "episodes": row.episodes,
                "mean progress": row.mean_progress,
            }
        )
    return out
