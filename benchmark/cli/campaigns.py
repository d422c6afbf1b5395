"""``twinarena evaluate``, ``leaderboard``, ``episodes`` and ``campaigns``: campaigns run into the
store, and what the store holds of them."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from benchmark.cli.output import (
    DB_HELP,
    UserError,
    console,
    emit_json,
    leaderboard_table,
    parse_size,
    progress,
    show,
)


def evaluate(
    policy: list[str] = typer.Option(
        ..., "--policy", help="A registered policy or a built-in (vision-expert, random); repeat for more."
    ),
    twin: list[str] = typer.Option(
        ..., "--twin", help="A twin folder, or a reference SCENE or SCENE/TASK; repeat."
    ),
    perturb: list[str] = typer.Option(
        None, "--perturb", help="AXIS=LEVEL[,LEVEL…], swept one axis at a time; repeat for more axes."
    ),
    seeds: int = typer.Option(10, "--seeds", min=1, help="Episodes per policy and scenario cell."),
    interactions: bool = typer.Option(
        False, "--interactions", help="Also every two swept axes composed (cells named a+b)."
    ),
    name: str = typer.Option(None, "--name", help="Campaign name (default: campaign-<key>)."),
    executor: str = typer.Option("local", "--executor", help="local (worker processes) or ray."),
    workers: int = typer.Option(
        None,
        "--workers",
        min=1,
        help="Local worker processes (1: in-process), or a local Ray's CPUs; default one per CPU, at most 8.",
    ),
    ray_address: str = typer.Option(
        None, "--ray-address", help="A running Ray cluster (with --executor ray)."
    ),
    image_size: str = typer.Option(None, "--image-size", help="WIDTHxHEIGHT for every policy."),
    render: str = typer.Option("auto", "--render", help="auto, splat or mesh."),
    backend: str = typer.Option("mujoco", "--backend", help="mujoco or pybullet."),
    step_timeout: float = typer.Option(30.0, "--step-timeout", min=0.01, help="Seconds per policy answer."),
    max_seconds: float = typer.Option(
        None, "--max-seconds", min=0.1, help="Episode length in simulated seconds (default: the task's)."
    ),
    db: str = typer.Option(None, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Run a campaign: every policy in every twin, unperturbed and under each perturbation level,
    over seeds. Episodes already in the store are kept; running it again runs only what is missing."""
    from benchmark.campaigns.campaign import CampaignSpec, RunSettings, parse_sweep
    from benchmark.campaigns.evaluate import run_campaign
    from benchmark.campaigns.executors import default_workers, make_executor
    from benchmark.store import open_store
    from benchmark.store.queries import scope_text

    settings = RunSettings(
        render=render,
        backend=backend,
        step_timeout=step_timeout,
        image_size=parse_size(image_size) if image_size else None,
        max_seconds=max_seconds,
    )
    sweeps = tuple(parse_sweep(p) for p in perturb or ())
    spec = CampaignSpec(tuple(policy), tuple(twin), sweeps, seeds, settings, interactions)
    run = make_executor(executor, workers or default_workers(), ray_address)
    with open_store(db) as store, progress() as bar:
        handle = {}

        def on_plan(plan):
            done = len(plan.jobs) - len(plan.missing)
            console.print(
                f"campaign [bold]{escape(plan.campaign.name)}[/]: {len(plan.jobs)} episodes, {done} already "
                f"in the store, {len(plan.missing)} to run ({run.describe()})"
            )
            handle["task"] = bar.add_task("evaluate", total=len(plan.missing))

        def on_result(job, result, error):
            bar.advance(handle["task"])
            if error is not None:
                console.print(
                    Text.assemble(("job failed:", "red"), f" {job.label()}: {error}"), soft_wrap=True
                )

        report = run_campaign(store, spec, run, name, on_plan, on_result)
        rows = store.leaderboard("state", report.campaign)
    scope = scope_text(report.campaign, None)  # everything the campaign ran, labelled as pooled
    if as_json:
        emit_json({**report.to_dict(), "leaderboard_scope": scope, "leaderboard": [r.__dict__ for r in rows]})
    else:
        show(leaderboard_table(rows, "state judge"))
        show(Text(scope, style="dim"))
        console.print(
            f"stored {report.stored} episodes in {report.seconds:.0f} s; {report.already_done} were already "
            f"there; {len(report.errors)} failed to run"
        )
    if report.errors:
        raise SystemExit(1)


