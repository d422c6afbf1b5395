"""A policy's stress-test report written as HTML, PDF and JSON files (``twinarena report`` is its
command line, in :mod:`benchmark.cli.report`)."""

from __future__ import annotations

from pathlib import Path

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
