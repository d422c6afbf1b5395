"""``twinarena validate``: a validity study of one twin against its reference world (the study is
:mod:`benchmark.validity.study`)."""

from __future__ import annotations

from pathlib import Path

import typer

from benchmark.cli.output import DB_HELP, console, emit_json, parse_size, progress, show


def validate_command(
    reference: str = typer.Option(
        None,
        "--reference",
        help="The reference world: SCENE or SCENE/TASK, a scene spec file, generated:SEED, or an MJCF/URDF "
        "world (.xml/.urdf, with --task).",
    ),
    task: str = typer.Option(
        None,
        "--task",
        help="The task: its name, or for an MJCF/URDF world FAMILY:OBJECT:TARGET (push:box:zone).",
    ),
    demo: Path = typer.Option(
        None,
        "--demo",
        help="A demonstration recorded in the reference world; recorded here if it does not exist.",
    ),
    style: str = typer.Option(
        "scan",
        "--style",
        help="How --demo is recorded (and what an existing one must be): scan (RGB-D with an opening "
        "sweep and camera poses) or robot-log (exterior and wrist cameras, RGB, intrinsics only, joint "
        "states; the twin calibrates its cameras from the robot).",
    ),
    real: Path = typer.Option(
        None,
        "--real",
        help="Instead of a reference world: a CSV of success rates measured on a real robot "
        "(policy,successes,trials), compared with --twin (level 0 only unless --perturb).",
    ),
    policy: list[str] = typer.Option(
        None,
        "--policy",
        help="A policy of the population; repeat (default: --population).",
    ),
    population: str = typer.Option(
        "baselines",
        "--population",
        help="baselines (the scripted expert at graded noise, random and every registered policy) or "
        "learned (the scene's behaviour-cloned image_cnn checkpoints, assets/policies/learned).",
    ),
    twin: Path = typer.Option(
        None, "--twin", help="The twin package: reused if it was built from DEMO, else built here."
    ),
    perturb: list[str] = typer.Option(
        None,
        "--perturb",
        help="AXIS=LEVEL[,LEVEL…] swept besides level 0; repeat (default: object_placement=0.5; none: none).",
    ),
    seeds: int = typer.Option(
        24, "--seeds", min=1, help="Seeds per scenario cell, the same in both worlds (24: 48 scenarios)."
    ),
    image_size: str = typer.Option(None, "--image-size", help="WIDTHxHEIGHT for every policy."),
    max_seconds: float = typer.Option(
        None, "--max-seconds", min=0.1, help="Episode length (default: the task's)."
    ),
    splat_steps: int = typer.Option(300, "--splat-steps", min=1, help="Splat steps when the twin is built."),
    ablate: str = typer.Option("auto", "--ablate", help="auto (when the twin falls short), always or never."),
    rounds: int = typer.Option(1000, "--bootstrap", min=1, help="Bootstrap resamples for the intervals."),
    workers: int = typer.Option(1, "--workers", min=1, help="Local worker processes."),
    db: str = typer.Option(None, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Does the twin rank policies the way its reference world does? Runs the population in both
    worlds over the same scenarios and seeds, reports Pearson r, MMRV and Kendall τ with bootstrap
    intervals, blames a twin stage by ablation when it falls short, and stores the result. With
    --real, the reference is a real robot's measured success rates instead."""
    from benchmark.campaigns.campaign import RunSettings, parse_sweep
    from benchmark.campaigns.executors import LocalExecutor
    from benchmark.store import open_store
    from benchmark.validity.real import run_real_study
    from benchmark.validity.reference import ValidityError
    from benchmark.validity.study import DEFAULT_SWEEPS, Hooks, StudyConfig, run_study
    from benchmark.validity.tables import policy_table, summary_table

    if real is not None and (reference or demo or twin is None or style != "scan"):
        raise ValidityError(
            "--real compares a built --twin with real success rates; "
            "it takes no --reference, --demo or --style"
        )
    if real is None and (reference is None or demo is None):
        raise ValidityError("validate needs --reference and --demo (or --real RATES.csv with --twin)")
    default_sweeps = () if real is not None else DEFAULT_SWEEPS

    settings = RunSettings(image_size=parse_size(image_size) if image_size else None, max_seconds=max_seconds)
    config = StudyConfig(
        policies=tuple(policy) if policy else None,
        population=population,
        task=task,
        sweeps=default_sweeps
        if not perturb
        else ()
        if perturb == ["none"]
        else tuple(map(parse_sweep, perturb)),
        seeds=seeds,
        settings=settings,
        splat_steps=splat_steps,
        rounds=rounds,
        ablate=ablate,
        style=style,
    )
    with open_store(db) as store, progress() as bar:
        tasks = {}

        def plan(label, jobs):
            tasks[label] = bar.add_task(f"{label} episodes", total=jobs)

        hooks = Hooks(
            stage=lambda text: console.print(text),
            plan=plan,
            result=lambda label: bar.advance(tasks[label]),
        )
        if real is not None:
            result = run_real_study(store, real, twin, config, LocalExecutor(workers), hooks)
        else:
            result = run_study(store, reference, demo, twin, config, LocalExecutor(workers), hooks)
    if as_json:
        emit_json(result)
        return
    show(policy_table(result))
    show(summary_table([result]))
    for check in result["detail"]["honesty"]:
        console.print(f"{'[green]ok[/]' if check['ok'] else '[red]FAILED[/]'} {check['check']}")
