"""The catalogue's tables as SQLAlchemy declarative models (the migrations in ``migrations/`` create them).

Every constraint gets its name from :data:`NAMING_CONVENTION`, so later migrations can drop or
alter it by name on every backend (SQLite through Alembic's batch mode).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Double,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
# JSON everywhere, JSONB on PostgreSQL (indexable, compact)
JSON_TYPE = JSON().with_variant(postgresql.JSONB(), "postgresql")

REGISTERED, FAILED = "registered", "failed"
POLICY_STATUSES = (REGISTERED, FAILED)
WINNERS = ("a", "b", "tie")


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime, read back in UTC on every backend (SQLite stores it as naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: give it a time zone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Base of every table; its metadata carries the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Policy(Base):
    """A policy submission: :class:`benchmark.policies.protocol.PolicyInfo` plus its artefact and status.

    ``sha256`` and ``artefact`` (a path relative to the artefact folder) are empty for submissions
    without files (built-in and remote policies); ``reason`` says why a ``failed`` policy failed.
    """

    __tablename__ = "policies"
    __table_args__ = (CheckConstraint(f"status IN {POLICY_STATUSES!r}", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String, unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    sha256: Mapped[str | None] = mapped_column(String(64))
    artefact: Mapped[str | None] = mapped_column(String)
    action_space: Mapped[str] = mapped_column(String(32))
    cameras: Mapped[list[str]] = mapped_column(JSON_TYPE)
    image_width: Mapped[int]
    image_height: Mapped[int]
    control_hz: Mapped[float | None] = mapped_column(Double)
    licence: Mapped[str] = mapped_column(String)
    owner: Mapped[str] = mapped_column(String)
    adapter: Mapped[str] = mapped_column(String(16), server_default="twinarena")
    open_loop_horizon: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(16), default=REGISTERED)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON_TYPE)


class Twin(Base):
    """A twin package, known by its content hash (:func:`twin.package.content_hash`); ``artefact`` is
    the package copied into the artefact folder, ``source`` where it was read from."""

    __tablename__ = "twins"

    id: Mapped[int] = mapped_column(primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String)
    task: Mapped[str] = mapped_column(String)
    source: Mapped[str] = mapped_column(String)
    sha256: Mapped[str] = mapped_column(String(64))
    artefact: Mapped[str] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    manifest: Mapped[dict[str, Any]] = mapped_column(JSON_TYPE)


class Campaign(Base):
    """A campaign: policies × twins × perturbation sweeps × seeds. ``key`` hashes the expanded
    spec, so the same command names the same campaign; ``spec`` is that command as data."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String, unique=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON_TYPE)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class Scenario(Base):
    """Twin + task + perturbations + seed + the environment's settings: the same scenario always
    starts from the same state. ``axis``/``level`` name the swept perturbation (``none``/0 for the
    unperturbed scenario); ``key`` hashes everything that identifies it."""

    __tablename__ = "scenarios"
    __table_args__ = (Index("ix_scenarios_twin_axis_level", "twin_id", "axis", "level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    twin_id: Mapped[int] = mapped_column(ForeignKey("twins.id"))
    task: Mapped[str] = mapped_column(String)
    axis: Mapped[str] = mapped_column(String(64))
    level: Mapped[float] = mapped_column(Double)
    perturbations: Mapped[list[str]] = mapped_column(JSON_TYPE)
    seed: Mapped[int]
    config: Mapped[dict[str, Any]] = mapped_column(JSON_TYPE)


class CampaignJob(Base):
    """A campaign's job: one policy in one scenario. Its result is the episode with the same
    (policy, scenario), shared by every campaign that asks for it."""

    __tablename__ = "campaign_jobs"
    __table_args__ = (Index("ix_campaign_jobs_policy_scenario", "policy_id", "scenario_id"),)

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"), primary_key=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenarios.id"), primary_key=True)


