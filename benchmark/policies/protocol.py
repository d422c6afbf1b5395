"""The policy protocol (``../shared/DESIGN.md``) and what a submission says about itself.

A policy is anything with ``reset(instruction)`` and ``act(observation) -> action``:

- ``observation``: ``images`` (camera name → H×W×3 uint8), ``state`` (float32 proprioception,
  15 numbers: 7 arm joints, finger opening, TCP position and quaternion) and ``instruction``;
- ``action``: one action of the action space, or a chunk of them as a 2-D array ``[H, dim]``
  that the runner plays out before asking again. The two spaces (DESIGN's conventions):
  ``ee_delta`` (Bridge/SIMPLER), 7 numbers: TCP translation (m) and a world-frame rotation vector
  (rad) to add to the commanded TCP target, then the gripper (0 open, 1 closed);
  ``joint_position`` (DROID), 8 numbers: the seven arm joint targets (rad) and the gripper.

What can go wrong is raised as the errors of :mod:`benchmark.errors`: ``PolicyTimeout``,
``InvalidAnswer`` or any other exception; the episode runner turns each into a termination reason.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Protocol, runtime_checkable

import numpy as np

from benchmark.errors import SubmissionError


@dataclass(frozen=True)
class ActionSpace:
    """Name, size and bounds of an action space."""

    name: str
    low: tuple[float, ...]
    high: tuple[float, ...]
    description: str

    @property
    def dim(self) -> int:
        return len(self.low)


EE_DELTA = ActionSpace(
    "ee_delta",
    low=(-0.05, -0.05, -0.05, -0.3, -0.3, -0.3, 0.0),
    high=(0.05, 0.05, 0.05, 0.3, 0.3, 0.3, 1.0),
    description="TCP delta xyz (m), world-frame rotation vector (rad), gripper (0 open, 1 closed)",
)
JOINT_POSITION = ActionSpace(
    "joint_position",
    low=(-2.9671, -1.8326, -2.9671, -3.1416, -2.9671, -0.0873, -2.9671, 0.0),
    high=(2.9671, 1.8326, 2.9671, 0.0, 2.9671, 3.8223, 2.9671, 1.0),
    description="seven arm joint targets (rad), gripper (0 open, 1 closed)",
)
ACTION_SPACES = {space.name: space for space in (EE_DELTA, JOINT_POSITION)}
ACTION_SPACE_DIMS = {name: space.dim for name, space in ACTION_SPACES.items()}
BOUND_SLACK = 1e-6  # actions this far outside the bounds still count as inside

SUBMISSION_KINDS = ("builtin", "weights", "torchscript", "entrypoint", "remote")
LICENCE_DEFAULT = "unspecified"


def action_problem(action: Any, space: ActionSpace) -> str | None:
    """Why ``action`` is not one action of ``space`` (not numeric, shape, NaN or inf, out of
    bounds), or None."""
    try:
        a = np.asarray(action, dtype=float)
    except (TypeError, ValueError):
        return f"not numeric ({type(action).__name__})"
    if a.shape != (space.dim,):
        return f"shape {a.shape}, expected ({space.dim},) for {space.name}"
    if not np.all(np.isfinite(a)):
        return f"non-finite values (NaN or inf) at {np.flatnonzero(~np.isfinite(a)).tolist()}"
    outside = (a < np.asarray(space.low) - BOUND_SLACK) | (a > np.asarray(space.high) + BOUND_SLACK)
    if outside.any():
        return f"outside the {space.name} bounds at {np.flatnonzero(outside).tolist()}"
    return None


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
    if not isinstance(info.name, str) or not info.name.strip():
        raise SubmissionError("the policy needs a non-empty name")
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
