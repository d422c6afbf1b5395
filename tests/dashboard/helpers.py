"""Small helpers for the dashboard's AppTests and for tests that start the real server."""

from __future__ import annotations

import contextlib
import re
import socket
import time
import urllib.request
from pathlib import Path


def button(at, label: str):
    """The button (or form submit button) labelled ``label``."""
    found = [b for b in at.button if b.label == label]
    assert found, f"no button {label!r}; buttons: {[b.label for b in at.button]}"
    return found[0]


def texts(elements) -> str:
    """The elements' text as a reader sees it: Markdown's backslash escapes (``dashboard.fmt.plain``)
    undone."""
    return "\n".join(re.sub(r"\\(.)", r"\1", str(e.value)) for e in elements)


def no_exception(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_healthy(url: str, process, log: Path, seconds: float) -> None:
    """Wait for a started dashboard at ``url`` to answer ``/_stcore/health``; fail with its log if
    the process ends or ``seconds`` pass first."""
    deadline = time.monotonic() + seconds
    while True:
        assert process.poll() is None, log.read_text()
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer,
        ):
            if answer.read().decode().strip() == "ok":
                return
        assert time.monotonic() < deadline, "the dashboard did not answer /_stcore/health"
        time.sleep(0.5)


def point_dashboard_at(monkeypatch, url: str, artefacts: Path) -> None:
    """Make the dashboard, run in this process by AppTest, read the store at ``url``."""
    monkeypatch.setenv("TWINARENA_DB", url)
    monkeypatch.setenv("TWINARENA_ARTEFACTS", str(artefacts))
    monkeypatch.setenv("TWINARENA_HOME", str(artefacts.parent / "home"))  # the log-in secret's home
    monkeypatch.delenv("TWINARENA_ANNOTATOR_LOGIN", raising=False)
    monkeypatch.delenv("TWINARENA_MAX_UPLOAD_MB", raising=False)


def contrast_with_white(colour: str) -> float:
    """WCAG contrast ratio of a hex colour against white."""
    channels = [int(colour[k : k + 2], 16) / 255 for k in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 1.05 / (0.2126 * r + 0.7152 * g + 0.0722 * b + 0.05)
