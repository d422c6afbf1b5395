"""The comparisons the judges' standings are fitted from, counted in SQL, and the fitted ratings
written back (the read and write side of :mod:`benchmark.judges.standings`).

- an episode judge (``state``, ``vlm``) implies comparisons of every two policies that played the
  same scenario: the better score wins (the state judge ranks success first, then progress, as
  its leaderboard does), scores closer than :data:`SCORE_TOLERANCE` tie;
- a pairwise judge (``vlm-pairwise``, ``human``) has its comparisons stored as such.

The rows never pass through Python one by one: each count is one grouped query.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import and_, case, delete, func, literal, select
from sqlalchemy.orm import Session, aliased

from benchmark.store.models import Comparison, Episode, Judgment, Policy, Rating
from benchmark.store.queries import EPISODE_JUDGES, in_campaign

SCORE_TOLERANCE = 1e-6  # episode scores closer than this are a tie
SUCCESS_BONUS = 1000.0  # above any 0–100 score: the state judge's success outranks every progress
RATING_COLUMNS = ("rating", "ci_low", "ci_high", "rank", "rank_low", "rank_high", "n")

Counts = list[tuple[str, str, str, int]]  # (policy_a, policy_b, winner, count), a the lower policy id


def episode_judge_counts(
    session: Session, judge: str, campaign_id: int | None = None, model: str | None = None
):
    """Comparisons implied by an episode judge: for every scenario and every two policies with an
    episode judged there, who was judged better (``a`` is the policy with the lower id)."""
    ea, eb = aliased(Episode), aliased(Episode)
    ja, jb = aliased(Judgment), aliased(Judgment)
    pa, pb = aliased(Policy), aliased(Policy)

    def key(j):  # success outranks any progress for the state judge
        return (
            j.score + case((j.success.is_(True), SUCCESS_BONUS), else_=0.0) if judge == "state" else j.score
        )

    winner = case(
        (key(ja) > key(jb) + SCORE_TOLERANCE, literal("a")),
        (key(jb) > key(ja) + SCORE_TOLERANCE, literal("b")),
        else_=literal("tie"),
    )
    query = (
        select(pa.name, pb.name, winner, func.count())
        .select_from(ea)
        .join(eb, and_(eb.scenario_id == ea.scenario_id, eb.policy_id > ea.policy_id))
        .join(ja, and_(ja.episode_id == ea.id, ja.judge == judge))
        .join(jb, and_(jb.episode_id == eb.id, jb.judge == judge, jb.model == ja.model))
        .join(pa, pa.id == ea.policy_id)
        .join(pb, pb.id == eb.policy_id)
        .group_by(pa.name, pb.name, winner)
    )
    if model is not None:
        query = query.where(ja.model == model)
    for episode in (ea, eb):  # both episodes of a pair belong to the campaign
        query = in_campaign(query, campaign_id, episode.policy_id, episode.scenario_id)
    return [tuple(row) for row in session.execute(query).all()]


def pairwise_judge_counts(session: Session, judge: str, campaign_id: int | None = None):
    """A pairwise judge's stored comparisons, counted per (policy_a, policy_b, winner)."""
    pa, pb = aliased(Policy), aliased(Policy)
    query = (
        select(pa.name, pb.name, Comparison.winner, func.count())
        .select_from(Comparison)
        .join(pa, pa.id == Comparison.policy_a_id)
        .join(pb, pb.id == Comparison.policy_b_id)
        .where(Comparison.judge == judge)
        .group_by(pa.name, pb.name, Comparison.winner)
    )
    query = in_campaign(query, campaign_id, Comparison.policy_a_id, Comparison.scenario_id)
    return [tuple(row) for row in session.execute(query).all()]


def judge_counts(
    store, judges: Iterable[str], campaign: str | None = None, model: str | None = None
) -> dict[str, Counts]:
    """The comparisons each of ``judges`` stands for in the store (or in one campaign; an unknown
    campaign raises :class:`~benchmark.errors.StoreError` naming the known ones), read in one
    transaction; ``model`` keeps an episode judge to one model's judgments."""
    counts = {}
    with store.session() as session:
        campaign_id = store.campaign_id(session, campaign)
        for judge in judges:
            if judge in EPISODE_JUDGES:
                counts[judge] = episode_judge_counts(session, judge, campaign_id, model)
            else:
                counts[judge] = pairwise_judge_counts(session, judge, campaign_id)
    return counts


def replace_ratings(store, judge: str, scope: str, method: str, rows: Sequence[Mapping]) -> None:
    """Replace the ratings stored for ``judge`` in ``scope`` (a campaign's name, or empty for the
    whole store) with ``rows`` (``policy`` and the :data:`RATING_COLUMNS`), in one transaction."""
    with store.session() as session:
        query = select(Policy.name, Policy.id).where(Policy.name.in_([row["policy"] for row in rows]))
        ids = {name: policy_id for name, policy_id in session.execute(query)}
        session.execute(delete(Rating).where(Rating.judge == judge, Rating.scope == scope))
        session.add_all(
            Rating(
                judge=judge,
                scope=scope,
                policy_id=ids[row["policy"]],
                method=method[:32],
                **{k: row[k] for k in RATING_COLUMNS},
            )
            for row in rows
        )
