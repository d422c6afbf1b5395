"""Queueing an evaluation campaign from the dashboard.

Queuing records the campaign, its scenarios and its jobs in the store through
:func:`benchmark.campaigns.evaluate.plan_campaign`, the planner of ``twinarena evaluate``; nothing runs in
the dashboard. The campaign is then "queued": listed by ``twinarena campaigns`` with 0 of its
jobs done, and run by ``twinarena evaluate`` with the same policies, twins, sweeps and seeds
(:func:`evaluate_command` writes that command): the campaign's key is the hash of that spec, so
the command finds the queued campaign and runs exactly its missing jobs, on any machine that
reaches the store. One queued campaign holds at most :data:`MAX_JOBS` jobs.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from benchmark.campaigns.campaign import DEFAULT_SEEDS, CampaignSpec, Sweep, parse_sweep
from benchmark.errors import CampaignError

MAX_JOBS = 5000  # one queued campaign from the page (a click must not queue millions)


@dataclass(frozen=True)
class Queued:
    """A queued campaign: its name, job count, jobs already done, and the command that runs it."""

    name: str
    jobs: int
    done: int
    command: str


def sweeps(axes: list[str], levels: str) -> tuple[Sweep, ...]:
    """Each of ``axes`` swept over ``levels`` (``"0.5,1"``); ScenarioError/PerturbationError on bad input."""
    return tuple(parse_sweep(f"{axis}={levels}") for axis in axes)


def job_count(policies: int, twins: int, sweeps: tuple[Sweep, ...], seeds: int) -> int:
    """Jobs a campaign holds: every policy in every twin, unperturbed and at each swept level."""
    return policies * twins * (1 + sum(len(sweep.levels) for sweep in sweeps)) * seeds


def evaluate_command(spec: CampaignSpec, name: str, db: str) -> str:
    """The ``twinarena evaluate`` command that runs the campaign ``spec`` describes."""
    words = ["twinarena", "evaluate"]
    for policy in spec.policies:
        words += ["--policy", policy]
    for twin in spec.twins:
        words += ["--twin", twin]
    for sweep in spec.sweeps:
        words += ["--perturb", f"{sweep.axis}={','.join(f'{level:g}' for level in sweep.levels)}"]
    words += ["--seeds", str(spec.seeds), "--name", name, "--db", db]
    return shlex.join(words)


def queue_campaign(
    store,
    policies: list[str],
    twin_folders: list[str],
    sweeps: tuple[Sweep, ...] = (),
    seeds: int = DEFAULT_SEEDS,
    name: str | None = None,
    shown_db: str | None = None,
) -> Queued:
    """Record the campaign and its jobs; CampaignError/ScenarioError/StoreError name what is wrong."""
    from benchmark.campaigns.evaluate import plan_campaign

    jobs = job_count(len(policies), len(twin_folders), sweeps, seeds)
    if jobs > MAX_JOBS:
        raise CampaignError(
            f"that campaign would queue {jobs:,} jobs; the dashboard queues at most {MAX_JOBS:,} "
            "(fewer policies, twins, levels or seeds; larger campaigns run with `twinarena evaluate`)"
        )
    spec = CampaignSpec(tuple(policies), tuple(twin_folders), tuple(sweeps), seeds)
    plan = plan_campaign(store, spec, name or None)
    done = len(plan.jobs) - len(plan.missing)
    command = evaluate_command(spec, plan.campaign.name, shown_db or store.url)
    return Queued(plan.campaign.name, len(plan.jobs), done, command)
