"""Where a policy's stress-test report lives, so the CLI, the demo and the dashboard agree."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

REPORT_FILES = ("report.html", "report.pdf", "report.json")


def report_slug(policy: str) -> str:
    """A file-system-safe folder name for a policy name, distinct for distinct names: a name that
    is not already safe is made safe and gets 8 hex digits of its hash (``random!`` →
    ``random-1f0c…``, never ``random``)."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", policy).strip("._")[:100] or "policy"
    if slug == policy:
        return slug
    return f"{slug}-{hashlib.sha256(policy.encode()).hexdigest()[:8]}"


def default_report_dir(store, policy: str, vs: str | None = None) -> Path:
    """``<artefacts>/reports/<policy>[__vs__<other>]/``: the folder ``twinarena report`` writes
    by default and the dashboard links to."""
    name = report_slug(policy) + (f"__vs__{report_slug(vs)}" if vs else "")
    return Path(store.artefacts.root) / "reports" / name