class Episode(Base):
    """One rollout of a policy in a scenario, at most one per (policy, scenario): the job key.
    ``artefact`` is the episode folder (videos, ``trajectory.npz``, ``episode.json``) in the artefact
    folder; ``files`` lists what it holds. ``trace`` fingerprints the rollout
    (:meth:`benchmark.episodes.episode.Trajectory.trace`): episodes with one trace are one distinct
    trial, and every count of trials counts traces."""

    __tablename__ = "episodes"
    __table_args__ = (UniqueConstraint("policy_id", "scenario_id", name="uq_episodes_job"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"))
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenarios.id"), index=True)
    success: Mapped[bool] = mapped_column(Boolean)
    progress: Mapped[float] = mapped_column(Double)
    steps: Mapped[int]
    termination: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")
    seconds: Mapped[float] = mapped_column(Double)
    sha256: Mapped[str] = mapped_column(String(64))
    trace: Mapped[str] = mapped_column(String(64), server_default="")  # what the policy saw and did
    artefact: Mapped[str] = mapped_column(String)
    files: Mapped[list[str]] = mapped_column(JSON_TYPE)
    worker: Mapped[str] = mapped_column(String, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class Judgment(Base):
    """A judge's score of one episode: ``score`` is progress in 0–100, ``success`` the judge's
    verdict where it gives one. ``model`` and ``prompt_version`` are empty for the state judge."""

    __tablename__ = "judgments"
    __table_args__ = (
        UniqueConstraint("episode_id", "judge", "model", "prompt_version", name="uq_judgments_key"),
        # covers the leaderboard's read of one judge's judgments (no lookup of the row per judgment)
        Index("ix_judgments_judge_episode", "judge", "episode_id", "model", "score", "success"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id", ondelete="CASCADE"))
    judge: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String, default="")
    prompt_version: Mapped[str] = mapped_column(String(32), default="")
    score: Mapped[float] = mapped_column(Double)
    success: Mapped[bool | None] = mapped_column(Boolean)
    cost_usd: Mapped[float | None] = mapped_column(Double)
    latency_s: Mapped[float | None] = mapped_column(Double)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON_TYPE)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class Comparison(Base):
    """A pairwise judgment of two policies' episodes of the same scenario: ``winner`` is ``a``,
    ``b`` or ``tie``; ``annotator`` names the person (or is empty for a model judge, which records
    its ``model``, ``prompt_version``, cost and latency); ``seconds_spent`` is a person's time."""

    __tablename__ = "comparisons"
    __table_args__ = (
        CheckConstraint(f"winner IN {WINNERS!r}", name="winner"),
        CheckConstraint("policy_a_id <> policy_b_id", name="two_policies"),
        Index("ix_comparisons_judge", "judge"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    judge: Mapped[str] = mapped_column(String(32))
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenarios.id"))
    policy_a_id: Mapped[int] = mapped_column(ForeignKey("policies.id"))
    policy_b_id: Mapped[int] = mapped_column(ForeignKey("policies.id"))
    episode_a_id: Mapped[int] = mapped_column(ForeignKey("episodes.id"))
    episode_b_id: Mapped[int] = mapped_column(ForeignKey("episodes.id"))
    winner: Mapped[str] = mapped_column(String(8))
    annotator: Mapped[str] = mapped_column(String, default="")
    model: Mapped[str] = mapped_column(String, default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    seconds_spent: Mapped[float | None] = mapped_column(Double)
    prompt_version: Mapped[str] = mapped_column(String(32), default="", server_default="")
    cost_usd: Mapped[float | None] = mapped_column(Double)
    latency_s: Mapped[float | None] = mapped_column(Double)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class Rating(Base):
    """A policy's fitted rating under one judge (Bradley–Terry unless ``method`` says otherwise),
    with its confidence interval, rank interval and the number ``n`` of comparisons or episodes
    behind it. ``scope`` is empty for the whole store, or a campaign's name."""

    __tablename__ = "ratings"
    __table_args__ = (UniqueConstraint("judge", "scope", "policy_id", name="uq_ratings_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    judge: Mapped[str] = mapped_column(String(32))
    scope: Mapped[str] = mapped_column(String, default="")
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"))
    method: Mapped[str] = mapped_column(String(32))
    rating: Mapped[float] = mapped_column(Double)
    ci_low: Mapped[float] = mapped_column(Double)
    ci_high: Mapped[float] = mapped_column(Double)
    rank: Mapped[int]
    rank_low: Mapped[int]
    rank_high: Mapped[int]
    n: Mapped[int]
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


QUALIFYING, QUALIFIED, DISQUALIFIED = "qualifying", "qualified", "disqualified"
ANNOTATOR_STATUSES = (QUALIFYING, QUALIFIED, FAILED, DISQUALIFIED)
REGULAR, QUALIFICATION, SANITY = "regular", "qualification", "sanity"
PAIR_KINDS = (REGULAR, QUALIFICATION, SANITY)
SIDES = ("left", "right")
ANSWERS = (*SIDES, "tie")


class Annotator(Base):
    """A person comparing pairs in the blind preference service (:mod:`benchmark.judges.preferences`):
    ``qualifying`` until the known-answer pairs are done, then ``qualified`` or ``failed``;
    ``disqualified`` by failed hidden sanity pairs. The counters count answered pairs by kind
    (``votes``: regular ones); ``seen_at`` is touched first in every call, which serialises one
    annotator's calls."""

    __tablename__ = "annotators"
    __table_args__ = (CheckConstraint(f"status IN {ANNOTATOR_STATUSES!r}", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String, unique=True)
    status: Mapped[str] = mapped_column(String(16), default=QUALIFYING)
    reason: Mapped[str] = mapped_column(Text, default="")
    answered: Mapped[int] = mapped_column(default=0)
    qualification_answered: Mapped[int] = mapped_column(default=0)
    qualification_correct: Mapped[int] = mapped_column(default=0)
    sanity_answered: Mapped[int] = mapped_column(default=0)
    sanity_failed: Mapped[int] = mapped_column(default=0)
    votes: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    status_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class PairToken(Base):
    """A pair of episodes of one scenario issued to an annotator, in the order shown (left, right),
    with the token their vote must carry. ``episode_low_id``/``episode_high_id`` are the unordered
    pair: an annotator gets a pair once. ``expected`` is the right answer of a known-answer
    (``qualification``/``sanity``) pair; ``comparison_id`` the comparison a counted vote became
    (cleared when the annotator's votes are dropped; the row stays as the audit trail)."""

    __tablename__ = "pair_tokens"
    __table_args__ = (
        CheckConstraint(f"kind IN {PAIR_KINDS!r}", name="kind"),
        CheckConstraint(f"expected IN {SIDES!r}", name="expected"),
        CheckConstraint(f"answer IN {ANSWERS!r}", name="answer"),
        CheckConstraint(
            "episode_low_id < episode_high_id"
            " AND episode_low_id IN (episode_left_id, episode_right_id)"
            " AND episode_high_id IN (episode_left_id, episode_right_id)",
            name="pair",
        ),
        UniqueConstraint("annotator_id", "episode_low_id", "episode_high_id", name="uq_pair_tokens_pair"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    annotator_id: Mapped[int] = mapped_column(ForeignKey("annotators.id"))
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenarios.id"))
    episode_left_id: Mapped[int] = mapped_column(ForeignKey("episodes.id"))
    episode_right_id: Mapped[int] = mapped_column(ForeignKey("episodes.id"))
    episode_low_id: Mapped[int]
    episode_high_id: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    expected: Mapped[str | None] = mapped_column(String(8))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    answer: Mapped[str | None] = mapped_column(String(8))
    seconds_spent: Mapped[float | None] = mapped_column(Double)
    comparison_id: Mapped[int | None] = mapped_column(
        ForeignKey("comparisons.id", ondelete="SET NULL"), index=True
    )


BLAMES = ("appearance", "geometry", "physics")


class ValidityResult(Base):
    """One validity study (:mod:`benchmark.validity`): a twin against the reference world it was
    built from, the same policies over the same scenarios in both. Pearson r, SIMPLER's MMRV and
    Kendall τ of the per-policy success rates, each with its bootstrap interval; ``per_policy`` is
    ``[{policy, reference_success, twin_success, n}]``; ``blame`` the twin stage an ablation found
    at fault when the study fell short (else None); ``detail`` the campaigns, cells, honesty checks
    and ablation runs. A study against success rates measured on a real robot has no reference
    twin (``reference_twin_id`` None; ``detail["real"]`` holds the rates)."""

    __tablename__ = "validity_results"
    __table_args__ = (CheckConstraint(f"blame IN {BLAMES!r}", name="blame"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    twin_id: Mapped[int] = mapped_column(ForeignKey("twins.id"), index=True)
    reference_twin_id: Mapped[int | None] = mapped_column(ForeignKey("twins.id"))  # None: real rates
    reference: Mapped[str] = mapped_column(String)
    task: Mapped[str] = mapped_column(String)
    n_policies: Mapped[int]
    n_scenarios: Mapped[int]
    pearson: Mapped[float] = mapped_column(Double)
    pearson_low: Mapped[float] = mapped_column(Double)
    pearson_high: Mapped[float] = mapped_column(Double)
    mmrv: Mapped[float] = mapped_column(Double)
    mmrv_low: Mapped[float] = mapped_column(Double)
    mmrv_high: Mapped[float] = mapped_column(Double)
    kendall: Mapped[float] = mapped_column(Double)
    kendall_low: Mapped[float] = mapped_column(Double)
    kendall_high: Mapped[float] = mapped_column(Double)
    passed: Mapped[bool] = mapped_column(Boolean)
    blame: Mapped[str | None] = mapped_column(String(16))
    per_policy: Mapped[list[dict[str, Any]]] = mapped_column(JSON_TYPE)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON_TYPE)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
