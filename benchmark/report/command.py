"""``twinarena report``: a policy's stress-test report as HTML, PDF and JSON."""

from __future__ import annotations

from pathlib import Path

import typer

from benchmark.report.paths import REPORT_FILES, default_report_dir


def write_report(
    store,
    policy: str,
    vs: str | None = None,
    out: str | Path | None = None,
    campaign: str | None = None,
    gallery: int | None = None,
) -> dict[str, Path]:
    """Build the report and write ``report.html``, ``report.pdf`` and ``report.json`` into ``out``
    (default :func:`default_report_dir`); files already there are replaced only once all three
    are rendered. Returns the paths by kind (html, pdf, json)."""
    from benchmark.report.build import build_report
    from benchmark.report.html import render_html
    from benchmark.report.pdf import render_pdf

    report = build_report(store, policy, vs, campaign, gallery)
    contents = {
        "html": render_html(report.data, report.images).encode(),
        "pdf": render_pdf(report.data, report.images),
        "json": (report.to_json() + "\n").encode(),
    }
    folder = Path(out) if out is not None else default_report_dir(store, policy, vs)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in REPORT_FILES:
        kind = name.rsplit(".", 1)[1]
        path = folder / name
        partial = path.with_name(f".{name}.partial")
        partial.write_bytes(contents[kind])
        partial.replace(path)
        paths[kind] = path
    return paths


def report_command(
    policy: str = typer.Option(..., "--policy", help="The policy to report on (a registered name)."),
    vs: str = typer.Option(None, "--vs", help="Another policy to set beside it."),
    out: Path = typer.Option(
        None, "-o", "--out", help="Output folder (default: <artefacts>/reports/<policy>[__vs__<other>])."
    ),
    campaign: str = typer.Option(None, "--campaign", help="Only this campaign's episodes."),
    gallery: int = typer.Option(3, "--gallery", min=0, help="Failed episodes shown per termination reason."),
    db: str = typer.Option(None, "--db", help="Store URL (default: $TWINARENA_DB or a local SQLite file)."),
    as_json: bool = typer.Option(False, "--json", help="Print the written paths as JSON."),
) -> None:
    """Write a policy's stress-test report: summary, robustness per axis, interactions, failure
    gallery, judge agreement and twins (with --vs, two policies side by side) as a self-contained
    HTML file, a PDF and a JSON of every number in it."""
    import json
    import sys

    from rich.console import Console

    from benchmark.store import open_store

    console = Console(stderr=True)
    with open_store(db) as store, console.status(f"writing the report on {policy}"):
        paths = write_report(store, policy, vs, out, campaign, gallery)
    if as_json:
        sys.stdout.write(json.dumps({k: str(v) for k, v in paths.items()}, indent=1) + "\n")
        return
    for kind, path in paths.items():
        console.print(f"{kind}: {path}")
