"""``twinarena scenes``, ``record`` and ``perturbations``: the reference scenes, demonstrations
recorded in them, and the perturbation axes."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from benchmark.cli.output import UserError, console, emit_json, progress, show


def scenes(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """List the reference scenes and their tasks."""
    from benchmark.scenes.registry import load_scene, scene_names

    rows = []
    for name in scene_names():
        scene = load_scene(name)
        rows.append(
            {
                "name": scene.name,
                "description": scene.description,
                "objects": [o.name for o in scene.objects],
                "cameras": [c.name for c in scene.cameras],
                "tasks": [
                    {
                        "name": t.name,
                        "family": t.family,
                        "object": t.object,
                        "target": t.target,
                        "instruction": t.instruction,
                    }
                    for t in scene.tasks
                ],
            }
        )
    if as_json:
        emit_json(rows)
        return
    table = Table(*("scene", "task", "family", "instruction"), title="Reference scenes")
    for row in rows:
        for task in row["tasks"]:
            table.add_row(row["name"], task["name"], task["family"], task["instruction"])
    show(table)


def record(
    scene: str = typer.Option(..., "--scene", help="A reference scene name, or a scene spec file."),
    episodes: int = typer.Option(1, "--episodes", min=1, help="Number of demonstrations."),
    seed: int = typer.Option(0, "--seed", help="Seed of the first episode; episode i uses seed+i."),
    out: Path = typer.Option(..., "-o", "--out", help="New output folder (must not exist)."),
    task: str = typer.Option(None, "--task", help="Task name within the scene (default: the first)."),
    scan_frames: int = typer.Option(30, "--scan-frames", min=2, help="Frames in the opening camera sweep."),
    style: str = typer.Option(
        "scan",
        "--style",
        help="scan: RGB-D with an opening sweep and camera poses; robot-log: exterior and wrist "
        "cameras, 15 fps, 320×180 RGB, intrinsics only, no sweep, the robot's base frame as the world.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Record scripted-expert demonstrations in the demonstration folder format."""
    from dataclasses import asdict

    from benchmark.scenes.recording import RecordConfig
    from benchmark.scenes.recording import record as run_record
    from benchmark.scenes.registry import load_scene
    from benchmark.scenes.robot_logs import RobotLogConfig

    if style not in ("scan", "robot-log"):
        raise UserError(f"--style {style!r} is not one of scan, robot-log")
    spec = load_scene(scene)
    if out.exists():
        raise UserError(f"output folder {out} already exists; choose a new one or remove it")
    config = RecordConfig(scan_frames=scan_frames) if style == "scan" else RobotLogConfig()
    with progress() as bar:
        job = bar.add_task(f"record {spec.name}", total=episodes)
        summaries = run_record(
            spec,
            out,
            episodes,
            seed,
            task,
            config,
            on_episode=lambda s: bar.advance(job),
        )
    if as_json:
        emit_json([asdict(s) for s in summaries])
        return
    ok = sum(s.success for s in summaries)
    console.print(
        f"[green]wrote {len(summaries)} demonstrations to {out}[/]; expert success {ok}/{len(summaries)}"
    )


def perturbations(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """List the perturbation axes: unit, group and what level 1 means."""
    from benchmark.perturbations.axes import axis_table

    rows = axis_table()
    if as_json:
        emit_json(rows)
        return
    table = Table(
        *("axis", "group", "unit", "at level 1", "description"),
        title=f"{len(rows)} perturbation axes (level 0 = unperturbed, 1 = strongest)",
    )
    for row in rows:
        table.add_row(row["axis"], row["group"], row["unit"], row["at_level_1"], row["description"])
    show(table)
