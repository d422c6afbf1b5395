"""The Streamlit app on a store, headless, on 127.0.0.1 by default: :func:`serve`, which
``python -m dashboard`` (:mod:`dashboard.__main__`) runs with the options ``twinarena dashboard``
was given."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from benchmark.children import STOPPED, run_child

APP = Path(__file__).resolve().parent / "app.py"
DB_ENV, ARTEFACTS_ENV = "TWINARENA_DB", "TWINARENA_ARTEFACTS"


def streamlit_command(port: int, host: str) -> list[str]:
    """The ``streamlit run`` command line: headless, no usage statistics, no file watcher, no
    developer menu."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.headless",
        "true",
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "minimal",
    ]


def serve(
    db: str | None = None,
    port: int = 8501,
    host: str = "127.0.0.1",
    artefacts: str | Path | None = None,
    issue_token: str | None = None,
) -> None:
    """Serve the dashboard on the store ``db`` (leaderboard, policy pages, blind A/B voting, twins
    and submissions), or print annotator ``issue_token``'s log-in token and return.

    It opens the store first, so a bad URL raises :class:`~benchmark.errors.StoreError` before
    Streamlit starts, then runs Streamlit until stopped."""
    from benchmark.errors import StoreError
    from benchmark.store import open_store
    from benchmark.store.engine import resolve_url

    if issue_token is not None:
        from dashboard.auth import issue_token as token

        try:
            sys.stdout.write(token(issue_token) + "\n")
        except ValueError as err:
            raise StoreError(str(err)) from None  # one line, exit code 2
        return
    url = resolve_url(db)
    with open_store(url, artefacts) as store:  # create or upgrade the schema; fail here, not in a page
        shown = store.url
    env = {**os.environ, DB_ENV: url}
    if artefacts is not None:
        env[ARTEFACTS_ENV] = str(Path(artefacts).expanduser().resolve())
    sys.stderr.write(f"TwinArena dashboard on http://{host}:{port} (store {shown}); Ctrl+C stops it\n")
    returncode = run_child(streamlit_command(port, host), env=env)
    if returncode not in STOPPED:
        raise SystemExit(returncode)
