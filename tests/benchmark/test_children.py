"""A child process stops with its parent: the signal is passed on, and a child that ignores it is
killed after the grace period."""

from __future__ import annotations

import os
import signal
import sys
import threading

from benchmark.children import STOPPED, run_child

SLEEPER = "import signal, time\n{ignore}time.sleep(60)\n"


def _signal_me_soon(sig: int) -> None:
    threading.Timer(0.5, lambda: os.kill(os.getpid(), sig)).start()


def test_a_signal_to_the_parent_reaches_the_child():
    _signal_me_soon(signal.SIGTERM)
    code = run_child([sys.executable, "-c", SLEEPER.format(ignore="")], grace=20)
    assert code == -signal.SIGTERM and code in STOPPED


def test_a_child_that_ignores_the_signal_is_killed_after_the_grace_period():
    _signal_me_soon(signal.SIGINT)
    ignore = "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
    assert run_child([sys.executable, "-c", SLEEPER.format(ignore=ignore)], grace=1) == -signal.SIGKILL


def test_the_parents_own_handlers_come_back():
    before = signal.getsignal(signal.SIGTERM)
    assert run_child([sys.executable, "-c", "pass"]) == 0
    assert signal.getsignal(signal.SIGTERM) is before
