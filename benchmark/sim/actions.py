"""Action spaces the controllers execute, and the check that an action belongs to one.

The three spaces (the conventions of ``docs/policies.md``): ``ee_delta`` (Bridge/SIMPLER, LIBERO), 7
numbers: TCP translation (m) and a world-frame rotation vector (rad) to add to the commanded TCP
target, then the gripper (0 open, 1 closed); ``joint_position`` (ALOHA), 8 numbers: the seven arm
joint targets (rad) and the gripper; ``joint_velocity`` (DROID), 8 numbers: the seven arm joint
velocities (rad/s, integrated into joint targets at the control rate) and the gripper.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "ACTION_SPACES",
    "ACTION_SPACE_DIMS",
    "BOUND_SLACK",
    "EE_DELTA",
    "JOINT_POSITION",
    "JOINT_VELOCITY",
    "ActionSpace",
    "action_problem",
]


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
JOINT_VELOCITY = ActionSpace(
    "joint_velocity",
    low=(-2.175, -2.175, -2.175, -2.175, -2.61, -2.61, -2.61, 0.0),
    high=(2.175, 2.175, 2.175, 2.175, 2.61, 2.61, 2.61, 1.0),
    description="seven arm joint velocities (rad/s, the Panda's limits), gripper (0 open, 1 closed)",
)
ACTION_SPACES = {space.name: space for space in (EE_DELTA, JOINT_POSITION, JOINT_VELOCITY)}
ACTION_SPACE_DIMS = {name: space.dim for name, space in ACTION_SPACES.items()}
BOUND_SLACK = 1e-6  # actions this far outside the bounds still count as inside


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
