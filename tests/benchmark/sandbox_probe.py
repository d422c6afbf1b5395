"""Hostile submissions against the sandbox, run as a script (by tests/benchmark/test_sandbox.py,
as root and as an unprivileged user): ``python sandbox_probe.py CONFIG.json [--unconfined]``
prints one JSON object, probe → ``"blocked"`` or ``"LEAK: …"``. ``--unconfined`` runs the same
probes in a worker without the sandbox, to show that they find what they look for.

CONFIG: {"folder": where to write the policy, "planted": a file beside the store, "store": the
store's folder, "secret": a value in the evaluator's environment, "port": a TCP listener,
"socket": a unix socket listener, "marker": a word the orphan probe puts in its command line}.
"""

from __future__ import annotations

import json
import socket
import sys
import textwrap
from pathlib import Path

import numpy as np

PROBES = ("read_planted", "environment", "see_evaluator", "write_outside", "unix_socket", "tcp", "big_tmp",
          "orphan", "new_namespace", "trace")  # fmt: skip

POLICY = """
import os, socket, subprocess, sys
from pathlib import Path

import numpy as np

CONFIG = {config!r}


def leak(what):
    raise RuntimeError("LEAK: " + what)


def read_planted():
    try:
        text = open(CONFIG["planted"]).read()
    except OSError:
        return
    leak("read the planted file: " + text[:20])


def environment():
    if CONFIG["secret"] in repr(dict(os.environ)):
        leak("the secret is in its environment")
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if CONFIG["secret"].encode() in open(f"/proc/{{pid}}/environ", "rb").read():
                    leak(f"the secret is in /proc/{{pid}}/environ")
            except OSError:
                pass


def see_evaluator():
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                line = open(f"/proc/{{pid}}/cmdline", "rb").read()
            except OSError:
                continue
            if b"sandbox_probe" in line or b"pytest" in line:
                leak(f"sees the evaluator as pid {{pid}}")
    try:
        os.kill(CONFIG["evaluator_pid"], 0)
    except OSError:
        return
    leak("can signal the evaluator's pid")


def write_outside():
    for target in (Path(CONFIG["store"]) / "planted-by-policy", Path(CONFIG["folder"]) / "x"):
        try:
            target.write_text("x")
        except OSError:
            continue
        leak(f"wrote {{target}}")


def unix_socket():
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(CONFIG["socket"])
    except OSError:
        return
    leak("connected to the unix socket")


def tcp():
    try:
        socket.create_connection(("127.0.0.1", CONFIG["port"]), timeout=2).close()
    except OSError:
        return
    leak("connected over TCP")


def big_tmp():
    chunk = b"x" * (1 << 20)
    try:
        with open("/tmp/big", "wb") as f:
            for _ in range(400):
                f.write(chunk)
    except OSError:
        return
    leak("wrote 400 MiB into its temporary folder")


def orphan():
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", CONFIG["marker"]],
                     start_new_session=True)


def new_namespace():
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(0x10000000 | 0x00020000) == 0:  # CLONE_NEWUSER | CLONE_NEWNS: a way out
        leak("created a user and mount namespace")


def trace():
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    child = os.fork()
    if child == 0:
        import time

        time.sleep(5)
        os._exit(0)
    try:
        if libc.ptrace(16, child, None, None) == 0:  # PTRACE_ATTACH
            leak("attached to a process with ptrace")
    finally:
        os.kill(child, 9)
        os.waitpid(child, 0)


class Policy:
    def reset(self, instruction):
        self.probe = instruction

    def act(self, observation):
        globals()[self.probe]()
        return np.zeros(7)


def make():
    return Policy()
"""


def main() -> None:
    from benchmark.errors import PolicyError
    from benchmark.policies.worker import WorkerLimits, WorkerPolicy

    config = json.loads(Path(sys.argv[1]).read_text())
    if "--unconfined" in sys.argv:  # the same probes without the sandbox: they must find leaks
        from benchmark.policies import sandbox

        sandbox.sandboxed = lambda argv, *args, **kwargs: argv
        sandbox.with_rlimits = lambda argv, limits: argv
    folder = Path(config["folder"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "hostile.py").write_text(textwrap.dedent(POLICY.format(config=config)))
    (folder / "policy.json").write_text(json.dumps({"entry": "hostile:make"}))
    source = {"kind": "entrypoint", "entry": "hostile:make", "code": str(folder)}
    limits = WorkerLimits(
        memory_bytes=2 << 30, step_timeout=20.0, load_timeout=60.0, max_restarts=len(PROBES)
    )
    observation = {"images": {}, "state": np.zeros(15, np.float32), "instruction": "x"}
    results = {}
    with WorkerPolicy(source, limits, name="hostile") as policy:
        for probe in PROBES:
            try:
                policy.reset(probe)
                policy.act(observation)
                results[probe] = "blocked"
            except PolicyError as err:
                text = str(err)
                results[probe] = text[text.index("LEAK") :] if "LEAK" in text else f"blocked ({text[:160]})"
    print(json.dumps(results))


if __name__ == "__main__":
    socket.setdefaulttimeout(30)
    main()
