"""Submitted policies run here: in a worker process, never in the evaluator's.

:class:`WorkerPolicy` implements the policy protocol by sending each call to a child process
(``python -m benchmark.policies.worker``) over a pipe, in :mod:`benchmark.policies.wire` frames.
Submitted code (every kind but the built-ins) runs only inside the sandbox of
:mod:`benchmark.policies.sandbox` (bubblewrap namespaces and rlimits), and is refused where there is
none. Before it loads anything submitted, the child also caps its address space, turns core dumps
off and cuts itself off the network (its own empty network namespace; where the kernel refuses
one, an audit hook that refuses sockets). The parent enforces the time limits and the size of
answers, kills the child when it overruns them, and starts a new one for the next episode, up to
``max_restarts`` times; after that the policy is marked failed and every later call says why.

What it can load is described by a source dict (see :mod:`benchmark.policies.loaders`):
``{"kind": "torchscript", "path": …}``, ``{"kind": "entrypoint", "entry": "module:factory",
"code": folder or wheel}``, ``{"kind": "weights", "path": folder}``, ``{"kind": "lerobot", "path":
folder}`` (its worker runs with the Python of the LeRobot venv: :mod:`benchmark.policies.lerobot_policy`)
or ``{"kind": "builtin", "name": "random", …}``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.errors import InvalidAnswer, PolicyError, PolicyTimeout
from benchmark.policies import sandbox, wire

GIB = 1 << 30
MIB = 1 << 20


@dataclass(frozen=True)
class WorkerLimits:
    """What a worker may use. ``network``: False cuts the worker off every network."""

    memory_bytes: int = 4 * GIB
    load_timeout: float = 120.0
    step_timeout: float = 30.0
    max_answer_bytes: int = 64 * MIB
    network: bool = False
    max_restarts: int = 2
    threads: int = 1


class WorkerPolicy:
    """A policy in a worker process. ``reset`` starts the worker (again, after a crash);
    ``act_within`` enforces the per-step time limit."""

    def __init__(
        self,
        source: dict[str, Any],
        limits: WorkerLimits | None = None,
        name: str = "policy",
        sandbox_limits: sandbox.SandboxLimits | None = None,
        open_loop_horizon: int | None = None,
    ):
        self.source = dict(source)
        self.open_loop_horizon = open_loop_horizon  # actions of each chunk the runner plays
        self.limits = limits or WorkerLimits()
        self.sandbox_limits = sandbox_limits or sandbox.SandboxLimits()
        self.name = name
        self.starts = 0
        self.failed: str | None = None
        self._last_error = "no error"
        self.isolation: dict[str, Any] = {}
        self._process: subprocess.Popen | None = None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the policy)
        self._home: tempfile.TemporaryDirectory | None = None

    @property
    def sandboxed(self) -> bool:
        """Whether the worker runs in the sandbox: every kind but the trusted built-ins."""
        return self.source.get("kind") != "builtin"

    # -- the policy protocol ------------------------------------------------------------------
    def reset(self, instruction: str) -> None:
        if self._process is None:
            self._start()
        self._call({"op": "reset", "instruction": instruction}, self.limits.load_timeout)

    def act(self, observation: dict[str, Any]) -> np.ndarray:
        return self.act_within(observation, self.limits.step_timeout)

    def act_within(self, observation: dict[str, Any], timeout: float | None) -> np.ndarray:
        if self._process is None:
            raise PolicyError(self.failed or f"{self.name}: reset() must come before act()")
        limit = self.limits.step_timeout if timeout is None else min(timeout, self.limits.step_timeout)
        return self._call({"op": "act", "observation": observation}, limit)

    def close(self) -> None:
        self._stop()
        self._log.close()

    def __enter__(self) -> WorkerPolicy:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        if self._process is not None:
            self._stop()

    # -- the worker's life --------------------------------------------------------------------
    def _start(self) -> None:
        if self.failed:
            raise PolicyError(self.failed)
        if self.starts > self.limits.max_restarts:
            self.failed = f"{self.name}: marked failed after {self.starts} worker starts; {self._last_error}"
            raise PolicyError(self.failed)
        self.starts += 1
        self._home = tempfile.TemporaryDirectory(prefix="twinarena-worker-")
        self._log.seek(0)
        self._log.truncate()
        python, readable = sys.executable, ()
        if self.source.get("kind") == "lerobot":  # the real lerobot, in a venv of its own
            from benchmark.policies.lerobot_policy import worker_python

            python, readable = worker_python()
        argv = [python, "-X", "faulthandler", "-m", "benchmark.policies.worker"]
        env = _worker_environment(self._home.name, self.limits.threads)
        seccomp = None
        if self.sandboxed:  # submitted code: only inside the sandbox
            why = sandbox.problem()
            if why is not None:
                self.failed = f"{self.name}: untrusted submissions are refused here: {why}"
                raise PolicyError(self.failed)
            path = submission_path(self.source)
            seccomp = sandbox.seccomp_fd()
            argv = sandbox.sandboxed(
                argv,
                path,
                env,
                self.sandbox_limits,
                network=self.limits.network,
                seccomp=seccomp,
                also=readable,
            )
            argv = sandbox.with_rlimits(argv, self.sandbox_limits)
        self._process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            cwd=self._home.name,
            env=env,
            start_new_session=True,  # no preexec_fn: the caller may have threads (see sandbox.with_rlimits)
            pass_fds=() if seccomp is None else (seccomp,),
        )
        if seccomp is not None:
            os.close(seccomp)  # bwrap holds its own copy
        reply = self._call(
            {"op": "start", "source": self.source, "limits": asdict(self.limits)}, self.limits.load_timeout
        )
        self.isolation = reply or {}

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            process.stdin.close()
            process.stdout.close()
        if self._home is not None:
            self._home.cleanup()
            self._home = None

    def _fail(self, error: PolicyError) -> PolicyError:
        """Stop the worker after ``error``; the next ``reset`` starts a new one (or gives up)."""
        self._last_error = str(error)
        self._stop()
        return error

    def _call(self, message: dict[str, Any], timeout: float) -> Any:
        process = self._process
        try:
            wire.write_frame(process.stdin.fileno(), wire.pack(message))
            frame = wire.read_frame(
                process.stdout.fileno(), self.limits.max_answer_bytes, time.monotonic() + timeout
            )
            reply = wire.unpack(frame)
        except TimeoutError:
            raise self._fail(PolicyTimeout(f"{self.name}: no answer within {timeout:g} s")) from None
        except wire.FrameTooLarge as err:
            raise self._fail(InvalidAnswer(f"{self.name}: {err}")) from None
        except wire.WireError as err:
            raise self._fail(
                InvalidAnswer(f"{self.name}: the worker sent a malformed message ({err})")
            ) from None
        except (EOFError, BrokenPipeError, OSError):
            raise self._fail(PolicyError(f"{self.name}: {self._death()}")) from None
        if not isinstance(reply, dict) or "ok" not in reply:
            raise self._fail(InvalidAnswer(f"{self.name}: the worker sent a malformed message"))
        if reply["ok"]:
            return reply.get("value")
        text = f"{self.name}: {reply.get('error', 'unknown error')}"
        if reply.get("kind") == "invalid":
            raise InvalidAnswer(text)
        if message["op"] == "start":
            raise self._fail(PolicyError(f"{text} (while loading)"))
        raise PolicyError(text)

    def _death(self) -> str:
        """Why the worker is gone, with the last lines it wrote to stderr."""
        process = self._process
        try:
            code = process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        if code is None:
            why = "the worker closed its pipe"
        elif code < 0:
            why = f"the worker died of {signal.Signals(-code).name}"
        elif self.sandboxed and sandbox.exit_signal(code) is not None:
            why = f"the worker died of {signal.Signals(sandbox.exit_signal(code)).name}"
        else:
            why = f"the worker exited with status {code}"
        tail = _tail(self._log)
        return f"{why}" + (f"; its last output: {tail}" if tail else "")


def submission_path(source: dict[str, Any]) -> Path | None:
    """The file or folder a worker's source names (what its sandbox lets it read)."""
    where = source.get("path") or source.get("code")
    return None if where is None else Path(where)


