"""``twinarena report``: a policy's stress-test report as HTML, PDF and JSON (written by
:func:`benchmark.report.write.write_report`)."""

from __future__ import annotations

from pathlib import Path

import typer

from benchmark.cli.output import DB_HELP, console, emit_json


def report_command(
    policy: str = typer.Option(..., "--policy", help="The policy to report on (a registered name)."),
    vs: str = typer.Option(None, "--vs", help="Another policy to set beside it."),
    out: Path = typer.Option(
        None, "-o", "--out", help="Output folder (default: <artefacts>/reports/<policy>[__vs__<other>])."
    ),
    campaign: str = typer.Option(None, "--campaign", help="Only this campaign's episodes."),
    gallery: int = typer.Option(3, "--gallery", min=0, help="Failed episodes shown per termination reason."),
    db: str = typer.Option(None, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the written paths as JSON."),
) -> None:
    """Write a policy's stress-test report: summary, robustness per axis, interactions, failure
    gallery, judge agreement and twins (with --vs, two policies side by side) as a self-contained
    HTML file, a PDF and a JSON of every number in it."""
    from benchmark.report.write import write_report
    from benchmark.store import open_store

    with open_store(db) as store, console.status(f"writing the report on {policy}"):
        paths = write_report(store, policy, vs, out, campaign, gallery)
    if as_json:
        emit_json({k: str(v) for k, v in paths.items()})
        return
    for kind, path in paths.items():
        console.print(f"{kind}: {path}")
