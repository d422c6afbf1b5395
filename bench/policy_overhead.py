"""Per-step cost of the policy boundaries, with 224×224 images: in the evaluator's process, in a
worker process (pipe + msgpack), in a worker inside the sandbox (a submitted entry point: bubblewrap
namespaces, as every submission runs), over the openpi websocket protocol on loopback, both (a
server relaying to a worker), and through the DROID convention's adapter (our observation to
DROID's keys, its [10, 8] joint-velocity chunk back) in process. The policy itself does nothing,
so the numbers are the overhead.

    python bench/policy_overhead.py [--steps 300] [--cameras 2]

Prints JSON: median and p95 milliseconds per step for each path, and the overhead over the
in-process call.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from benchmark.policies.builtin import RandomPolicy
from benchmark.policies.conventions import DROID, AdaptedPolicy
from benchmark.policies.remote import RemotePolicy, running_server
from benchmark.policies.worker import WorkerLimits, WorkerPolicy

IDLE_POLICY = """
import numpy as np


class Idle:
    def reset(self, instruction):
        pass

    def act(self, observation):
        return np.zeros(7, np.float32)


def make():
    return Idle()
"""


class IdleDroid:
    """A DROID-convention policy that reads its keys and answers a still [10, 8] chunk."""

    def reset(self, instruction):
        pass

    def act(self, observation):
        assert observation["observation/exterior_image_1_left"].shape == (224, 224, 3)
        return np.zeros((10, 8), np.float32)


def droid_adapted(names: list[str]) -> AdaptedPolicy:
    """:class:`IdleDroid` behind the DROID adapter, in a stand-in for the environment it reads."""
    world = SimpleNamespace(base_pose=lambda: (np.array([-0.5, 0.0, 0.0]), np.eye(3)))
    env = SimpleNamespace(scenario=SimpleNamespace(cameras=[names[0], "robot/wrist"], world=world))
    return AdaptedPolicy(IdleDroid(), DROID, env)


def observation(cameras: int, size: int = 224) -> dict:
    rng = np.random.default_rng(0)
    names = ["front", "wrist", "side", "top"][:cameras]
    return {
        "images": {n: rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for n in names},
        "state": rng.normal(size=15).astype(np.float32),
        "instruction": "put the red cube in the blue tray",
    }


def time_steps(policy, obs: dict, steps: int, warmup: int = 20) -> dict:
    policy.reset(obs["instruction"])
    for _ in range(warmup):
        policy.act(obs)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        policy.act(obs)
        times.append((time.perf_counter() - start) * 1000)
    return {
        "median_ms": round(float(np.median(times)), 3),
        "p95_ms": round(float(np.percentile(times, 95)), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--cameras", type=int, default=2)
    args = parser.parse_args()
    obs = observation(args.cameras)
    metadata = {"name": "random", "action_space": "ee_delta", "action_dim": 7}
    results = {"in_process": time_steps(RandomPolicy(), obs, args.steps)}
    with WorkerPolicy({"kind": "builtin", "name": "random"}, WorkerLimits(), name="random") as worker:
        results["worker_process"] = time_steps(worker, obs, args.steps)
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "idle.py").write_text(IDLE_POLICY)
        source = {"kind": "entrypoint", "entry": "idle:make", "code": folder}
        with WorkerPolicy(source, WorkerLimits(), name="idle") as worker:
            results["sandboxed_worker"] = time_steps(worker, obs, args.steps)
    with running_server(RandomPolicy(), metadata) as port, RemotePolicy(("127.0.0.1", port)) as remote:
        results["websocket"] = time_steps(remote, obs, args.steps)
    with (
        WorkerPolicy({"kind": "builtin", "name": "random"}, WorkerLimits(), name="random") as worker,
        running_server(worker, metadata) as port,
        RemotePolicy(("127.0.0.1", port)) as remote,
    ):
        results["websocket_to_worker"] = time_steps(remote, obs, args.steps)
    droid_obs = {**obs, "images": {"front": obs["images"]["front"], "robot/wrist": obs["images"]["front"]}}
    results["droid_adapter_in_process"] = time_steps(droid_adapted(["front"]), droid_obs, args.steps)
    base = results["in_process"]["median_ms"]
    for row in results.values():
        row["overhead_ms"] = round(row["median_ms"] - base, 3)
    image_bytes = sum(im.nbytes for im in obs["images"].values())
    report = {"cameras": args.cameras, "image_size": [224, 224], "observation_bytes": image_bytes, **results}
    json.dump(report, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
