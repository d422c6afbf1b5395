"""One episode: a policy rolled out in a :class:`~benchmark.episodes.env.TwinEnv`, judged and recorded.

A policy is anything with ``reset(instruction)`` and ``act(observation) -> action`` (an action,
or a chunk of actions as a 2-D array). The runner catches what a policy can do wrong and ends
the episode with a termination reason instead of failing: an exception (``policy_error``), no
answer within ``step_timeout`` seconds (``policy_timeout``), or an action that is NaN, inf,
mis-shaped or out of bounds (``invalid_action``). A policy may declare ``open_loop_horizon`` (an
int, read after each reset): the runner plays at most that many actions of each chunk before asking
again (None or absent: the whole chunk). An answer that misses ``step_timeout`` ends the episode
and none of its actions are played.

An episode folder::

    <camera>.mp4     one video per camera, at the control rate
    trajectory.npz   actions [T, A], state [T+1, 15], object_poses [T+1, O, 7] (x y z qw qx qy qz),
                     object_names, rewards [T]
    episode.json     scenario (twin, hash, task, perturbations, seed, config) and outcome
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.episodes.env import TwinEnv
from benchmark.errors import InvalidAnswer, PolicyTimeout
from twin.package import check_new_folder, staging_folder
from twin.video import write_mp4


@dataclass
class Outcome:
    """How an episode ended."""

    success: bool
    progress: float
    steps: int
    termination: str
    detail: str = ""
    seconds: float = 0.0
    trace: str = ""  # SHA-256 of what the policy saw and did (identical episodes share it)


@dataclass
class Trajectory:
    actions: list = field(default_factory=list)
    states: list = field(default_factory=list)
    poses: list = field(default_factory=list)
    rewards: list = field(default_factory=list)
    frames: dict = field(default_factory=dict)
    digest: Any = field(default_factory=hashlib.sha256)  # every observation, in order

    def observe(self, obs: dict, info: dict, record_video: bool) -> None:
        self.states.append(np.asarray(obs["state"], dtype=np.float32))
        self.poses.append(np.stack(list(info["object_poses"].values())).astype(np.float32))
        for array in (self.states[-1], self.poses[-1]):
            self.digest.update(array.tobytes())
        for name, image in sorted(obs["images"].items()):
            self.digest.update(name.encode() + b"\0" + np.ascontiguousarray(image).tobytes())
        self.digest.update(str(obs.get("instruction", "")).encode() + b"\0")
        if record_video:
            for name, image in obs["images"].items():
                self.frames.setdefault(name, []).append(image)

    def trace(self, outcome: Outcome) -> str:
        """The episode's fingerprint: its observations, actions and how it ended. Two episodes with
        the same trace are one trial seen twice (the store counts them once)."""
        digest = self.digest.copy()
        for action in self.actions:
            digest.update(np.asarray(action, dtype=np.float32).tobytes())
        digest.update(f"{outcome.termination}:{outcome.steps}:{outcome.success}".encode())
        return digest.hexdigest()


def call_with_timeout(fn, arg, timeout: float | None):
    """``fn(arg)``, raising :class:`PolicyTimeout` after ``timeout`` seconds (None: no limit).

    The call runs on a daemon thread that is abandoned if it hangs: in-process policies are
    trusted code; untrusted ones run in a worker process that can be killed.
    """
    if timeout is None:
        return fn(arg)
    box: dict[str, Any] = {}

    def target():
        try:
            box["value"] = fn(arg)
        except BaseException as err:  # handed to the caller below
            box["error"] = err

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise PolicyTimeout(f"no action within {timeout:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def rollout(env: TwinEnv, policy, seed: int, step_timeout: float | None = None, record_video: bool = True):
    """Run ``policy`` in ``env`` from ``reset(seed)`` to the end; return (outcome, trajectory)."""
    outcome, tape = _roll(env, policy, seed, step_timeout, record_video)
    outcome.trace = tape.trace(outcome)
    return outcome, tape


def _roll(env: TwinEnv, policy, seed: int, step_timeout: float | None, record_video: bool):
    start = time.perf_counter()
    obs, info = env.reset(seed=seed)
    tape = Trajectory()
    tape.observe(obs, info, record_video)
    try:
        policy.reset(obs["instruction"])
    except Exception as err:
        return _end(env, info, _reason(err), f"reset: {_describe(err)}", start), tape
    chunk: deque = deque()
    horizon = getattr(policy, "open_loop_horizon", None)
    while True:
        if not chunk:
            try:
                answer = ask(policy, obs, step_timeout)
            except Exception as err:
                return _end(env, info, _reason(err), _describe(err), start), tape
            chunk.extend(_as_chunk(answer, horizon))
        action = chunk.popleft()
        obs, reward, terminated, truncated, info = env.step(action)
        if info["termination"] == "invalid_action":
            return _end(env, info, "invalid_action", info["invalid_action"], start), tape
        tape.actions.append(np.asarray(action, dtype=np.float32))
        tape.rewards.append(reward)
        tape.observe(obs, info, record_video)
        if terminated or truncated:
            return _end(env, info, info["termination"], "", start), tape


def ask(policy, obs: dict, timeout: float | None):
    """The policy's answer to ``obs``. Policies in another process or machine enforce the time
    limit themselves (``act_within``); the rest are called on a watched thread."""
    act_within = getattr(policy, "act_within", None)
    if act_within is not None:
        return act_within(obs, timeout)
    return call_with_timeout(policy.act, obs, timeout)


def _reason(err: Exception) -> str:
    """The termination reason for an exception out of a policy."""
    if isinstance(err, PolicyTimeout):
        return "policy_timeout"
    if isinstance(err, InvalidAnswer):
        return "invalid_action"
    return "policy_error"


def _describe(err: Exception) -> str:
    """``err`` as the episode records it: our own errors by message, others with their type."""
    if isinstance(err, (PolicyTimeout, InvalidAnswer)) or type(err).__module__.startswith("benchmark"):
        return str(err)
    return f"{type(err).__name__}: {err}"


def _as_chunk(answer, horizon: int | None = None) -> list:
    """A policy's answer as a list of actions: the first ``horizon`` rows (None: all) of a 2-D chunk,
    else the answer itself."""
    try:
        array = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        return [answer]  # the environment names what is wrong with it
    return list(array[: max(1, horizon or len(array))]) if array.ndim == 2 and len(array) > 0 else [answer]


def _end(env: TwinEnv, info: dict, reason: str, detail: str, start: float) -> Outcome:
    success = reason == "success"
    return Outcome(
        success,
        float(1.0 if success else info["progress"]),
        int(info["steps"]),
        reason,
        detail,
        round(time.perf_counter() - start, 3),
    )


def scenario_record(env: TwinEnv, seed: int) -> dict[str, Any]:
    """What identifies the scenario: twin (path and content hash), task, perturbations, seed."""
    c = env.config
    return {
        "twin": str(env.twin.root),
        "twin_hash": env.twin.content_hash,
        "task": env.twin.task["name"],
        "perturbations": {p.axis: p.level for p in c.perturbations},
        "seed": seed,
        "config": {
            "action_space": c.action_space,
            "image_size": list(c.image_size),
            "render": "splat" if env.scenario.renderer.splats else "mesh",
            "backend": c.backend,
            "control_hz": env.scenario.world.scene.physics.control_hz,
        },
        "instruction": env.task.instruction,
    }


def write_episode(
    out: str | Path, env: TwinEnv, seed: int, outcome: Outcome, tape: Trajectory, overwrite: bool = False
) -> Path:
    """Write an episode folder atomically (a crash mid-write leaves nothing half-written)."""
    fps = env.scenario.world.scene.physics.control_hz
    with staging_folder(out, overwrite=overwrite) as stage:
        for name, frames in tape.frames.items():
            write_mp4(stage / f"{name.replace('/', '_')}.mp4", np.stack(frames), fps)
        dim = env.space.dim
        np.savez_compressed(
            stage / "trajectory.npz",
            actions=np.asarray(tape.actions, dtype=np.float32).reshape(-1, dim),
            state=np.stack(tape.states),
            object_poses=np.stack(tape.poses),
            object_names=np.array(list(env.scenario.world.object_names)),
            rewards=np.asarray(tape.rewards, dtype=np.float32),
        )
        record = {"scenario": scenario_record(env, seed), "outcome": asdict(outcome)}
        (stage / "episode.json").write_text(json.dumps(record, indent=1) + "\n")
    return Path(out)


def run_episode(
    env: TwinEnv,
    policy,
    seed: int,
    out: str | Path | None = None,
    step_timeout: float | None = None,
    overwrite: bool = False,
) -> Outcome:
    """Roll out, and write the episode folder when ``out`` is given (an existing ``out`` is refused
    before the rollout, unless ``overwrite``)."""
    if out is not None:
        check_new_folder(out, overwrite)
    outcome, tape = rollout(env, policy, seed, step_timeout, record_video=out is not None)
    if out is not None:
        write_episode(out, env, seed, outcome, tape, overwrite)
    return outcome
