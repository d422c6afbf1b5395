"""The read side of the store: leaderboards, robustness tables, episode lists, campaign progress.

Each function is one SQL query (grouping and counting happen in the database, never in a Python
loop over episodes), taking an open session and returning small frozen records. The dashboard
and the reports read the store only through these.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from math import sqrt

from sqlalchemy import Select, case, func, literal, select
from sqlalchemy.orm import Session, aliased

from benchmark.store.models import Campaign, CampaignJob, Episode, Judgment, Policy, Rating, Scenario, Twin

EPISODE_JUDGES = ("state", "vlm")  # judges that score episodes (judgments)
PAIRWISE_JUDGES = ("human", "vlm-pairwise")  # judges that compare pairs (ratings fitted from them)
JUDGES = EPISODE_JUDGES + PAIRWISE_JUDGES
Z95 = 1.959963984540054


@dataclass(frozen=True)
class LeaderboardRow:
    """One policy under one judge. ``score``: success rate (state judge), mean 0–100 progress
    score (VLM judge) or fitted rating (pairwise judges), with its 95 % interval; ``n`` counts
    the ``unit`` (episodes or comparisons) behind it; ``mean_progress`` is the judges' mean 0–100
    progress score where they give one."""

    rank: int
    policy: str
    judge: str
    score: float
    ci_low: float
    ci_high: float
    n: int
    unit: str
    mean_progress: float | None = None


@dataclass(frozen=True)
class RobustnessRow:
    """A policy's episodes in one cell (twin, task, axis, level), judged by the simulator state."""

    policy: str
    twin: str
    task: str
    axis: str
    level: float
    episodes: int
    success_rate: float
    mean_progress: float


@dataclass(frozen=True)
class EpisodeRow:
    """One stored episode and where its files are (``artefact``: relative to the artefact folder)."""

    id: int
    policy: str
    twin: str
    task: str
    axis: str
    level: float
    seed: int
    success: bool
    progress: float
    steps: int
    termination: str
    detail: str
    seconds: float
    artefact: str
    files: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True)
class CampaignProgress:
    name: str
    jobs: int
    done: int
    created_at: datetime


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a success rate (sensible at 0 and n, unlike the normal one)."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def mean_interval(mean: float, mean_of_squares: float, n: int, z: float = Z95) -> tuple[float, float]:
    """The normal interval of a mean from the mean and the mean of squares."""
    if n < 2:
        return mean, mean
    variance = max(0.0, mean_of_squares - mean * mean) * n / (n - 1)
    half = z * sqrt(variance / n)
    return mean - half, mean + half


def in_campaign(
    query: Select, campaign_id: int | None, policy_id=Episode.policy_id, scenario_id=Episode.scenario_id
):
    """``query`` kept to rows whose (``policy_id``, ``scenario_id``) columns, an episode's by
    default, are one of the campaign's jobs; unchanged for no campaign. Each call joins its own
    alias, so a query may keep two episodes to the campaign."""
    if campaign_id is None:
        return query
    job = aliased(CampaignJob)
    return query.join(
        job,
        (job.policy_id == policy_id) & (job.scenario_id == scenario_id) & (job.campaign_id == campaign_id),
    )


def leaderboard(
    session: Session, judge: str = "state", campaign_id: int | None = None, model: str | None = None
) -> list[LeaderboardRow]:
    """Every policy ranked under ``judge``: by success rate (then mean progress) for the state
    judge, by mean score for the VLM judge (``model`` picks one when several judged), by the
    stored ratings for pairwise judges (``campaign_id`` is then the ratings' scope)."""
    if judge in PAIRWISE_JUDGES:
        return _rated(session, judge, campaign_id)
    if judge not in EPISODE_JUDGES:
        raise ValueError(f"unknown judge {judge!r}; judges: {', '.join(JUDGES)}")
    won = case((Judgment.success.is_(True), 1), else_=0)
    # grouped by the episodes' policy id, the names joined to the groups afterwards (no policy lookup
    # per judgment); ix_judgments_judge_episode covers the judgments' columns (no row lookup either)
    scores = (
        select(
            Episode.policy_id,
            func.count().label("n"),
            func.sum(won).label("successes"),
            func.avg(Judgment.score).label("mean"),
            func.avg(Judgment.score * Judgment.score).label("mean_sq"),
        )
        .select_from(Judgment)
        .join(Episode, Episode.id == Judgment.episode_id)
        .where(Judgment.judge == judge)
        .group_by(Episode.policy_id)
    )
    if model is not None:
        scores = scores.where(Judgment.model == model)
    scores = in_campaign(scores, campaign_id).subquery()
    query = select(Policy.name, scores.c.n, scores.c.successes, scores.c.mean, scores.c.mean_sq).join(
        scores, scores.c.policy_id == Policy.id
    )
    rows = []
    for name, n, successes, mean, mean_sq in session.execute(query).all():
        if judge == "state":
            low, high = wilson_interval(int(successes), int(n))
            rows.append((successes / n, low, high, name, n, float(mean)))
        else:
            low, high = mean_interval(float(mean), float(mean_sq), int(n))
            rows.append((float(mean), low, high, name, n, float(mean)))
    rows.sort(key=lambda r: (-r[0], -r[5], r[3]))
    return [
        LeaderboardRow(i + 1, name, judge, score, low, high, int(n), "episodes", progress)
        for i, (score, low, high, name, n, progress) in enumerate(rows)
    ]


