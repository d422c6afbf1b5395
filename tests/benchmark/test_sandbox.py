"""The sandbox against hostile submissions, as root and as an unprivileged user: a worker cannot
read a file planted beside the store, see the evaluator's environment or process, write outside
its tmpfs, reach a socket, fill the disk, leave a process behind, make new namespaces or trace a
process (seccomp); where there is no sandbox,
untrusted kinds are refused and built-ins still run."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from benchmark.errors import PolicyError
from benchmark.policies import sandbox
from benchmark.policies.worker import WorkerLimits, WorkerPolicy

PROBE = Path(__file__).with_name("sandbox_probe.py")
NOBODY = 65534
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def hostile_world(tmp_path_factory):
    """World-readable folders (so only the sandbox stops an unprivileged worker): a store folder
    with a planted secret, listeners, and where the policy goes."""
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="twinarena-hostile-"))
    os.chmod(base, 0o755)
    store = base / "store"
    store.mkdir(mode=0o777)
    os.chmod(store, 0o777)
    planted = store / "secret.txt"
    planted.write_text("the evaluator's secret")
    os.chmod(planted, 0o644)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(str(base / "sock"))
    os.chmod(base / "sock", 0o777)
    unix.listen()
    marker = f"twinarena-orphan-{os.getpid()}-{time.monotonic_ns()}"
    config = {"folder": str(base / "policy"), "planted": str(planted), "store": str(store),
              "secret": f"secret-{time.monotonic_ns()}", "port": listener.getsockname()[1],
              "socket": str(base / "sock"), "marker": marker, "evaluator_pid": os.getpid()}  # fmt: skip
    yield base, config
    listener.close()
    unix.close()
    import shutil

    shutil.rmtree(base, ignore_errors=True)


def _run_probe(base: Path, config: dict, user: int | None, unconfined: bool = False) -> dict:
    path = base / f"config-{user}.json"
    config = {**config, "folder": f"{config['folder']}-{user}"}
    Path(config["folder"]).mkdir()
    os.chmod(config["folder"], 0o777)  # the probe (maybe unprivileged) writes the policy there
    path.write_text(json.dumps(config))
    os.chmod(path, 0o644)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT), "HOME": str(base),
           "TWINARENA_SECRET": config["secret"], "MUJOCO_GL": "egl"}  # fmt: skip
    argv = [sys.executable, str(PROBE), str(path), *(["--unconfined"] if unconfined else [])]
    if user is not None:
        argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *argv]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600, env=env, cwd=base)
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    orphans = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _cmdline_has(p, config["marker"])]
    return {**results, "orphans": orphans}


def _cmdline_has(proc: Path, word: str) -> bool:
    try:
        return word.encode() in (proc / "cmdline").read_bytes()
    except OSError:
        return False


def _check(results: dict, config: dict) -> None:
    found = {k: v for k, v in results.items() if k != "orphans" and v != "blocked"}
    assert found == {}, found  # every probe ran in the sandbox and found nothing (a refusal is a failure)
    assert set(results) - {"orphans"} == {
        "read_planted", "environment", "see_evaluator", "write_outside", "unix_socket", "tcp", "big_tmp",
        "orphan", "new_namespace", "trace",
    }  # fmt: skip
    assert results["orphans"] == [], "a process the worker started outlived it"
    assert not (Path(config["store"]) / "planted-by-policy").exists()


def _need_sandbox() -> None:
    why = sandbox.problem()
    if why is not None:
        if os.environ.get("CI"):
            pytest.fail(f"the sandbox must work in CI: {why}")
        pytest.skip(why)


def test_hostile_submissions_are_contained_as_root(hostile_world):
    _need_sandbox()
    base, config = hostile_world
    _check(_run_probe(base, config, None), config)


def test_hostile_submissions_are_contained_as_an_unprivileged_user(hostile_world):
    _need_sandbox()
    base, config = hostile_world
    user = NOBODY if os.geteuid() == 0 else None
    if user is not None:
        check = subprocess.run(
            ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", sys.executable, "-c", "0"],
            capture_output=True,
        )
        if check.returncode != 0:
            message = (
                f"user {user} cannot run {sys.executable} (chmod o+x its parent folders, as .ci/run does)"
            )
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
    _check(_run_probe(base, config, user), config)


def test_the_probes_find_leaks_in_a_worker_without_the_sandbox(hostile_world):
    """The probes can fail: unconfined, the same worker reads the planted file, sees the evaluator,
    writes beside the store, reaches the unix socket, fills its folder and leaves a process."""
    base, config = hostile_world
    results = _run_probe(base, config, None, unconfined=True)
    leaked = {k for k, v in results.items() if str(v).startswith("LEAK")}
    assert {
        "read_planted",
        "environment",
        "see_evaluator",
        "write_outside",
        "unix_socket",
        "big_tmp",
        "new_namespace",
        "trace",
    } <= leaked, results
    assert results["orphans"], "the unconfined orphan should outlive its worker"
    for proc in results["orphans"]:
        os.kill(int(proc.name), 9)
    (Path(config["store"]) / "planted-by-policy").unlink()
    Path("/tmp/big").unlink(missing_ok=True)  # what big_tmp wrote, unconfined


def test_the_sandbox_arguments_hide_what_is_not_listed(tmp_path):
    args = sandbox.bwrap_arguments([tmp_path], {"A": "1"}, sandbox.SandboxLimits(tmpfs_bytes=1 << 20))
    assert args[:1] == ["--unshare-all"] and "--share-net" not in args
    assert {"--die-with-parent", "--new-session", "--clearenv"} <= set(args)
    assert args[args.index("--tmpfs") - 1] == str(1 << 20)
    assert args.index("--tmpfs") < args.index(str(tmp_path))  # bound over the tmpfs, not under it
    binds = {args[i + 1] for i, a in enumerate(args) if a in ("--ro-bind", "--ro-bind-try")}
    assert str(tmp_path) in binds and "/etc" not in binds and "/" not in binds and "/home" not in binds
    assert "--share-net" in sandbox.bwrap_arguments([], {}, sandbox.SandboxLimits(), network=True)


def test_rlimits_are_set_by_a_fresh_interpreter_and_inherited(tmp_path):
    # set between fork and exec by a new process, not a preexec_fn in the (threaded) caller
    names = "('RLIMIT_NOFILE', 'RLIMIT_FSIZE', 'RLIMIT_CORE')"
    probe = f"import resource as r; print(*[r.getrlimit(getattr(r, n))[0] for n in {names}])"
    limits = sandbox.SandboxLimits(open_files=77, file_bytes=12345)
    argv = sandbox.with_rlimits([sys.executable, "-c", probe], limits)
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == ["77", "12345", "0"]
    shell = sandbox.with_rlimits(["sh", "-c", "ulimit -n"], limits)  # found on PATH, and inherited
    assert subprocess.run(shell, capture_output=True, text=True, timeout=60).stdout.strip() == "77"


def test_without_a_sandbox_untrusted_kinds_are_refused_and_builtins_run(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox, "problem", lambda: "bubblewrap (bwrap) is not installed")
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "p.py").write_text("def make():\n    raise SystemExit('must not run')\n")
    source = {"kind": "entrypoint", "entry": "p:make", "code": str(folder)}
    refused = pytest.raises(PolicyError, match="untrusted submissions are refused here: bubblewrap")
    with WorkerPolicy(source, WorkerLimits(max_restarts=0), name="p") as policy, refused:
        policy.reset("x")
    builtin = {"kind": "builtin", "name": "random", "action_space": "ee_delta", "seed": 0}
    with WorkerPolicy(builtin, WorkerLimits(), name="random") as policy:
        policy.reset("x")
        assert policy.act({"images": {}, "state": np.zeros(15, np.float32), "instruction": "x"}).shape == (7,)


LINGERING_POLICY = """
import subprocess, sys


