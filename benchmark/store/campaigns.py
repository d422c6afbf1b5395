"""Twins, campaigns, scenarios, jobs and episodes: the writes behind :class:`Store`'s campaign methods.

Like :mod:`benchmark.store.policies`, the functions take an open session and return plain
records. Every write is get-or-create on a natural key (a twin's content hash, a campaign's or
scenario's key, an episode's (policy, scenario)), so repeating one is harmless and two
evaluators racing on the same campaign cannot duplicate a row.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from benchmark.errors import StoreError
from benchmark.store.judgments import EpisodeJudgment, write_judgment
from benchmark.store.models import Campaign, CampaignJob, Episode, Scenario, Twin
from benchmark.text import clean_text

CHUNK = 500  # keys per IN (…) list: well under every backend's parameter limit


@dataclass(frozen=True)
class TwinRecord:
    """A twin package in the catalogue; ``artefact`` is its stored copy (a folder)."""

    id: int
    content_hash: str
    name: str
    task: str
    source: str
    sha256: str
    artefact: str
    created_at: datetime


@dataclass(frozen=True)
class CampaignRecord:
    """A campaign: its key, name and the spec it was created from."""

    id: int
    key: str
    name: str
    spec: dict[str, Any]
    created_at: datetime


def _twin_record(row: Twin) -> TwinRecord:
    return TwinRecord(
        row.id, row.content_hash, row.name, row.task, row.source, row.sha256, row.artefact, row.created_at
    )


def _campaign_record(row: Campaign) -> CampaignRecord:
    return CampaignRecord(row.id, row.key, row.name, dict(row.spec), row.created_at)


def add_twin(
    session: Session,
    content_hash: str,
    name: str,
    task: str,
    source: str,
    sha256: str,
    artefact: str,
    manifest: dict[str, Any],
) -> TwinRecord:
    """Register a twin package by its content hash (the existing record when it is known)."""
    known = get_twin(session, content_hash)
    if known is not None:
        return known
    row = Twin(
        content_hash=content_hash,
        name=name,
        task=task,
        source=source,
        sha256=sha256,
        artefact=artefact,
        manifest=manifest,
    )
    session.add(row)
    session.flush()
    return _twin_record(row)


def get_twin(session: Session, content_hash: str) -> TwinRecord | None:
    row = session.scalars(select(Twin).where(Twin.content_hash == content_hash)).one_or_none()
    return None if row is None else _twin_record(row)


def list_twins(session: Session) -> list[TwinRecord]:
    return [_twin_record(row) for row in session.scalars(select(Twin).order_by(Twin.name, Twin.id))]


def add_campaign(session: Session, key: str, name: str, spec: dict[str, Any]) -> CampaignRecord:
    """The campaign with ``key``, created under ``name`` if new; :class:`StoreError` when ``name``
    belongs to a different campaign."""
    row = session.scalars(select(Campaign).where(Campaign.key == key)).one_or_none()
    if row is not None:
        return _campaign_record(row)
    other = session.scalars(select(Campaign).where(Campaign.name == name)).one_or_none()
    if other is not None:
        raise StoreError(
            f"campaign name {name!r} belongs to another campaign (different policies, twins, "
            "perturbations, seeds or settings); choose another --name"
        )
    row = Campaign(key=key, name=name, spec=spec)
    session.add(row)
    session.flush()
    return _campaign_record(row)


def get_campaign(session: Session, name: str) -> CampaignRecord | None:
    row = session.scalars(select(Campaign).where(Campaign.name == name)).one_or_none()
    return None if row is None else _campaign_record(row)


def list_campaigns(session: Session) -> list[CampaignRecord]:
    return [_campaign_record(r) for r in session.scalars(select(Campaign).order_by(Campaign.id))]


def add_scenarios(session: Session, scenarios: list[dict[str, Any]]) -> dict[str, int]:
    """Get or create scenarios (dicts with the :class:`Scenario` columns but ``id``); return
    their ids by key."""
    ids: dict[str, int] = {}
    keys = list(dict.fromkeys(s["key"] for s in scenarios))
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        ids.update(session.execute(select(Scenario.key, Scenario.id).where(Scenario.key.in_(chunk))).all())
    new = [s for s in {s["key"]: s for s in scenarios}.values() if s["key"] not in ids]
    if new:
        session.add_all(Scenario(**s) for s in new)
        session.flush()
        for start in range(0, len(new), CHUNK):
            chunk = [s["key"] for s in new[start : start + CHUNK]]
            query = select(Scenario.key, Scenario.id).where(Scenario.key.in_(chunk))
            ids.update(session.execute(query).all())
    return ids


def add_jobs(session: Session, campaign_id: int, jobs: Iterable[tuple[int, int]]) -> None:
    """Add (policy id, scenario id) jobs to a campaign; those it has already are left alone."""
    have = set(
        session.execute(
            select(CampaignJob.policy_id, CampaignJob.scenario_id).where(
                CampaignJob.campaign_id == campaign_id
            )
        ).all()
    )
    new = [
        CampaignJob(campaign_id=campaign_id, policy_id=p, scenario_id=s)
        for p, s in dict.fromkeys(jobs)
        if (p, s) not in have
    ]
    session.add_all(new)
    session.flush()


def finished_jobs(session: Session, campaign_id: int) -> set[tuple[int, int]]:
    """The campaign's (policy id, scenario id) jobs that have an episode."""
    query = (
        select(Episode.policy_id, Episode.scenario_id)
        .join(
            CampaignJob,
            (CampaignJob.policy_id == Episode.policy_id) & (CampaignJob.scenario_id == Episode.scenario_id),
        )
        .where(CampaignJob.campaign_id == campaign_id)
    )
    return set(session.execute(query).all())


def has_episode(session: Session, policy_id: int, scenario_id: int) -> bool:
    query = select(Episode.id).where(Episode.policy_id == policy_id, Episode.scenario_id == scenario_id)
    return session.scalar(query) is not None


def add_episode(
    session: Session,
    policy_id: int,
    scenario_id: int,
    outcome: dict[str, Any],
    sha256: str,
    artefact: str,
    files: list[str],
    worker: str = "",
    *,
    judgment: EpisodeJudgment,
) -> int:
    """Insert an episode and the judgment of it that it is given (the state judge's,
    :func:`benchmark.judges.state.judge_state`); return the episode's id. A second episode of the
    same (policy, scenario) violates ``uq_episodes_job`` (the caller decides)."""
    episode = Episode(
        policy_id=policy_id,
        scenario_id=scenario_id,
        success=bool(outcome["success"]),
        progress=float(outcome["progress"]),
        steps=int(outcome["steps"]),
        termination=str(outcome["termination"]),
        detail=clean_text(outcome.get("detail", "")),  # a policy's words: plain text, capped
        seconds=float(outcome.get("seconds", 0.0)),
        sha256=sha256,
        trace=str(outcome.get("trace") or f"untraced-{uuid.uuid4().hex}"),  # no trace: its own trial
        artefact=artefact,
        files=list(files),
        worker=worker,
    )
    session.add(episode)
    session.flush()
    write_judgment(session, episode.id, judgment)
    return episode.id
