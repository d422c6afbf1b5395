"""What every command shares: the stderr console, user errors, progress bars, tables and JSON on
stdout, and the option parsing and tables more than one command uses."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

console = Console(stderr=True)
DB_HELP = "Store URL (default: $TWINARENA_DB or a local SQLite file)."


class UserError(Exception):
    """An error caused by the user's input: printed as one clear line, exit code 2."""


def progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


PIPED_WIDTH = 1000  # columns of the console when stdout is not a terminal: tables are never cut


def show(renderable) -> None:
    """Print a table (or any rich renderable) on stdout: fitted to a terminal, at full width when
    piped, so no name is cut to fit 80 columns. Cells are plain text: a name or reason holding
    rich markup (``closing[/]tag``) is printed as written, never interpreted."""
    Console(width=None if sys.stdout.isatty() else PIPED_WIDTH, markup=False).print(renderable)


def emit_json(data) -> None:
    sys.stdout.write(json.dumps(data, indent=1) + "\n")


def twin_path(text: str) -> Path:
    """A twin package folder, or ``SCENE`` / ``SCENE/TASK`` naming a packaged reference scene;
    a package ``twinarena twin check`` would refuse is refused here too (one line)."""
    from benchmark.campaigns.evaluate import twin_folder
    from twin.package import check_twin

    folder = twin_folder(text)
    problems = check_twin(folder)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise UserError(f"twin {folder} is not a sound package: {problems[0]}{more}")
    return folder


def parse_size(text: str) -> tuple[int, int]:
    size = text.lower().split("x")
    try:
        return int(size[0]), int(size[-1])
    except ValueError:
        raise UserError(f"--image-size {text!r}: expected WIDTHxHEIGHT, e.g. 224x224") from None


def record_json(record) -> dict:
    from dataclasses import asdict

    data = asdict(record)
    data["created_at"] = record.created_at.isoformat()
    return data


def leaderboard_table(rows, title: str) -> Table:
    table = Table(*("rank", "policy", "score", "95% interval", "n", "mean progress"), title=title)
    for r in rows:
        mean = "" if r.mean_progress is None else f"{r.mean_progress:.1f}"
        table.add_row(
            str(r.rank),
            r.policy,
            f"{r.score:.3f}",
            f"{r.ci_low:.3f}–{r.ci_high:.3f}",
            f"{r.n} {r.unit}",
            mean,
        )
    return table