class Lingering:
    def reset(self, instruction):
        sleeper = [sys.executable, "-c", "import time; time.sleep(120)", MARKER]
        subprocess.Popen(sleeper, start_new_session=True)

    def act(self, observation):
        return [0.0] * 7


def make():
    return Lingering()
"""

KILLED_EVALUATOR = """
import sys, time
from benchmark.policies.worker import WorkerLimits, WorkerPolicy

policy = WorkerPolicy({"kind": "entrypoint", "entry": "lingering:make", "code": sys.argv[1]}, WorkerLimits())
policy.reset("x")
print("ready", flush=True)
time.sleep(300)
"""


def test_nothing_outlives_a_killed_evaluator(tmp_path):
    """``kill -9`` of the evaluator takes its sandboxed worker and everything the worker started."""
    _need_sandbox()
    import signal

    marker = f"twinarena-lingering-{os.getpid()}-{time.monotonic_ns()}"
    folder = tmp_path / "lingering"
    folder.mkdir()
    (folder / "lingering.py").write_text(f"MARKER = {marker!r}\n" + LINGERING_POLICY)
    evaluator = subprocess.Popen(
        [sys.executable, "-c", KILLED_EVALUATOR, str(folder)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert evaluator.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + 10  # on a loaded machine the sleeper may take a moment to show
    while not any(_cmdline_has(p, marker) for p in Path("/proc").iterdir() if p.name.isdigit()):
        assert time.monotonic() < deadline, "the policy's lingering process never started"
        time.sleep(0.05)
    evaluator.send_signal(signal.SIGKILL)
    evaluator.wait()
    for _ in range(50):  # the kernel reaps the namespace's processes asynchronously
        left = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _cmdline_has(p, marker)]
        if not left:
            break
        time.sleep(0.1)
    assert left == [], "a process of the sandbox outlived the killed evaluator"
