"""Submitting a policy: validate it in a worker, hash it, keep a copy, register it in the store.

A submission that fails validation is registered too, as ``failed`` with the reason, so the
record of what was tried survives; the caller gets a :class:`SubmissionError` naming it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from benchmark.errors import SubmissionError
from benchmark.policies.conventions import EXTERIOR, WRIST, AdaptedPolicy, convention_of
from benchmark.policies.loaders import policy_info, remote_info, resolve
from benchmark.policies.protocol import ACTION_SPACES, PolicyInfo, action_problem
from benchmark.policies.worker import WorkerLimits, WorkerPolicy
from twin.scene.builder import ROBOT_PREFIX
from twin.scene.robot import FINGER_OPEN, HOME_QPOS, WRIST_CAMERA

PROBE_CAMERA = "front"
PROBE_WRIST = ROBOT_PREFIX + WRIST_CAMERA
PROBE_BASE = (np.array([-0.5, 0.0, 0.0]), np.eye(3))  # the robot base's pose in the probe's world


@dataclass(frozen=True)
class Validation:
    """What the probe saw: the action's shape, the chunk length and the answer time."""

    action_shape: tuple[int, ...]
    chunk: int
    first_answer_ms: float


def probe_observation(info: PolicyInfo, seed: int = 0) -> dict[str, Any]:
    """A plausible observation for ``info``: a noise image per camera, the arm at home with the
    gripper open (the TCP position and quaternion roughly where home puts them)."""
    rng = np.random.default_rng(seed)
    convention = convention_of(info)
    width, height = convention.image_size if convention else info.image_size
    cameras = (PROBE_CAMERA, PROBE_WRIST) if convention else (info.cameras or (PROBE_CAMERA,))
    images = {c: rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for c in cameras}
    state = np.zeros(15, np.float32)
    state[:7] = HOME_QPOS
    state[7] = 2 * FINGER_OPEN
    state[8:11] = (0.3, 0.0, 0.4)
    state[11] = 1.0
    return {"images": images, "state": state, "instruction": "put the red cube in the blue tray"}


def check_probe_answer(answer: Any, action_space: str) -> tuple[tuple[int, ...], int]:
    """``(shape, chunk length)`` of a valid answer: one action or a chunk ``[H, dim]``, each
    action passing :func:`~benchmark.policies.protocol.action_problem`; else :class:`SubmissionError`."""
    space = ACTION_SPACES[action_space]
    array = np.asarray(answer, dtype=float)
    if array.ndim not in (1, 2) or array.shape[-1] != space.dim or array.size == 0:
        raise SubmissionError(
            f"its action has shape {array.shape}; {action_space} needs ({space.dim},) or (H, {space.dim})"
        )
    rows = array.reshape(-1, space.dim)
    for i, row in enumerate(rows):
        problem = action_problem(row, space)
        if problem is not None:
            where = f" (row {i} of the chunk)" if array.ndim == 2 else ""
            raise SubmissionError(f"its action is invalid{where}: {problem}")
    return tuple(array.shape), len(rows) if array.ndim == 2 else 1


def validate(policy, info: PolicyInfo) -> Validation:
    """Reset ``policy`` and ask it for one action on a probe observation made for ``info`` (in the
    layout of the convention it names, its answer mapped back)."""
    convention = convention_of(info)
    if convention is not None:
        policy = AdaptedPolicy(
            policy, convention, cameras={EXTERIOR: PROBE_CAMERA, WRIST: PROBE_WRIST}, base=PROBE_BASE
        )
    try:
        policy.reset("validation")
        start = time.perf_counter()
        answer = policy.act(probe_observation(info))
        ms = (time.perf_counter() - start) * 1000
    except Exception as err:
        raise SubmissionError(str(err)) from None
    shape, chunk = check_probe_answer(answer, convention.action_space if convention else info.action_space)
    return Validation(shape, chunk, round(ms, 2))


def submit(
    spec: str, name: str, store, overrides: dict[str, Any] | None = None, limits: WorkerLimits | None = None
):
    """Validate, hash, copy and register ``spec`` under ``name``; returns ``(record, validation)``.

    A submission that fails validation is registered as ``failed`` with the reason, and
    :class:`SubmissionError` says why."""
    if store.get_policy(name) is not None:
        raise SubmissionError(f"a policy named {name!r} is already registered; choose another name")
    source = resolve(spec, store)
    if source.kind == "builtin":
        raise SubmissionError(f"{spec!r} is a built-in policy; it needs no submission")
    extra: dict[str, Any] = {"spec": spec}
    if source.kind == "remote":
        from benchmark.policies.remote import RemotePolicy

        try:
            policy = RemotePolicy(source.detail["uri"])
        except Exception as err:
            raise SubmissionError(str(err)) from None
        info = remote_info(policy.metadata, name)
        sha = artefact = None
        extra["uri"] = source.detail["uri"]
    else:
        info = policy_info(source, name)
        sha, artefact = store.put_artefact(source.path)
        if source.kind == "entrypoint":
            extra["entry"] = source.detail["entry"]
        policy = WorkerPolicy(source.detail, limits or WorkerLimits(), name=name)
    values = {k: v for k, v in (overrides or {}).items() if v is not None}
    merged = {**info.to_dict(), **values, "name": name, "extra": {**info.extra, **extra}}
    with policy:
        info = PolicyInfo.from_dict(merged, where=f"{spec} metadata")
        try:
            report = validate(policy, info)
        except SubmissionError as err:
            store.add_policy(info, sha, artefact)
            store.mark_policy_failed(name, str(err))
            raise SubmissionError(f"{spec}: {err}") from None
    info = replace(info, extra={**info.extra, "chunk": report.chunk, "probe_ms": report.first_answer_ms})
    return store.add_policy(info, sha, artefact), report
