"""The policy protocol (``docs/policies.md``) and what a submission says about itself.

A policy is anything with ``reset(instruction)`` and ``act(observation) -> action``:

- ``observation``: ``images`` (camera name → H×W×3 uint8), ``state`` (float32 proprioception,
  15 numbers: 7 arm joints, finger opening, TCP position and quaternion) and ``instruction``;
- ``action``: one action of the action space (:mod:`benchmark.sim.actions`: ``ee_delta`` or
  ``joint_position``), or a chunk of them as a 2-D array ``[H, dim]`` that the runner plays out
  before asking again.

What can go wrong is raised as the errors of :mod:`benchmark.errors`: ``PolicyTimeout``,
``InvalidAnswer`` or any other exception; the episode runner turns each into a termination reason.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Protocol, runtime_checkable

import numpy as np

from benchmark.errors import SubmissionError
from benchmark.sim.actions import (  # noqa: F401 (part of the protocol)
    ACTION_SPACE_DIMS,
    ACTION_SPACES,
    BOUND_SLACK,
    EE_DELTA,
    JOINT_POSITION,
    ActionSpace,
    action_problem,
)
from benchmark.text import name_problem

SUBMISSION_KINDS = ("builtin", "weights", "torchscript", "entrypoint", "remote")
LICENCE_DEFAULT = "unspecified"


@runtime_checkable
class Policy(Protocol):
    """The one protocol every policy implements."""

    def reset(self, instruction: str) -> None: ...

    def act(self, observation: dict[str, Any]) -> np.ndarray: ...


@dataclass(frozen=True)
class PolicyInfo:
    """What a policy expects of the environment, and who it belongs to.

    ``cameras`` empty means every static camera of the twin; ``image_size`` is (width, height);
    ``control_hz`` None means the twin's rate.
    """

    name: str
    kind: str = "builtin"
    action_space: str = "ee_delta"
    cameras: tuple[str, ...] = ()
    image_size: tuple[int, int] = (224, 224)
    control_hz: float | None = None
    licence: str = LICENCE_DEFAULT
    owner: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        check_info(self)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["cameras"] = list(self.cameras)
        data["image_size"] = list(self.image_size)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "policy metadata") -> PolicyInfo:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SubmissionError(f"{where}: unknown field(s) {unknown}; known: {sorted(known)}")
        values = dict(data)
        if "cameras" in values:
            values["cameras"] = tuple(values["cameras"])
        if "image_size" in values:
            values["image_size"] = tuple(values["image_size"])
        try:
            return cls(**values)
        except SubmissionError as err:
            raise SubmissionError(f"{where}: {err}") from None
        except TypeError as err:
            raise SubmissionError(f"{where}: {err}") from None


def check_info(info: PolicyInfo) -> None:
    """Raise :class:`SubmissionError` naming the first field of ``info`` that is wrong."""
    problem = name_problem(info.name, "policy name")
    if problem is not None:
        raise SubmissionError(problem)
    if info.kind not in SUBMISSION_KINDS:
        raise SubmissionError(f"kind {info.kind!r} is not one of {', '.join(SUBMISSION_KINDS)}")
    if info.action_space not in ACTION_SPACE_DIMS:
        raise SubmissionError(
            f"action space {info.action_space!r} is not one of {', '.join(ACTION_SPACE_DIMS)}"
        )
    size = info.image_size
    if len(size) != 2 or not all(isinstance(v, int) and 16 <= v <= 1024 for v in size):
        raise SubmissionError(f"image size {size!r} must be two integers (width, height) in 16..1024")
    if not all(isinstance(c, str) and c for c in info.cameras):
        raise SubmissionError(f"cameras {info.cameras!r} must be non-empty names")
    if info.control_hz is not None and not (0 < float(info.control_hz) <= 1000):
        raise SubmissionError(f"control rate {info.control_hz!r} Hz must be in (0, 1000]")
