"""``twinarena demo``: every stage on the embedded defaults (the workflow is :mod:`benchmark.demo`)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import typer
from rich.table import Table

from benchmark.cli.output import console, emit_json, leaderboard_table, progress, show


def demo(
    out: Path = typer.Option(Path("twinarena-demo"), "-o", "--out", help="Output folder."),
    episodes: int = typer.Option(2, "--episodes", min=1, help="Demonstrations per reference scene."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the output folder if it exists."),
    splat_steps: int = typer.Option(300, "--splat-steps", min=1, help="Splat steps per twin build."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Run every stage that exists so far on the embedded defaults."""
    from benchmark.demo import run_demo

    result = run_demo(
        out, episodes=episodes, overwrite=overwrite, progress_factory=progress, splat_steps=splat_steps
    )
    if as_json:
        emit_json(result)
        return
    table = Table(
        *("scene", "task", "success", "mean progress"), title="Scripted expert on the reference scenes"
    )
    for row in result["scenes"]:
        table.add_row(
            row["scene"], row["task"], f"{row['successes']}/{row['episodes']}", f"{row['mean_progress']:.2f}"
        )
    show(table)
    twins = Table(
        *("scene", "task", "objects", "position err", "size err", "PSNR", "expert in twin"),
        title="Twins of the first demonstrations",
    )
    for row in result["twins"]:
        twins.add_row(
            row["scene"],
            row["task"],
            row["objects_found"],
            f"{row['max_position_error_m'] * 100:.2f} cm",
            f"{row['max_size_error']:.1%}",
            f"{row['psnr_db']:.1f} dB",
            "success" if row["expert_success_in_twin"] else "failure",
        )
    show(twins)
    board = [SimpleNamespace(**row) for row in result["evaluation"]["leaderboard"]]
    show(leaderboard_table(board, "Leaderboard in the first twin (state judge)"))
    console.print(result["evaluation"]["leaderboard_scope"], style="dim", markup=False)
    for key, value in result["artifacts"].items():
        console.print(f"{key}: {value}")