def _worker_environment(home: str, threads: int) -> dict[str, str]:
    """A small environment: no credentials or database URLs of the evaluator leak into it."""
    keep = ("PATH", "LANG", "LC_ALL", "MUJOCO_GL", "PYOPENGL_PLATFORM", "VIRTUAL_ENV")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    project_root = str(Path(__file__).resolve().parents[2])
    env.update(
        HOME=home,
        TMPDIR=home,
        PYTHONPATH=project_root,
        PYTHONDONTWRITEBYTECODE="1",
        OMP_NUM_THREADS=str(threads),
        MKL_NUM_THREADS=str(threads),
        OPENBLAS_NUM_THREADS=str(threads),
        OMP_WAIT_POLICY="PASSIVE",  # idle OpenMP threads sleep instead of spinning on a shared core
    )
    return env


def _tail(log, lines: int = 3, limit: int = 600) -> str:
    """The end of the worker's stderr; for a fatal signal, where faulthandler says it happened."""
    log.seek(0, os.SEEK_END)
    log.seek(max(0, log.tell() - 16384))
    text = log.read().decode("utf-8", "replace").strip().splitlines()
    site = crash_site(text)
    if site:
        return site
    return " | ".join(line.strip() for line in text[-lines:])[-limit:]


def crash_site(lines: list[str], depth: int = 3) -> str:
    """The innermost frames of a faulthandler dump, ``"at string_at (__init__.py:519) ← act
    (policy.py:13)"``, or "" when there is none."""
    import re

    frame = re.compile(r'File "(?P<path>[^"]+)", line (?P<line>\d+) in (?P<func>\S+)')
    for i, line in enumerate(lines):
        if "most recent call first" in line:
            found = [m for m in map(frame.search, lines[i + 1 :]) if m][:depth]
            sites = [f"{m['func']} ({Path(m['path']).name}:{m['line']})" for m in found]
            return "at " + " ← ".join(sites) if sites else ""
    return ""


