"""The read side of the store: leaderboards, robustness tables, episode lists, campaign progress.

Each function is one SQL query (grouping and counting happen in the database, never in a Python
loop over episodes), taking an open session and returning small frozen records. The dashboard
and the reports read the store only through these.

Every count of trials counts *distinct* trials: episodes with the same ``trace`` (the same
observations, actions and ending, e.g. a deterministic policy in a scenario its seed did not
change) count once (:func:`trials`, :func:`trial_successes`). Means weigh each stored episode.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from math import sqrt

from sqlalchemy import ColumnElement, Select, case, func, literal, select
from sqlalchemy.orm import Session, aliased

from benchmark.ranking.paired import wilson
from benchmark.store.models import (
    Campaign,
    CampaignJob,
    Episode,
    Judgment,
    Policy,
    Rating,
    Scenario,
    Twin,
    ValidityResult,
)

EPISODE_JUDGES = ("state", "vlm")  # judges that score episodes (judgments)
PAIRWISE_JUDGES = ("human", "vlm-pairwise")  # judges that compare pairs (ratings fitted from them)
JUDGES = EPISODE_JUDGES + PAIRWISE_JUDGES
Z95 = 1.959963984540054
SCORE_BOUNDS = (0.0, 100.0)  # an episode judge's score
FEW = 30  # fewer values than this: a bounded mean's interval is at least its Wilson interval


@dataclass(frozen=True)
class LeaderboardRow:
    """One policy under one judge. ``score``: success rate (state judge), mean 0–100 progress
    score (VLM judge) or fitted rating (pairwise judges), with its 95 % interval; ``n`` counts
    the ``unit`` (distinct ``trials``, or ``comparisons``) behind it; ``mean_progress`` is the
    judges' mean 0–100 progress score where they give one."""

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
    """A policy's episodes in one cell (twin, task, axis, level), judged by the simulator state;
    ``episodes`` counts distinct trials."""

    policy: str
    twin: str
    task: str
    axis: str
    level: float
    episodes: int
    success_rate: float
    mean_progress: float

    @property
    def successes(self) -> int:
        """The successful episodes behind ``success_rate``."""
        return round(self.success_rate * self.episodes)


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


UNPERTURBED = "none"  # the axis name of the unperturbed cell


def scope_text(
    campaign: str | None,
    axis: str | None,
    twin: str | None = None,
    task: str | None = None,
    *,
    pairwise: bool = False,
    quote: str = "",
) -> str:
    """What a leaderboard's numbers are over, in words, pooled parts said to be pooled. The default
    scope of ``twinarena leaderboard`` and of the dashboard is the newest campaign's unperturbed
    cell. Pairwise ratings are fitted over a campaign's comparisons, every cell pooled."""
    q = quote
    where = "all campaigns, pooled" if campaign is None else f"campaign {q}{campaign}{q}"
    if pairwise:
        cells = "ratings over its comparisons, all perturbations pooled"
    elif axis is None:
        cells = "all perturbations, pooled (unperturbed and every axis and level together)"
    elif axis == UNPERTURBED:
        cells = "unperturbed episodes only"
    else:
        cells = f"perturbation axis {q}{axis}{q}, its levels pooled"
    scenes = [f"twin {q}{twin}{q}" if twin else "all twins", f"task {q}{task}{q}" if task else "all tasks"]
    return f"Scope: {where} · {cells} · {' · '.join(scenes)}"


def trials(trace=Episode.trace) -> ColumnElement[int]:
    """The number of distinct trials among the grouped episodes."""
    return func.count(func.distinct(trace))


def trial_successes(success=Episode.success, trace=Episode.trace) -> ColumnElement[int]:
    """The number of distinct successful trials among the grouped episodes."""
    return func.count(func.distinct(case((success.is_(True), trace))))


