"""Where a policy's stress-test report lives, so the CLI, the demo and the dashboard agree."""

from __future__ import annotations

import re
from pathlib import Path

REPORT_FILES = ("report.html", "report.pdf", "report.json")


def report_slug(policy: str) -> str:
    """A file-system-safe folder name for a policy name (``vision-expert?noise=0.015`` →
    ``vision-expert_noise_0.015``)."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", policy).strip("._") or "policy"
    return slug[:120]


def default_report_dir(store, policy: str, vs: str | None = None) -> Path:
    """``<artefacts>/reports/<policy>[__vs__<other>]/``: the folder ``twinarena report`` writes
    by default and the dashboard links to."""
    name = report_slug(policy) + (f"__vs__{report_slug(vs)}" if vs else "")
    return Path(store.artefacts.root) / "reports" / name
