"""Child processes that stop with their parent.

:func:`run_child` runs a command until it exits; SIGTERM and SIGINT sent to the parent reach the
child too, so stopping a command that serves through a child (``twinarena dashboard``) never
leaves the child running, orphaned, on its port.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Mapping, Sequence

FORWARDED = (signal.SIGTERM, signal.SIGINT)
POLL = 0.2  # seconds between looks at the child, so a signal's grace period is kept
STOPPED = (
    0,
    -signal.SIGINT,
    -signal.SIGTERM,
    128 + signal.SIGINT,
    128 + signal.SIGTERM,
)  # exit codes of a child that was asked to stop


def run_child(command: Sequence[str], env: Mapping[str, str] | None = None, grace: float = 10.0) -> int:
    """Run ``command`` and return its exit code. A SIGTERM or SIGINT to this process is passed on
    to the child; a child still running ``grace`` seconds after that is killed."""
    process = subprocess.Popen(list(command), env=None if env is None else dict(env))
    asked = []

    def forward(signum, _frame) -> None:
        asked.append(signum)
        if process.poll() is None:
            process.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in FORWARDED}
    try:
        deadline = None
        while True:
            try:
                return process.wait(timeout=POLL)
            except subprocess.TimeoutExpired:
                if asked and deadline is None:
                    deadline = time.monotonic() + grace
                if deadline is not None and time.monotonic() > deadline:
                    process.kill()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
