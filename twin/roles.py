"""Which reconstructed object a task is about, and where it should go, without a human.

The demonstration shows it: the robot's tool point closes on the manipulated object and opens
over the target (pick and place, stack), or sweeps the object across the table and stops at the
target (push). Without robot states, colour words in the instruction pick the objects.
Pure functions over object centres, footprints and tracks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from twin.errors import TwinBuildError
from twin.transforms import rotate_xy

FAMILIES = ("pick_place", "push", "stack")
COLOUR_WORDS = {
    "red": (0.8, 0.15, 0.1),
    "orange": (0.95, 0.5, 0.1),
    "yellow": (0.95, 0.85, 0.15),
    "green": (0.2, 0.6, 0.25),
    "blue": (0.15, 0.3, 0.8),
    "purple": (0.5, 0.2, 0.6),
    "white": (0.9, 0.9, 0.9),
    "grey": (0.6, 0.6, 0.62),
    "gray": (0.6, 0.6, 0.62),
    "black": (0.1, 0.1, 0.1),
}


class RoleError(TwinBuildError):
    """The task's object or target could not be told apart; the message says why (the command line
    reports it as one line, exit 2, like every :class:`TwinBuildError`)."""


@dataclass(frozen=True)
class Candidate:
    """What role inference knows of one object: name, kind, centre, heading, half extents, colour."""

    name: str
    kind: str
    center: np.ndarray
    yaw: float
    half_extents: np.ndarray
    color: np.ndarray


def family_from_instruction(instruction: str) -> str:
    """A task family guessed from the instruction's verbs."""
    text = instruction.lower()
    if "push" in text or "slide" in text:
        return "push"
    if "stack" in text or "on top" in text:
        return "stack"
    return "pick_place"


def _inside(candidate: Candidate, xy: np.ndarray) -> bool:
    local = rotate_xy(np.asarray(xy[:2]) - candidate.center[:2], -candidate.yaw)
    return bool(np.all(np.abs(local) <= candidate.half_extents[:2] + 0.01))


def _nearest(candidates: list[Candidate], xy: np.ndarray, exclude: str | None = None) -> Candidate:
    pool = [c for c in candidates if c.name != exclude]
    if not pool:
        raise RoleError("the twin has too few objects for a task with an object and a target")
    return min(pool, key=lambda c: float(np.linalg.norm(c.center[:2] - np.asarray(xy)[:2])))


GRASP_DROP = 0.004  # metres a finger closes from its widest to count as gripping (8 mm of gap)
PUSH_BAND = 0.03  # metres above the track's lowest point that count as the push's stroke


def grasp_and_release(opening: np.ndarray, drop: float = GRASP_DROP) -> tuple[int, int] | None:
    """Frames where the gripper first closes and next opens again. Closed: the fingers stand
    ``drop`` inside the widest opening of the video, at any width, so a wide object held with
    the fingers far apart still counts as grasped."""
    opening = np.asarray(opening, dtype=float)
    if not len(opening):
        return None
    closed = opening < opening.max() - drop
    if closed.all() or not closed.any():
        return None
    start = int(np.argmax(closed))
    after = np.flatnonzero(~closed[start:])
    return (start, start + int(after[0])) if len(after) else (start, len(closed) - 1)


def roles_from_track(
    family: str, candidates: list[Candidate], tcp: np.ndarray, opening: np.ndarray, table_z: float
) -> tuple[str, str]:
    """(object, target) names from the tool-point track ``tcp [T,3]`` and finger ``opening [T]``.
    A push (or a pick whose grasp never shows) is read from the stroke: the part of the track
    within :data:`PUSH_BAND` of its lowest point, however tall the pushed object."""
    solids = [c for c in candidates if c.kind == "solid"]
    if not solids:
        raise RoleError("the twin has no solid object for the robot to move")
    events = grasp_and_release(opening)
    if family != "push" and events is not None:
        grasp, release = events
        obj = _nearest(solids, tcp[grasp])
        over = [c for c in candidates if c.name != obj.name and _inside(c, tcp[release])]
        target = min(over, key=lambda c: c.half_extents[0] * c.half_extents[1]) if over else None
        return obj.name, (target or _nearest(candidates, tcp[release], obj.name)).name
    tallest = max(2 * float(c.half_extents[2]) for c in solids)
    lowest = float(tcp[:, 2].min())
    if lowest > table_z + tallest + 0.1:
        raise RoleError("the robot never comes near the table, so the demonstration shows no task")
    low = tcp[tcp[:, 2] <= lowest + PUSH_BAND]
    distances = {c.name: float(np.min(np.linalg.norm(low[:, :2] - c.center[:2], axis=1))) for c in solids}
    obj = min(solids, key=lambda c: distances[c.name])
    return obj.name, _nearest(candidates, low[-1], obj.name).name


def roles_from_instruction(instruction: str, candidates: list[Candidate]) -> tuple[str, str]:
    """(object, target) from the first two colour words of the instruction, matched by colour."""
    if len(candidates) < 2:
        raise RoleError("the twin has too few objects for a task with an object and a target")
    words = [w for w in re.findall(r"[a-z]+", instruction.lower()) if w in COLOUR_WORDS]
    if len(words) < 2:
        raise RoleError(
            f"instruction {instruction!r} names fewer than two colours and the demonstration has no robot "
            "states, so its object and target cannot be told apart"
        )

    def closest(word: str, exclude: str | None) -> Candidate:
        ref = np.asarray(COLOUR_WORDS[word])
        pool = [c for c in candidates if c.name != exclude]
        return min(pool, key=lambda c: float(np.linalg.norm(c.color - ref)))

    obj = closest(words[0], None)
    return obj.name, closest(words[1], obj.name).name