# -- the child side ---------------------------------------------------------------------------


def isolate(limits: dict[str, Any]) -> dict[str, Any]:
    """Cap memory, turn core dumps off and (unless allowed) cut the network. Called in the child
    before anything submitted is loaded; returns what was done."""
    import resource

    done: dict[str, Any] = {}
    memory = int(limits["memory_bytes"])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    done["memory_bytes"] = memory
    done["network"] = "allowed" if limits["network"] else _cut_network()
    return done


def _cut_network() -> str:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    clone_newuser, clone_newnet = 0x10000000, 0x40000000
    for flags, how in (
        (clone_newnet, "network namespace"),
        (clone_newuser | clone_newnet, "user+network namespace"),
    ):
        if libc.unshare(flags) == 0:
            return how
    sys.addaudithook(_refuse_sockets)
    return "audit hook"


def _refuse_sockets(event: str, args) -> None:
    if event in ("socket.connect", "socket.bind", "socket.sendto", "socket.getaddrinfo"):
        raise PermissionError(f"network access is off for submitted policies ({event})")


def checked_answer(answer: Any, max_bytes: int) -> np.ndarray:
    """``answer`` as the numeric array to send, or :class:`_Invalid` saying why it is not one (its
    size is checked before converting, so a huge answer is never copied)."""

    def size_problem(nbytes: Any) -> None:
        if isinstance(nbytes, int) and nbytes > max_bytes:
            raise _Invalid(
                f"an answer of {wire.human_bytes(nbytes)} is over the limit of {wire.human_bytes(max_bytes)}"
            )

    size_problem(getattr(answer, "nbytes", None))
    try:
        array = np.asarray(answer)
    except Exception as err:
        raise _Invalid(f"the answer is not an array ({type(err).__name__}: {err})") from None
    if array.dtype.kind not in wire.NUMERIC_KINDS:
        raise _Invalid(f"the answer is not numeric (a {type(answer).__name__} of dtype {array.dtype})")
    size_problem(array.nbytes)
    return array


class _Invalid(Exception):
    pass


def brief(text: str, limit: int = 400) -> str:
    """A long multi-line error as its first and last lines (TorchScript's tracebacks run to pages)."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    short = lines[0] if len(lines) < 2 else f"{lines[0]} … {lines[-1]}"
    return short if len(short) <= limit else short[: limit - 1] + "…"


def serve_pipe(proto_in: int, proto_out: int) -> None:
    """The worker's loop: ``start`` (isolate, then load), then ``reset``/``act`` until the pipe closes."""
    import traceback

    from benchmark.policies.isolated import load_isolated

    policy = None
    max_answer_bytes = 64 * MIB
    while True:
        try:
            message = wire.unpack(wire.read_frame(proto_in, 256 * MIB))
        except EOFError:
            return
        op = message.get("op")
        try:
            if op == "start":
                limits = message["limits"]
                max_answer_bytes = int(limits["max_answer_bytes"])
                done = isolate(limits)
                policy = load_isolated(message["source"], threads=int(limits["threads"]))
                reply = {"ok": True, "value": done}
            elif op == "reset":
                policy.reset(message.get("instruction", ""))
                reply = {"ok": True, "value": None}
            elif op == "act":
                answer = policy.act(message["observation"])
                reply = {"ok": True, "value": checked_answer(answer, max_answer_bytes)}
            else:
                reply = {"ok": False, "error": f"unknown operation {op!r}"}
        except _Invalid as err:
            reply = {"ok": False, "kind": "invalid", "error": str(err)}
        except BaseException as err:  # reported to the evaluator, which decides
            last = traceback.extract_tb(err.__traceback__)[-1:]
            where = f" (at {Path(last[0].filename).name}:{last[0].lineno})" if last else ""
            reply = {"ok": False, "kind": "error", "error": brief(f"{type(err).__name__}: {err}") + where}
        try:
            payload = wire.pack(reply)
        except Exception as err:
            payload = wire.pack(
                {"ok": False, "kind": "invalid", "error": f"the answer cannot be sent: {err}"}
            )
        wire.write_frame(proto_out, payload)


def main() -> None:
    # The protocol keeps the original stdin/stdout; whatever the policy prints goes to stderr.
    proto_in, proto_out = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    serve_pipe(proto_in, proto_out)


if __name__ == "__main__":
    main()
