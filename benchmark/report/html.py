"""The report as one self-contained HTML file: images embedded as base64, inline CSS, no scripts
and nothing fetched, so it opens offline. Each number is ``<span class="num" data-path=…
data-value=…>``: its path in ``report.json`` and its exact value."""

from __future__ import annotations

import base64
import json
from html import escape

from benchmark.report.document import Heading, Image, Num, Para, Table, layout

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1000px;margin:2em auto;
padding:0 1em;color:#1d2430;line-height:1.45}
h1{font-size:1.6em;border-bottom:2px solid #1f5fa8;padding-bottom:.2em}
h2{font-size:1.3em;margin-top:1.8em;border-bottom:1px solid #ccd3dd}
h3{font-size:1.05em;margin-top:1.2em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #ccd3dd;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#eef2f7}
tr.marked td{background:#fde9e4;font-weight:600}
p.note{color:#5a6472;font-style:italic;margin:.3em 0}
figure{margin:.8em 0}
figure img.plot{max-width:100%;border:1px solid #e3e7ee}
figure img.keyframes{max-width:100%;border:1px solid #e3e7ee}
figcaption{font-size:.8em;color:#5a6472}
nav a{margin-right:1em}
"""
MIME = {b"\x89PNG": "image/png", b"\xff\xd8\xff": "image/jpeg"}


def _mime(data: bytes) -> str:
    return next((m for magic, m in MIME.items() if data.startswith(magic)), "application/octet-stream")


def _cell(cell) -> str:
    if isinstance(cell, list):
        return "".join(_cell(piece) for piece in cell)
    if isinstance(cell, Num):
        value = json.dumps(cell.value)
        return (
            f'<span class="num" data-path="{escape(cell.path)}" data-value="{escape(value)}">'
            f"{escape(cell.text)}</span>"
        )
    return escape(str(cell))


def render_html(data: dict, images: dict[str, bytes]) -> str:
    """The report as a complete HTML document."""
    blocks = layout(data)
    sections = [b for b in blocks if isinstance(b, Heading) and b.level == 2]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(blocks[0].text)}</title>",
        f"<style>{CSS}</style></head><body>",
    ]
    for block in blocks:
        if isinstance(block, Heading):
            parts.append(f'<h{block.level} id="{escape(block.anchor)}">{escape(block.text)}</h{block.level}>')
            if block.level == 1:
                links = " ".join(f'<a href="#{escape(s.anchor)}">{escape(s.text)}</a>' for s in sections)
                parts.append(f"<nav>{links}</nav>")
        elif isinstance(block, Para):
            css = ' class="note"' if block.note else ""
            parts.append(f"<p{css}>{_cell(block.parts)}</p>")
        elif isinstance(block, Table):
            head = "".join(f"<th>{escape(c)}</th>" for c in block.columns)
            rows = []
            for k, row in enumerate(block.rows):
                css = ' class="marked"' if k < len(block.marked) and block.marked[k] else ""
                rows.append(f"<tr{css}>" + "".join(f"<td>{_cell(c)}</td>" for c in row) + "</tr>")
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")
        elif isinstance(block, Image):
            payload = images[block.id]
            source = f"data:{_mime(payload)};base64,{base64.b64encode(payload).decode()}"
            parts.append(
                f'<figure><img class="{block.kind}" data-figure="{escape(block.id)}" src="{source}" '
                f'alt="{escape(block.caption)}"><figcaption>{escape(block.caption)}</figcaption></figure>'
            )
    parts.append("</body></html>")
    return "\n".join(parts)