def leaderboard(
    judge: str = typer.Option("state", "--judge", help="state, vlm, human or vlm-pairwise."),
    campaign: str = typer.Option(None, "--campaign", help="This campaign's episodes (default: the newest)."),
    all_campaigns: bool = typer.Option(False, "--all-campaigns", help="Pool every campaign's episodes."),
    axis: str = typer.Option(
        "none", "--axis", help="Episodes of this perturbation axis, levels pooled (default: unperturbed)."
    ),
    all_axes: bool = typer.Option(False, "--all-axes", help="Pool every axis and level."),
    axes: bool = typer.Option(False, "--axes", help="Per-axis robustness table instead."),
    db: str = typer.Option(None, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """The leaderboard under one judge, or the per-axis robustness table (--axes). By default it
    shows the newest campaign's unperturbed episodes (pairwise judges: the ratings fitted over the
    whole store, or --campaign's); the scope is printed above the table."""
    from benchmark.store import open_store
    from benchmark.store.queries import JUDGES, PAIRWISE_JUDGES, scope_text

    if judge not in JUDGES:
        raise UserError(f"--judge {judge!r}: expected one of {', '.join(JUDGES)}")
    if campaign is not None and all_campaigns:
        raise UserError("--campaign and --all-campaigns: give one or the other")
    with open_store(db) as store:
        if campaign is None and not all_campaigns and judge not in PAIRWISE_JUDGES:
            known = store.campaigns()
            campaign = known[-1].name if known else None
        pooled_axes = all_axes or axes or judge in PAIRWISE_JUDGES
        cells = {} if pooled_axes else {"axis": axis}
        rows = store.robustness(campaign) if axes else store.leaderboard(judge, campaign, **cells)
    scope = scope_text(
        campaign, None if pooled_axes else axis, pairwise=judge in PAIRWISE_JUDGES and not axes
    )
    if as_json:
        emit_json({"scope": scope, "rows": [r.__dict__ for r in rows]})
        return
    show(Text(scope, style="dim"))
    if not axes:
        show(leaderboard_table(rows, f"{judge} judge"))
        return
    table = Table(
        *("policy", "twin", "axis", "level", "trials", "success", "progress"),
        title="Success per perturbation axis and level (distinct trials)",
    )
    for r in rows:
        table.add_row(
            r.policy,
            r.twin,
            r.axis,
            f"{r.level:g}",
            str(r.episodes),
            f"{r.success_rate:.2f}",
            f"{r.mean_progress:.2f}",
        )
    show(table)


def episodes(
    campaign: str = typer.Option(None, "--campaign"),
    policy: str = typer.Option(None, "--policy"),
    twin: str = typer.Option(None, "--twin", help="Twin name."),
    axis: str = typer.Option(None, "--axis", help="Perturbation axis (none: unperturbed)."),
    termination: str = typer.Option(None, "--termination", help="e.g. success, timeout, policy_error."),
    limit: int = typer.Option(20, "--limit", min=1),
    db: str = typer.Option(None, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Stored episodes, newest first, with the folder holding each one's videos and trajectory."""
    from benchmark.store import open_store

    with open_store(db) as store:
        rows = store.episodes(
            campaign, policy=policy, twin=twin, axis=axis, termination=termination, limit=limit
        )
        root = store.artefacts.root
    if as_json:
        emit_json(
            [
                {**r.__dict__, "path": str(root / r.artefact), "created_at": r.created_at.isoformat()}
                for r in rows
            ]
        )
        return
    table = Table(
        *("id", "policy", "twin", "axis", "level", "seed", "termination", "progress", "folder"),
        title=f"{len(rows)} episodes",
    )
    for r in rows:
        table.add_row(
            str(r.id),
            r.policy,
            r.twin,
            r.axis,
            f"{r.level:g}",
            str(r.seed),
            r.termination,
            f"{r.progress:.2f}",
            str(root / r.artefact),
        )
    show(table)


def campaigns(
    db: str = typer.Option(None, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """The campaigns in the store and how much of each is done."""
    from benchmark.store import open_store

    with open_store(db) as store:
        rows = store.campaigns()
    if as_json:
        emit_json([{**r.__dict__, "created_at": r.created_at.isoformat()} for r in rows])
        return
    table = Table(*("name", "episodes", "done", "created"), title=f"{len(rows)} campaigns")
    for r in rows:
        table.add_row(r.name, str(r.jobs), str(r.done), r.created_at.strftime("%Y-%m-%d %H:%M"))
    show(table)
