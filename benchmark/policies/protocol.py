"""The policy protocol (``docs/policies.md``) and what a submission says about itself.

A policy is anything with ``reset(instruction)`` and ``act(observation) -> action``:

- ``observation``: ``images`` (camera name → H×W×3 uint8), ``state`` (float32 proprioception,
  15 numbers: 7 arm joints, finger opening, TCP position and quaternion) and ``instruction``;
- ``action``: one action of the action space (:mod:`benchmark.sim.actions`: ``ee_delta``,
  ``joint_position`` or ``joint_velocity``), or a chunk of them as a 2-D array ``[H, dim]`` that
  the runner plays out before asking again.

What can go wrong is raised as the errors of :mod:`benchmark.errors`: ``PolicyTimeout``,
``InvalidAnswer`` or any other exception; the episode runner turns each into a termination reason.
A policy that speaks another convention (openpi's DROID, LIBERO or ALOHA layouts) names it as its
``adapter``; :mod:`benchmark.policies.conventions` translates both ways.
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

# observation and action conventions a policy may speak (benchmark.policies.conventions): our own
# layout, or the one of openpi's DROID, LIBERO or ALOHA servers
ADAPTERS = ("twinarena", "droid", "libero", "aloha")
SUBMISSION_KINDS = ("builtin", "weights", "torchscript", "entrypoint", "remote", "lerobot")
LICENCE_DEFAULT = "unspecified"
MAX_CONTROL_HZ = 1000.0
MAX_TEXT = 200  # characters of a licence or an owner


@runtime_checkable
class Policy(Protocol):
    """The one protocol every policy implements."""

    def reset(self, instruction: str) -> None: ...

    def act(self, observation: dict[str, Any]) -> np.ndarray: ...


@dataclass(frozen=True)
class PolicyInfo:
    """What a policy expects of the environment, and who it belongs to.

    ``cameras`` empty means every static camera of the twin; ``image_size`` is (width, height);
    ``control_hz`` None means the twin's rate (or the adapter's). ``adapter`` names the
    observation and action convention the policy speaks (:data:`ADAPTERS`); any but ``twinarena``
    sets the cameras, image size, action space and control rate itself. ``open_loop_horizon``:
    how many actions of each answered chunk are played before the policy is asked again (None: the
    convention's, else the whole chunk).
    """

    name: str
    kind: str = "builtin"
    action_space: str = "ee_delta"
    cameras: tuple[str, ...] = ()
    image_size: tuple[int, int] = (224, 224)
    control_hz: float | None = None
    licence: str = LICENCE_DEFAULT
    owner: str = ""
    adapter: str = "twinarena"
    open_loop_horizon: int | None = None
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
        for key in ("cameras", "image_size"):
            if key in values:
                if not isinstance(values[key], list | tuple):
                    raise SubmissionError(f"{where}: {key} must be a list, got {values[key]!r}")
                values[key] = tuple(values[key])
        if "extra" in values and not isinstance(values["extra"], dict):
            raise SubmissionError(f"{where}: extra must be an object, got {values['extra']!r}")
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
    if not isinstance(info.kind, str) or info.kind not in SUBMISSION_KINDS:
        raise SubmissionError(f"kind {info.kind!r} is not one of {', '.join(SUBMISSION_KINDS)}")
    if not isinstance(info.action_space, str) or info.action_space not in ACTION_SPACE_DIMS:
        raise SubmissionError(
            f"action space {info.action_space!r} is not one of {', '.join(ACTION_SPACE_DIMS)}"
        )
    if not isinstance(info.adapter, str) or info.adapter not in ADAPTERS:
        raise SubmissionError(f"adapter {info.adapter!r} is not one of {', '.join(ADAPTERS)}")
    horizon = info.open_loop_horizon
    if horizon is not None and (isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1):
        raise SubmissionError(f"open-loop horizon {horizon!r} must be null or a positive integer")
    size = info.image_size
    ints = isinstance(size, tuple) and all(isinstance(v, int) and not isinstance(v, bool) for v in size)
    if not ints or len(size) != 2 or not all(16 <= v <= 1024 for v in size):
        raise SubmissionError(f"image size {size!r} must be two integers (width, height) in 16..1024")
    if not isinstance(info.cameras, tuple) or not all(
        name_problem(c, "camera") is None for c in info.cameras
    ):
        raise SubmissionError(f"cameras {info.cameras!r} must be a list of camera names")
    hz = info.control_hz
    if hz is not None and (
        isinstance(hz, bool) or not isinstance(hz, int | float) or not 0 < hz <= MAX_CONTROL_HZ
    ):
        raise SubmissionError(
            f"control rate {hz!r} must be null or a number of Hz in (0, {MAX_CONTROL_HZ:g}]"
        )
    for key in ("licence", "owner"):
        value = getattr(info, key)
        if not isinstance(value, str) or (value and name_problem(value, key, MAX_TEXT) is not None):
            raise SubmissionError(f"{key} {value!r} must be plain text of at most {MAX_TEXT} characters")
