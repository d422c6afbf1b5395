"""What the judges read and write: episodes to judge, their judgments, pairs of episodes and the
comparisons of them. The judges (:mod:`benchmark.judges`) decide; these functions only read and
write, each in its own transaction unless it takes a session.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from benchmark.store.models import Comparison, Episode, Judgment
from benchmark.text import clean_text

CHUNK = 500  # ids per IN (…) list: well under every backend's parameter limit


@dataclass(frozen=True)
class EpisodeJudgment:
    """A judge's judgment of one episode, to be stored as it is: ``score`` is progress in 0–100,
    ``success`` the judge's verdict where it gives one; ``model`` and ``prompt_version`` are empty
    for a judge that is not a model."""

    judge: str
    score: float
    success: bool | None = None
    model: str = ""
    prompt_version: str = ""
    cost_usd: float | None = None
    latency_s: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def write_judgment(session: Session, episode_id: int, judgment: EpisodeJudgment) -> None:
    """Add the judgment of an episode to the session's transaction."""
    session.add(
        Judgment(
            episode_id=episode_id,
            judge=judgment.judge,
            model=judgment.model,
            prompt_version=judgment.prompt_version,
            score=judgment.score,
            success=judgment.success,
            cost_usd=judgment.cost_usd,
            latency_s=judgment.latency_s,
            detail=judgment.detail,
        )
    )
    session.flush()


def add_judgment(store, episode_id: int, judgment: EpisodeJudgment) -> bool:
    """Store a judgment in its own transaction; False when the episode already has one by the same
    judge, model and prompt version (another run stored it first)."""
    try:
        with store.session() as session:
            write_judgment(session, episode_id, judgment)
    except IntegrityError:
        return False
    return True


def chunks(ids: Iterable[int]) -> list[list[int]]:
    """Distinct ids, sorted, in lists of :data:`CHUNK` (well under every backend's limit on an IN list)."""
    ids = sorted(set(ids))
    return [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]


def _episodes(session: Session, ids: Iterable[int]) -> dict[int, Episode]:
    """The episodes by id; ValueError naming those not in the store."""
    ids = sorted(set(ids))
    rows = {
        e.id: e
        for chunk in chunks(ids)
        for e in session.scalars(select(Episode).where(Episode.id.in_(chunk)))
    }
    missing = [i for i in ids if i not in rows]
    if missing:
        raise ValueError(f"no episode {', '.join(map(str, missing))} in the store")
    return rows


def episodes_to_judge(
    store, ids: Iterable[int], judge: str, model: str, prompt_version: str
) -> tuple[dict[int, str], set[int]]:
    """For episodes ``ids``: each one's artefact (ValueError naming any not in the store), and
    those already judged by ``judge`` with ``model`` and ``prompt_version``."""
    ids = list(ids)
    with store.session() as session:
        artefacts = {i: e.artefact for i, e in _episodes(session, ids).items()}
        query = select(Judgment.episode_id).where(
            Judgment.judge == judge, Judgment.model == model, Judgment.prompt_version == prompt_version
        )
        done = {
            i for chunk in chunks(ids) for i in session.scalars(query.where(Judgment.episode_id.in_(chunk)))
        }
    return artefacts, done


def pairs_to_compare(
    store, ids: Iterable[int], judge: str, model: str, prompt_version: str
) -> tuple[dict[int, tuple[int, int, str]], set[frozenset[int]]]:
    """For episodes ``ids``: each one's (scenario id, policy id, artefact) (ValueError naming any not
    in the store), and the pairs of them already compared by ``judge`` with ``model`` and
    ``prompt_version``, in either order."""
    with store.session() as session:
        rows = _episodes(session, ids)
        info = {i: (e.scenario_id, e.policy_id, e.artefact) for i, e in rows.items()}
        query = select(Comparison.episode_a_id, Comparison.episode_b_id).where(
            Comparison.judge == judge, Comparison.model == model, Comparison.prompt_version == prompt_version
        )
        done = {
            frozenset(pair)
            for chunk in chunks(info)
            for pair in session.execute(query.where(Comparison.episode_a_id.in_(chunk)))
        }
    return info, done


def add_comparison(store, **columns: Any) -> None:
    """Store one comparison (the :class:`~benchmark.store.models.Comparison` columns) in its own
    transaction."""
    if "reason" in columns:
        columns["reason"] = clean_text(columns["reason"])  # a judge's words, as plain text
    with store.session() as session:
        session.add(Comparison(**columns))


def same_scenario_episodes(store, episodes: Iterable[int] | None = None) -> list[tuple[int, int, int]]:
    """``(scenario id, policy id, episode id)`` of ``episodes`` (ids; default: every episode in the
    store), by scenario and policy."""
    query = select(Episode.scenario_id, Episode.policy_id, Episode.id).order_by(
        Episode.scenario_id, Episode.policy_id
    )
    if episodes is not None:
        query = query.where(Episode.id.in_(list(episodes)))
    with store.session() as session:
        return [tuple(row) for row in session.execute(query)]
