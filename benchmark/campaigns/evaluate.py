"""``twinarena evaluate``: a campaign from its spec to stored, judged episodes.

1. :func:`plan_campaign` resolves the policies (registered names or built-ins) and twins (stored
   by content hash), expands the spec into jobs (:mod:`benchmark.campaigns.campaign`), records the campaign,
   its scenarios and jobs, and leaves out the jobs that already have an episode.
2. An executor (:mod:`benchmark.campaigns.executors`) runs :func:`run_job` on each missing job: a worker
   builds the environment, loads the policy (submissions in their own isolated process), rolls
   out one episode and returns its files.
3. The evaluator stores each result as it arrives (:meth:`Store.add_episode`): the episode folder
   by content hash, then the episode row and its state judgment in one transaction.

Nothing is written before an episode is complete, and each job is written at most once, so a
killed campaign resumes by running the same command again: finished episodes are kept, missing
ones run, none is stored twice.
"""

from __future__ import annotations

import tempfile
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmark.campaigns.campaign import (
    CampaignSpec,
    Job,
    campaign_identity,
    cells,
    digest,
    env_config,
    perturbations,
    scenario_identity,
    scenario_key,
)
from benchmark.errors import CampaignError, StoreError
from benchmark.judges.state import judge_state
from benchmark.policies.protocol import PolicyInfo

ENV_CACHE_SIZE = 2  # environments a worker keeps (jobs come grouped by cell)


@dataclass(frozen=True)
class Plan:
    """A campaign ready to run: every job, the missing ones, and their (policy id, scenario id)."""

    campaign: Any  # benchmark.store.campaigns.CampaignRecord
    jobs: list[Job]
    missing: list[Job]
    ids: dict[tuple[str, str], tuple[int, int]]


@dataclass(frozen=True)
class JobResult:
    """What a worker sends back: the outcome and the episode folder's files."""

    outcome: dict[str, Any]
    files: dict[str, bytes]
    worker: str


@dataclass
class CampaignReport:
    """What a run of a campaign did."""

    campaign: str
    executor: str
    jobs: int
    already_done: int
    stored: int = 0
    duplicates: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def missing(self) -> int:
        return self.jobs - self.already_done - self.stored - self.duplicates

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "missing": self.missing}


# -- planning (the evaluator) --------------------------------------------------------------------
def resolve_policies(store, names: tuple[str, ...]) -> list:
    """The registered records of ``names``; built-in specs are registered on first use.
    :class:`CampaignError` for an unknown or failed policy."""
    from benchmark.policies.loaders import BUILTINS, parse_builtin

    records = []
    for name in dict.fromkeys(names):
        record = store.get_policy(name)
        if record is None and parse_builtin(name) is not None:
            record = store.add_policy(PolicyInfo(name=name, kind="builtin", extra={"spec": name}))
        if record is None:
            known = ", ".join(p.name for p in store.list_policies("registered")) or "none yet"
            raise CampaignError(
                f"unknown policy {name!r}: not registered in {store.url} (registered: {known}) and not "
                f"a built-in ({', '.join(BUILTINS)}); register a submission with "
                f"`twinarena submit PATH --name {name}`"
            )
        if record.status != "registered":
            raise CampaignError(f"policy {name!r} failed validation when it was submitted: {record.reason}")
        records.append(record)
    return records


def twin_folder(text: str) -> Path:
    """A twin package folder, or ``SCENE`` / ``SCENE/TASK`` naming a packaged reference scene."""
    path = Path(text)
    if path.is_dir():
        return path
    from benchmark.scenes.authored import reference_twin
    from benchmark.scenes.registry import scene_names

    scene, _, task = text.partition("/")
    if scene not in scene_names():
        raise CampaignError(
            f"unknown twin {text!r}: neither a twin package folder nor SCENE[/TASK] of a reference scene "
            f"({', '.join(scene_names())})"
        )
    try:
        return reference_twin(scene, task or None)
    except (KeyError, ValueError) as err:
        raise CampaignError(f"unknown twin {text!r}: {err}") from None


def resolve_twins(store, refs: tuple[str, ...]) -> list:
    """The stored records of ``refs`` (folders or reference scenes), registered on first use."""
    records = []
    for ref in dict.fromkeys(refs):
        try:
            records.append(store.add_twin(twin_folder(ref)))
        except StoreError as err:
            raise CampaignError(str(err)) from None  # it names the twin and what is wrong
    return records