def wilson_interval(successes: float, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a success rate (sensible at 0 and n, unlike the normal one);
    ``(0, 1)`` for no trials."""
    if n == 0:
        return 0.0, 1.0
    low, high = wilson(successes, n, z)
    return float(low), float(high)


def mean_interval(
    mean: float,
    mean_of_squares: float,
    n: int,
    z: float = Z95,
    bounds: tuple[float, float] | None = None,
) -> tuple[float, float]:
    """The normal interval of a mean from the mean and the mean of squares. For values known to lie
    in ``bounds``, it is clipped to them, and below :data:`FEW` values, where the normal interval
    is not to be trusted, widened to at least the Wilson interval of the mean as a rate in those
    bounds (the widest spread such values can have): a handful of equal values never gives an
    interval of zero width."""
    if n < 2:
        low = high = mean
    else:
        variance = max(0.0, mean_of_squares - mean * mean) * n / (n - 1)
        half = z * sqrt(variance / n)
        low, high = mean - half, mean + half
    if bounds is None:
        return low, high
    lo, hi = bounds
    if n >= FEW:
        return max(lo, low), min(hi, high)
    rate = min(1.0, max(0.0, (mean - lo) / (hi - lo)))
    r_low, r_high = wilson_interval(rate * n, n, z)
    return max(lo, min(low, lo + (hi - lo) * r_low)), min(hi, max(high, lo + (hi - lo) * r_high))


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
    session: Session,
    judge: str = "state",
    campaign_id: int | None = None,
    model: str | None = None,
    *,
    twin: str | None = None,
    task: str | None = None,
    axis: str | None = None,
) -> list[LeaderboardRow]:
    """Every policy ranked under ``judge``: by success rate (then mean progress) for the state
    judge, by mean score for the VLM judge (``model`` picks one when several judged), by the
    stored ratings for pairwise judges (``campaign_id`` is then the ratings' scope). ``twin``,
    ``task`` and ``axis`` keep episode judges to those scenarios (see :func:`in_cells`)."""
    if judge in PAIRWISE_JUDGES:
        return _rated(session, judge, campaign_id)
    if judge not in EPISODE_JUDGES:
        raise ValueError(f"unknown judge {judge!r}; judges: {', '.join(JUDGES)}")
    # grouped by the episodes' policy id, the names joined to the groups afterwards (no policy lookup
    # per judgment); distinct trials counted by trace
    scores = (
        select(
            Episode.policy_id,
            trials().label("n"),
            trial_successes(Judgment.success).label("successes"),
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
    scores = in_cells(in_campaign(scores, campaign_id), twin, task, axis).subquery()
    query = select(Policy.name, scores.c.n, scores.c.successes, scores.c.mean, scores.c.mean_sq).join(
        scores, scores.c.policy_id == Policy.id
    )
    rows = []
    for name, n, successes, mean, mean_sq in session.execute(query).all():
        if judge == "state":
            low, high = wilson_interval(int(successes), int(n))
            rows.append((successes / n, low, high, name, n, float(mean)))
        else:
            low, high = mean_interval(float(mean), float(mean_sq), int(n), bounds=SCORE_BOUNDS)
            rows.append((float(mean), low, high, name, n, float(mean)))
    rows.sort(key=lambda r: (-r[0], -r[5], r[3]))
    return [
        LeaderboardRow(i + 1, name, judge, score, low, high, int(n), "trials", progress)
        for i, (score, low, high, name, n, progress) in enumerate(rows)
    ]


def _rated(session: Session, judge: str, campaign_id: int | None) -> list[LeaderboardRow]:
    scope: ColumnElement[str] = literal("")
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
    """Success rate and mean progress per policy, twin, task, axis and level (distinct trials)."""
    query = (
        select(
            Policy.name,
            Twin.name,
            Scenario.task,
            Scenario.axis,
            Scenario.level,
            trials(),
            trial_successes(),
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
        RobustnessRow(p, t, task, axis, float(level), int(n), int(k) / int(n), float(progress))
        for p, t, task, axis, level, n, k, progress in session.execute(in_campaign(query, campaign_id))
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
    return [EpisodeRow(*[*row[:14], tuple(row[14]), row[15]]) for row in rows]


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


# -- what a policy's stress-test report reads (benchmark/report) -----------------------------------
@dataclass(frozen=True)
class CellOutcome:
    """A policy's episodes in one cell (axis, level), pooled over twins and tasks: counts, and the
    sums that give the mean progress (0–1) and its interval."""

    axis: str
    level: float
    episodes: int
    successes: int
    mean_progress: float
    mean_progress_sq: float


def cell_outcomes(session: Session, policy: str, campaign_id: int | None = None) -> list[CellOutcome]:
    """A policy's distinct trials, successes and progress per (axis, level), pooled over twins and
    tasks."""
    query = (
        select(
            Scenario.axis,
            Scenario.level,
            trials(),
            trial_successes(),
            func.avg(Episode.progress),
            func.avg(Episode.progress * Episode.progress),
        )
        .select_from(Episode)
        .join(Scenario, Scenario.id == Episode.scenario_id)
        .join(Policy, Policy.id == Episode.policy_id)
        .where(Policy.name == policy)
        .group_by(Scenario.axis, Scenario.level)
        .order_by(Scenario.axis, Scenario.level)
    )
    return [
        CellOutcome(axis, float(level), int(n), int(k), float(mean), float(mean_sq))
        for axis, level, n, k, mean, mean_sq in session.execute(in_campaign(query, campaign_id))
    ]


@dataclass(frozen=True)
class PolicyTwin:
    """A twin a policy was evaluated in, with its episode and success counts there."""

    content_hash: str
    name: str
    task: str
    episodes: int
    successes: int


def policy_twins(session: Session, policy: str, campaign_id: int | None = None) -> list[PolicyTwin]:
    query = (
        select(Twin.content_hash, Twin.name, Twin.task, trials(), trial_successes())
        .select_from(Episode)
        .join(Scenario, Scenario.id == Episode.scenario_id)
        .join(Twin, Twin.id == Scenario.twin_id)
        .join(Policy, Policy.id == Episode.policy_id)
        .where(Policy.name == policy)
        .group_by(Twin.content_hash, Twin.name, Twin.task)
        .order_by(Twin.name, Twin.content_hash)
    )
    return [
        PolicyTwin(h, name, task, int(n), int(k))
        for h, name, task, n, k in session.execute(in_campaign(query, campaign_id))
    ]


@dataclass(frozen=True)
class JudgePairing:
    """A policy's episodes judged by the state judge and by ``judge`` (``model``), split by the
    state judge's success: sums of the state score (0–100 progress) ``x`` and the other score ``y``."""

    judge: str
    model: str
    state_success: bool
    n: int
    sum_x: float
    sum_y: float
    sum_xx: float
    sum_yy: float
    sum_xy: float


def judge_pairing(
    session: Session, policy: str, judge: str = "vlm", campaign_id: int | None = None
) -> list[JudgePairing]:
    """Per-episode state against ``judge`` scores of a policy, as sums (Pearson's r and means follow)."""
    state, other = aliased(Judgment), aliased(Judgment)
    query = (
        select(
            other.model,
            state.success,
            func.count(),
            func.sum(state.score),
            func.sum(other.score),
            func.sum(state.score * state.score),
            func.sum(other.score * other.score),
            func.sum(state.score * other.score),
        )
        .select_from(Episode)
        .join(Policy, Policy.id == Episode.policy_id)
        .join(state, (state.episode_id == Episode.id) & (state.judge == "state"))
        .join(other, (other.episode_id == Episode.id) & (other.judge == judge))
        .where(Policy.name == policy)
        .group_by(other.model, state.success)
        .order_by(other.model, state.success)
    )
    return [
        JudgePairing(judge, model, bool(s), int(n), *(float(v) for v in sums))
        for model, s, n, *sums in session.execute(in_campaign(query, campaign_id))
    ]


# -- for the dashboard ---------------------------------------------------------------------------
@dataclass(frozen=True)
class RatingRow:
    """A policy's stored rating under one judge and scope (``""``: the whole store, else a
    campaign's name), with its 95 % interval, its rank interval and the ``n`` behind it."""

    rank: int
    rank_low: int
    rank_high: int
    policy: str
    judge: str
    rating: float
    ci_low: float
    ci_high: float
    n: int
    method: str
    computed_at: datetime


@dataclass(frozen=True)
class Facets:
    """What the stored scenarios can be filtered by: twin names, tasks and perturbation axes."""

    twins: tuple[str, ...]
    tasks: tuple[str, ...]
    axes: tuple[str, ...]


def in_cells(
    query: Select,
    twin: str | None = None,
    task: str | None = None,
    axis: str | None = None,
    scenario_id=Episode.scenario_id,
):
    """``query`` kept to rows whose scenario (an episode's by default) is in ``twin`` (a twin
    name), ``task`` and ``axis``; unchanged when all three are None."""
    if twin is None and task is None and axis is None:
        return query
    scenario = aliased(Scenario)
    query = query.join(scenario, scenario.id == scenario_id)
    if twin is not None:
        twin_row = aliased(Twin)
        query = query.join(twin_row, twin_row.id == scenario.twin_id).where(twin_row.name == twin)
    if task is not None:
        query = query.where(scenario.task == task)
    if axis is not None:
        query = query.where(scenario.axis == axis)
    return query


def ratings(session: Session, judge: str, scope: str = "") -> list[RatingRow]:
    """The ratings stored for ``judge`` in ``scope`` (:func:`benchmark.judges.standings.fit_and_store`),
    best first."""
    query = (
        select(
            Rating.rank,
            Rating.rank_low,
            Rating.rank_high,
            Policy.name,
            Rating.judge,
            Rating.rating,
            Rating.ci_low,
            Rating.ci_high,
            Rating.n,
            Rating.method,
            Rating.computed_at,
        )
        .join(Policy, Policy.id == Rating.policy_id)
        .where(Rating.judge == judge, Rating.scope == scope)
        .order_by(Rating.rank, Policy.name)
    )
    return [RatingRow(*row) for row in session.execute(query).all()]


def facets(session: Session) -> Facets:
    """The distinct twin names, tasks and axes of the stored scenarios, sorted."""
    query = (
        select(Twin.name, Scenario.task, Scenario.axis)
        .select_from(Scenario)
        .join(Twin, Twin.id == Scenario.twin_id)
        .distinct()
    )
    rows = session.execute(query).all()
    return Facets(*(tuple(sorted({row[k] for row in rows})) for k in range(3)))


def terminations(
    session: Session, campaign_id: int | None = None, policy: str | None = None
) -> list[tuple[str, int]]:
    """How many distinct trials ended each way (``success``, ``timeout``, ``policy_error`` …), most
    first."""
    query = (
        select(Episode.termination, trials())
        .select_from(Episode)
        .join(Policy, Policy.id == Episode.policy_id)
        .group_by(Episode.termination)
    )
    if policy is not None:
        query = query.where(Policy.name == policy)
    rows = session.execute(in_campaign(query, campaign_id)).all()
    return sorted(((str(t), int(n)) for t, n in rows), key=lambda r: (-r[1], r[0]))


# -- validity studies (benchmark.validity) -------------------------------------------------------
@dataclass(frozen=True)
class ValidityRow:
    """One validity study of a twin against its reference world (newest first in lists).
    ``per_policy``: ``[{"policy", "reference_success", "twin_success", "n"}]``; ``*_ci`` are
    bootstrap 95 % intervals over scenarios; ``blame`` names the twin stage at fault
    (``appearance``, ``geometry`` or ``physics``) when an ablation found one."""

    id: int
    twin_hash: str
    twin: str
    reference_hash: str | None  # None: success rates measured on a real robot
    reference: str
    task: str
    n_policies: int
    n_scenarios: int
    pearson: float
    pearson_ci: tuple[float, float]
    mmrv: float
    mmrv_ci: tuple[float, float]
    kendall: float
    kendall_ci: tuple[float, float]
    passed: bool
    per_policy: list[dict]
    blame: str | None
    detail: dict
    created_at: datetime


def validity_results(session: Session, twin_hash: str | None = None) -> list[ValidityRow]:
    """Validity studies, newest first; only those of the twin ``twin_hash`` when given."""
    V = ValidityResult  # noqa: N806

    reference = aliased(Twin)
    query = (
        select(V, Twin.content_hash, Twin.name, reference.content_hash)
        .join(Twin, Twin.id == V.twin_id)
        .outerjoin(reference, reference.id == V.reference_twin_id)
        .order_by(V.id.desc())
    )
    if twin_hash is not None:
        query = query.where(Twin.content_hash == twin_hash)
    return [
        ValidityRow(
            v.id,
            th,
            tn,
            rh,
            v.reference,
            v.task,
            v.n_policies,
            v.n_scenarios,
            v.pearson,
            (v.pearson_low, v.pearson_high),
            v.mmrv,
            (v.mmrv_low, v.mmrv_high),
            v.kendall,
            (v.kendall_low, v.kendall_high),
            v.passed,
            list(v.per_policy),
            v.blame,
            dict(v.detail),
            v.created_at,
        )
        for v, th, tn, rh in session.execute(query).all()
    ]
