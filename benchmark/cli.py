"""The ``twinarena`` command line: a thin shell over the library; each command's work lives elsewhere."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

app = typer.Typer(
    name="twinarena",
    help="Evaluate robot manipulation policies in digital twins of demonstration scenes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)


class UserError(Exception):
    """An error caused by the user's input: printed as one clear line, exit code 2."""


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


def _emit_json(data) -> None:
    sys.stdout.write(json.dumps(data, indent=1) + "\n")


@app.command()
def scenes(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """List the reference scenes and their tasks."""
    from benchmark.scenes import load_scene, scene_names

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
        _emit_json(rows)
        return
    table = Table(title="Reference scenes")
    for column in ("scene", "task", "family", "instruction"):
        table.add_column(column)
    for row in rows:
        for task in row["tasks"]:
            table.add_row(row["name"], task["name"], task["family"], task["instruction"])
    Console().print(table)


@app.command()
def record(
    scene: str = typer.Option(..., "--scene", help="A reference scene name, or a scene spec file."),
    episodes: int = typer.Option(1, "--episodes", min=1, help="Number of demonstrations."),
    seed: int = typer.Option(0, "--seed", help="Seed of the first episode; episode i uses seed+i."),
    out: Path = typer.Option(..., "-o", "--out", help="New output folder (must not exist)."),
    task: str = typer.Option(None, "--task", help="Task name within the scene (default: the first)."),
    scan_frames: int = typer.Option(30, "--scan-frames", min=2, help="Frames in the opening camera sweep."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Record scripted-expert demonstrations in the demonstration folder format."""
    from dataclasses import asdict

    from benchmark.recording import RecordConfig
    from benchmark.recording import record as run_record
    from benchmark.scenes import load_scene

    spec = load_scene(scene)
    if out.exists():
        raise UserError(f"output folder {out} already exists; choose a new one or remove it")
    with _progress() as bar:
        job = bar.add_task(f"record {spec.name}", total=episodes)
        summaries = run_record(
            spec,
            out,
            episodes,
            seed,
            task,
            RecordConfig(scan_frames=scan_frames),
            on_episode=lambda s: bar.advance(job),
        )
    if as_json:
        _emit_json([asdict(s) for s in summaries])
        return
    ok = sum(s.success for s in summaries)
    console.print(
        f"[green]wrote {len(summaries)} demonstrations to {out}[/]; expert success {ok}/{len(summaries)}"
    )


@app.command()
def demo(
    out: Path = typer.Option(Path("twinarena-demo"), "-o", "--out", help="Output folder."),
    episodes: int = typer.Option(2, "--episodes", min=1, help="Demonstrations per reference scene."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the output folder if it exists."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Run every stage that exists so far on the embedded defaults."""
    from benchmark.demo import run_demo

    result = run_demo(out, episodes=episodes, overwrite=overwrite, progress_factory=_progress)
    if as_json:
        _emit_json(result)
        return
    table = Table(title="Scripted expert on the reference scenes")
    for column in ("scene", "task", "success", "mean progress"):
        table.add_column(column)
    for row in result["scenes"]:
        table.add_row(
            row["scene"], row["task"], f"{row['successes']}/{row['episodes']}", f"{row['mean_progress']:.2f}"
        )
    Console().print(table)
    for key, value in result["artifacts"].items():
        console.print(f"{key}: {value}")


def main() -> None:
    """Console entry point: user errors print one line and exit 2, never a traceback."""
    from benchmark.sim.gl import HeadlessGLError
    from benchmark.sim.scene_spec import SceneSpecError
    from twin.demonstration import DemonstrationError

    try:
        app(standalone_mode=False)
    except (UserError, SceneSpecError, DemonstrationError, HeadlessGLError, FileExistsError) as err:
        console.print(f"[red]error:[/] {err}")
        raise SystemExit(2) from None
    except (typer.Abort, KeyboardInterrupt):
        console.print("[yellow]aborted[/]")
        raise SystemExit(130) from None
    except Exception as err:  # click usage errors
        import click

        if isinstance(err, click.ClickException):
            err.show()
            raise SystemExit(err.exit_code) from None
        raise


if __name__ == "__main__":
    main()
