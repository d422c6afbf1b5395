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
from benchmark.loaders import load_policy, policy_info, remote_info, resolve
from benchmark.protocol import ACTION_SPACE_DIMS, PolicyInfo
from benchmark.sim.control import ACTION_SPACES
from benchmark.worker import WorkerLimits

PROBE_CAMERA = "front"


@dataclass(frozen=True)
class Validation:
    """What the probe saw: the action's shape, the chunk length and the answer time."""

    action_shape: tuple[int, ...]
    chunk: int
    first_answer_ms: float


def probe_observation(info: PolicyInfo, seed: int = 0) -> dict[str, Any]:
    """A plausible observation for ``info``: a noise image per camera, the home-ish state."""
    rng = np.random.default_rng(seed)
    width, height = info.image_size
    cameras = info.cameras or (PROBE_CAMERA,)
    images = {c: rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for c in cameras}
    state = np.zeros(15, np.float32)
    state[[1, 3, 5, 6]] = (-0.3, -2.2, 2.0, 0.8)
    state[7] = 0.08
    state[8:11] = (0.3, 0.0, 0.4)
    state[11] = 1.0
    return {"images": images, "state": state, "instruction": "put the red cube in the blue tray"}


def check_probe_answer(answer: Any, action_space: str) -> tuple[tuple[int, ...], int]:
    """``(shape, chunk length)`` of a valid answer; :class:`SubmissionError` saying what is wrong."""
    array = np.asarray(answer, dtype=float)
    dim = ACTION_SPACE_DIMS[action_space]
    if array.ndim not in (1, 2) or array.shape[-1] != dim or array.size == 0:
        raise SubmissionError(
            f"its action has shape {array.shape}; {action_space} needs ({dim},) or (H, {dim})"
        )
    if not np.all(np.isfinite(array)):
        raise SubmissionError("its action holds NaN or inf")
    space = ACTION_SPACES[action_space]
    if np.any(array < np.asarray(space.low) - 1e-6) or np.any(array > np.asarray(space.high) + 1e-6):
        raise SubmissionError(f"its action is outside the {action_space} bounds")
    return tuple(array.shape), 1 if array.ndim == 1 else int(array.shape[0])


def validate(spec: str, info: PolicyInfo, limits: WorkerLimits | None = None) -> Validation:
    """Load ``spec`` in a worker (or connect to it), reset it and ask for one action."""
    policy, _ = load_policy(spec, limits=limits or WorkerLimits(), name=info.name)
    try:
        policy.reset("validation")
        start = time.perf_counter()
        answer = policy.act(probe_observation(info))
        ms = (time.perf_counter() - start) * 1000
    except SubmissionError:
        raise
    except Exception as err:
        raise SubmissionError(str(err)) from None
    finally:
        policy.close()
    shape, chunk = check_probe_answer(answer, info.action_space)
    return Validation(shape, chunk, round(ms, 2))


def submit(
    spec: str, name: str, store, overrides: dict[str, Any] | None = None, limits: WorkerLimits | None = None
):
    """Validate, hash, copy and register ``spec`` under ``name``; returns ``(record, validation)``.

    A submission that fails validation is registered as ``failed`` with the reason, and
    :class:`SubmissionError` says why."""
    if store.get_policy(name) is not None:
        raise SubmissionError(f"a policy named {name!r} is already registered; choose another name")
    source = resolve(spec)
    if source.kind == "builtin":
        raise SubmissionError(f"{spec!r} is a built-in policy; it needs no submission")
    extra: dict[str, Any] = {"spec": spec}
    if source.kind == "remote":
        from benchmark.remote import RemotePolicy

        with RemotePolicy(source.detail["uri"]) as remote:
            info = remote_info(remote.metadata, name)
        sha = artefact = None
        extra["uri"] = source.detail["uri"]
    else:
        info = policy_info(source, name)
        sha, artefact = store.put_artefact(source.path)
        if source.kind == "entrypoint":
            extra["entry"] = source.detail["entry"]
    values = {k: v for k, v in (overrides or {}).items() if v is not None}
    merged = {**info.to_dict(), **values, "name": name, "extra": {**info.extra, **extra}}
    info = PolicyInfo.from_dict(merged, where=f"{spec} metadata")
    try:
        report = validate(spec, info, limits)
    except SubmissionError as err:
        store.add_policy(info, sha, artefact)
        store.mark_policy_failed(name, str(err))
        raise SubmissionError(f"{spec}: {err}") from None
    info = replace(info, extra={**info.extra, "chunk": report.chunk, "probe_ms": report.first_answer_ms})
    return store.add_policy(info, sha, artefact), report
