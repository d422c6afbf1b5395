"""Two policies paired on the scenarios both played: per cell (twin, task, axis, level) and overall,
the 2×2 table of their outcomes and what it says (:mod:`benchmark.ranking.paired`).

An episode is one (policy, scenario), so the pairs are the scenarios with an episode of each
policy, counted as distinct pairs of rollouts (two scenarios where both policies did exactly the
same count once, see ``Episode.trace``); the counting is one SQL query. The report's paired
section and the dashboard's policy page both read :func:`paired_comparison`, so they show the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.orm import Session, aliased

from benchmark.errors import StoreError
from benchmark.ranking.paired import ALPHA, PairedComparison, compare_paired
from benchmark.store.models import Episode, Policy, Scenario, Twin
from benchmark.store.queries import in_campaign

if TYPE_CHECKING:
    from benchmark.store.store import Store


@dataclass(frozen=True)
class PairedCell:
    """The scenarios of one cell that both policies played, counted by outcome (A's first)."""

    twin: str
    task: str
    axis: str
    level: float
    both: int
    only_a: int
    only_b: int
    neither: int

    @property
    def pairs(self) -> int:
        return self.both + self.only_a + self.only_b + self.neither


@dataclass(frozen=True)
class PairedRow:
    """One cell (``twin`` etc. None for the overall row) and its comparison."""

    twin: str | None
    task: str | None
    axis: str | None
    level: float | None
    comparison: PairedComparison

    def as_dict(self) -> dict:
        return {
            "twin": self.twin,
            "task": self.task,
            "axis": self.axis,
            "level": self.level,
            **self.comparison.as_dict(),
        }


@dataclass(frozen=True)
class PairedTable:
    """Policy ``a`` against ``b`` on their shared scenarios: a row per cell and one over all."""

    a: str
    b: str
    campaign: str | None
    alpha: float
    cells: list[PairedRow]
    overall: PairedRow

    def as_dict(self) -> dict:
        return {
            "policies": [self.a, self.b],
            "campaign": self.campaign,
            "alpha": self.alpha,
            "cells": [row.as_dict() for row in self.cells],
            "overall": self.overall.as_dict(),
        }


def paired_cells(
    session: Session, policy: str, other: str, campaign_id: int | None = None
) -> list[PairedCell]:
    """The scenarios both ``policy`` (A) and ``other`` (B) have an episode of, counted per
    (twin, task, axis, level) by outcome; only the campaign's jobs when ``campaign_id`` is given."""
    mine, theirs = aliased(Episode), aliased(Episode)
    me, them = aliased(Policy), aliased(Policy)
    a_won, b_won = mine.success.is_(True), theirs.success.is_(True)

    pair = mine.trace + literal(":") + theirs.trace  # a pair seen twice (same two rollouts) counts once

    def count(condition):
        return func.count(func.distinct(case((condition, pair))))

    query = (
        select(
            Twin.name,
            Scenario.task,
            Scenario.axis,
            Scenario.level,
            count(and_(a_won, b_won)),
            count(and_(a_won, ~b_won)),
            count(and_(~a_won, b_won)),
            count(and_(~a_won, ~b_won)),
        )
        .select_from(mine)
        .join(theirs, theirs.scenario_id == mine.scenario_id)
        .join(me, me.id == mine.policy_id)
        .join(them, them.id == theirs.policy_id)
        .join(Scenario, Scenario.id == mine.scenario_id)
        .join(Twin, Twin.id == Scenario.twin_id)
        .where(me.name == policy, them.name == other)
        .group_by(Twin.name, Scenario.task, Scenario.axis, Scenario.level)
        .order_by(Twin.name, Scenario.task, Scenario.axis, Scenario.level)
    )
    query = in_campaign(query, campaign_id, mine.policy_id, mine.scenario_id)
    query = in_campaign(query, campaign_id, theirs.policy_id, theirs.scenario_id)
    return [
        PairedCell(twin, task, axis, float(level), int(both), int(only_a), int(only_b), int(neither))
        for twin, task, axis, level, both, only_a, only_b, neither in session.execute(query)
    ]


def paired_comparison(
    store: Store, policy: str, other: str, campaign: str | None = None, alpha: float = ALPHA
) -> PairedTable:
    """``policy`` (A) against ``other`` (B) on the scenarios both played: per cell and overall,
    both success rates, ``A − B`` with Newcombe's paired interval, McNemar's exact p and the
    verdict. :class:`StoreError` for an unknown policy or campaign, or a policy against itself."""
    if policy == other:
        raise StoreError(f"{policy!r} against itself: name another policy to compare with")
    for name in (policy, other):
        if store.get_policy(name) is None:
            known = ", ".join(p.name for p in store.list_policies()) or "none yet"
            raise StoreError(f"unknown policy {name!r} in {store.url} (policies: {known})")
    with store.session() as session:
        cells = paired_cells(session, policy, other, store.campaign_id(session, campaign))
    rows = [
        PairedRow(
            c.twin, c.task, c.axis, c.level, compare_paired(c.both, c.only_a, c.only_b, c.neither, alpha)
        )
        for c in cells
    ]
    both, only_a, only_b, neither = (
        sum(getattr(c, k) for c in cells) for k in ("both", "only_a", "only_b", "neither")
    )
    overall = PairedRow(None, None, None, None, compare_paired(both, only_a, only_b, neither, alpha))
    return PairedTable(policy, other, campaign, alpha, rows, overall)