def plan_campaign(store, spec: CampaignSpec, name: str | None = None) -> Plan:
    """Resolve, expand and record the campaign; see which jobs still need an episode."""
    from benchmark.policies.loaders import stored_spec

    policies = resolve_policies(store, spec.policies)
    twins = resolve_twins(store, spec.twins)
    identity = campaign_identity(
        [(p.name, p.sha256) for p in policies], [t.content_hash for t in twins], spec
    )
    key = digest(identity)
    described = {
        **identity,
        "policy_names": [p.name for p in policies],
        "twin_names": [t.name for t in twins],
    }
    loadable = {  # how a worker loads each policy, and what it observes: once per policy
        p.name: (stored_spec(p, store.artefact_path(p.artefact) if p.artefact else None), p.info().to_dict())
        for p in policies
    }
    jobs, scenarios, pairs = [], {}, []
    for twin in twins:
        folder = str(store.artefact_path(twin.artefact))
        for axis, level in cells(spec.sweeps, spec.interactions):
            for seed in range(spec.seeds):
                scenario = scenario_identity(twin.content_hash, twin.task, axis, level, seed, spec.settings)
                skey = scenario_key(scenario)
                scenarios[skey] = {
                    "key": skey,
                    "task": twin.task,
                    "axis": axis,
                    "level": level,
                    "perturbations": scenario["perturbations"],
                    "seed": seed,
                    "config": scenario["config"],
                    "twin_id": twin.id,
                }
                for policy in policies:
                    jobs.append(
                        Job(
                            policy.name,
                            *loadable[policy.name],
                            folder,
                            scenario,
                            axis,
                            level,
                            spec.settings,
                        )
                    )
                    pairs.append((policy.id, skey))
    campaign, scenario_ids = store.add_campaign(
        key, name or f"campaign-{key[:8]}", described, list(scenarios.values()), pairs
    )
    policy_ids = {p.name: p.id for p in policies}
    ids = {job.key: (policy_ids[job.policy], scenario_ids[job.key[1]]) for job in jobs}
    done = store.finished_jobs(campaign.id)
    missing = [job for job in jobs if ids[job.key] not in done]
    return Plan(campaign, jobs, missing, ids)


# -- one job (in a worker) -----------------------------------------------------------------------
_ENVS: OrderedDict[str, Any] = OrderedDict()


def _environment(job: Job):
    """The job's environment, reused by the next job of the same cell in this process."""
    from benchmark.episodes.env import TwinEnv

    info = PolicyInfo.from_dict(job.policy_info)
    config = env_config(info, job.settings, perturbations(job.axis, job.level))
    key = digest([job.twin, repr(config)])
    if key in _ENVS:
        _ENVS.move_to_end(key)
        return _ENVS[key]
    while len(_ENVS) >= ENV_CACHE_SIZE:
        _ENVS.popitem(last=False)[1].close()
    _ENVS[key] = TwinEnv(job.twin, config)
    return _ENVS[key]


def run_job(job: Job) -> JobResult:
    """Roll out one job and return its outcome and episode files (the worker's whole task)."""
    from benchmark.campaigns.executors import worker_name
    from benchmark.episodes.episode import run_episode
    from benchmark.policies.loaders import load_policy

    env = _environment(job)
    adapter = PolicyInfo.from_dict(job.policy_info).adapter  # as planned, whatever the spec now says
    policy, _ = load_policy(job.policy_spec, env=env, seed=job.seed, name=job.policy, adapter=adapter)
    try:
        with tempfile.TemporaryDirectory(prefix="twinarena-job-") as tmp:
            folder = Path(tmp) / "episode"
            outcome = run_episode(env, policy, job.seed, folder, step_timeout=job.settings.step_timeout)
            files = {
                p.relative_to(folder).as_posix(): p.read_bytes()
                for p in sorted(folder.rglob("*"))
                if p.is_file()
            }
    finally:
        close = getattr(policy, "close", None)
        if close is not None:
            close()
    return JobResult(asdict(outcome), files, worker_name())


# -- storing results (the evaluator) -------------------------------------------------------------
def store_result(store, plan: Plan, job: Job, result: JobResult) -> int | None:
    """Write a job's episode with its state judgment; None if the job already had one (it is never
    stored twice)."""
    policy_id, scenario_id = plan.ids[job.key]
    staging = store.artefacts.root / ".incoming"
    staging.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=staging) as tmp:
        for name, data in result.files.items():
            path = Path(tmp, name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        judged = judge_state(result.outcome)
        return store.add_episode(policy_id, scenario_id, result.outcome, tmp, result.worker, judgment=judged)


def run_campaign(
    store,
    spec: CampaignSpec,
    executor=None,
    name: str | None = None,
    on_plan: Callable[[Plan], None] | None = None,
    on_result: Callable[[Job, JobResult | None, BaseException | None], None] | None = None,
) -> CampaignReport:
    """Run what the campaign is missing and store it as it finishes. ``on_plan`` sees the plan
    before anything runs; ``on_result`` each finished job (with its error, if it failed)."""
    from benchmark.campaigns.executors import LocalExecutor

    executor = executor or LocalExecutor()
    start = time.perf_counter()
    plan = plan_campaign(store, spec, name)
    report = CampaignReport(
        plan.campaign.name, executor.describe(), len(plan.jobs), len(plan.jobs) - len(plan.missing)
    )
    if on_plan is not None:
        on_plan(plan)
    for job, result in executor.map(run_job, plan.missing):
        if isinstance(result, BaseException):
            report.errors.append({"job": job.label(), "error": f"{type(result).__name__}: {result}"})
            if on_result is not None:
                on_result(job, None, result)
            continue
        if store_result(store, plan, job, result) is None:
            report.duplicates += 1
        else:
            report.stored += 1
        if on_result is not None:
            on_result(job, result, None)
    report.seconds = round(time.perf_counter() - start, 2)
    return report