def _rated(session: Session, judge: str, campaign_id: int | None) -> list[LeaderboardRow]:
    scope = literal("")
    if campaign_id is not None:
        scope = select(Campaign.name).where(Campaign.id == campaign_id).scalar_subquery()
    query = (
        select(Rating.rank, Policy.name, Rating.rating, Rating.ci_low, Rating.ci_high, Rating.n)
        .join(Policy, Policy.id == Rating.policy_id)
        .where(Rating.judge == judge, Rating.scope == scope)
        .order_by(Rating.rank, Policy.name)
    )
    return [
        LeaderboardRow(rank, name, judge, rating, low, high, n, "comparisons")
        for rank, name, rating, low, high, n in session.execute(query).all()
    ]


def robustness(
    session: Session, campaign_id: int | None = None, policy: str | None = None
) -> list[RobustnessRow]:
    """Success rate and mean progress per policy, twin, task, axis and level."""
    won = case((Episode.success.is_(True), 1.0), else_=0.0)
    query = (
        select(
            Policy.name,
            Twin.name,
            Scenario.task,
            Scenario.axis,
            Scenario.level,
            func.count(),
            func.avg(won),
            func.avg(Episode.progress),
        )
        .select_from(Episode)
        .join(Scenario, Scenario.id == Episode.scenario_id)
        .join(Twin, Twin.id == Scenario.twin_id)
        .join(Policy, Policy.id == Episode.policy_id)
        .group_by(Policy.name, Twin.name, Scenario.task, Scenario.axis, Scenario.level)
        .order_by(Policy.name, Twin.name, Scenario.task, Scenario.axis, Scenario.level)
    )
    if policy is not None:
        query = query.where(Policy.name == policy)
    return [
        RobustnessRow(p, t, task, axis, float(level), int(n), float(rate), float(progress))
        for p, t, task, axis, level, n, rate, progress in session.execute(in_campaign(query, campaign_id))
    ]


def episodes(
    session: Session,
    campaign_id: int | None = None,
    policy: str | None = None,
    twin: str | None = None,
    axis: str | None = None,
    termination: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[EpisodeRow]:
    """Episodes, newest first, filtered by campaign, policy, twin name, axis or termination reason."""
    query = (
        select(
            Episode.id,
            Policy.name,
            Twin.name,
            Scenario.task,
            Scenario.axis,
            Scenario.level,
            Scenario.seed,
            Episode.success,
            Episode.progress,
            Episode.steps,
            Episode.termination,
            Episode.detail,
            Episode.seconds,
            Episode.artefact,
            Episode.files,
            Episode.created_at,
        )
        .select_from(Episode)
        .join(Scenario, Scenario.id == Episode.scenario_id)
        .join(Twin, Twin.id == Scenario.twin_id)
        .join(Policy, Policy.id == Episode.policy_id)
        .order_by(Episode.id.desc())
        .limit(limit)
        .offset(offset)
    )
    for column, value in (
        (Policy.name, policy),
        (Twin.name, twin),
        (Scenario.axis, axis),
        (Episode.termination, termination),
    ):
        if value is not None:
            query = query.where(column == value)
    rows = session.execute(in_campaign(query, campaign_id)).all()
    return [EpisodeRow(*row[:14], tuple(row[14]), row[15]) for row in rows]


def campaign_progress(session: Session) -> list[CampaignProgress]:
    """Every campaign with its number of jobs and of jobs with an episode."""
    done = case((Episode.id.is_not(None), 1), else_=0)
    query = (
        select(
            Campaign.name,
            func.count(CampaignJob.policy_id),
            func.coalesce(func.sum(done), 0),
            Campaign.created_at,
        )
        .select_from(Campaign)
        .outerjoin(CampaignJob, CampaignJob.campaign_id == Campaign.id)
        .outerjoin(
            Episode,
            (Episode.policy_id == CampaignJob.policy_id) & (Episode.scenario_id == CampaignJob.scenario_id),
        )
        .group_by(Campaign.id, Campaign.name, Campaign.created_at)
        .order_by(Campaign.id)
    )
    return [CampaignProgress(n, int(j), int(d), c) for n, j, d, c in session.execute(query).all()]
