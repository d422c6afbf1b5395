"""Venvs of their own for the real peers the tests talk to (openpi-client pins numpy < 2; lerobot
0.4.4 installs without its dependencies): built once per machine by a ``.ci`` script, under a
lock so pytest-xdist workers build it once, and never skipped: a failed build fails the test."""

from __future__ import annotations

import fcntl
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def side_venv_python(env_var: str, default_venv: str, script: str) -> Path:
    """The python of the venv ``$env_var`` names (its python), else ``<repo>/default_venv``;
    ``.ci/<script>`` builds it first when it is missing or incomplete."""
    python = Path(os.environ.get(env_var) or REPO / default_venv / "bin" / "python")
    venv = python.parent.parent
    venv.mkdir(parents=True, exist_ok=True)
    with open(venv / ".twinarena-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        build = subprocess.run(
            ["bash", str(REPO / ".ci" / script), str(venv)], capture_output=True, text=True
        )
    assert build.returncode == 0, f"could not build the venv at {venv} with .ci/{script}:\n{build.stderr}"
    assert python.exists(), f"{python} is missing after building {venv}"
    return python
