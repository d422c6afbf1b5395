"""``twinarena dashboard``: declares the options and runs ``python -m dashboard`` with them, so the
command line never imports the dashboard (Streamlit and its pages)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from benchmark.children import STOPPED, run_child
from benchmark.cli.output import DB_HELP


def dashboard_command(
    db: str = typer.Option(None, "--db", help=DB_HELP),
    port: int = typer.Option(8501, "--port", min=1, max=65535, help="Port to serve on."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (0.0.0.0: every interface)."),
    artefacts: Path = typer.Option(
        None, "--artefacts", help="Artefact folder (default: $TWINARENA_ARTEFACTS or beside the SQLite file)."
    ),
    issue_token: str = typer.Option(
        None, "--issue-token", help="Print the log-in token of annotator NAME and exit (see the Vote page)."
    ),
) -> None:
    """Serve the dashboard: leaderboard, policy pages, blind A/B voting, twins and submissions.

    It opens the store first, so a bad URL is one error line, then runs Streamlit until stopped
    (Ctrl+C, SIGINT or SIGTERM: the Streamlit server stops with it)."""
    returncode = run_child(dashboard_process(db, port, host, artefacts, issue_token))
    if returncode not in STOPPED:  # the dashboard has shown its error (2: one line) or Streamlit's failure
        raise SystemExit(returncode)


def dashboard_process(
    db: str | None, port: int, host: str, artefacts: Path | None, issue_token: str | None
) -> list[str]:
    """The ``python -m dashboard`` command line: the options given, as one JSON object."""
    options = {"db": db, "port": port, "host": host, "artefacts": artefacts, "issue_token": issue_token}
    given = {k: str(v) if isinstance(v, Path) else v for k, v in options.items() if v is not None}
    return [sys.executable, "-m", "dashboard", json.dumps(given)]
