"""Task families: success predicates and progress measures, pure functions over poses.

Each family reads only object poses, object shapes, the TCP position and the gripper opening,
so the same predicate judges a reference world, a twin and a recorded trajectory.

Families:

- ``pick_place``: put ``object`` in or on ``target``. Success: the object's centre lies over the
  target's footprint, it rests no lower than the target's base and no higher than just above
  its top, and the gripper has let go.
- ``push``: push ``object`` into the region marked by ``target``. Success: the object's centre
  lies inside the region's footprint and the object still rests on the table.

Heights are read against the table top (``TaskState.table_top``), never as absolute z, so a scene
is judged alike in any world frame.
- ``stack``: put ``object`` on top of ``target``. Success: the object's centre lies over the
  target's top, its bottom touches the target's top (1.5 cm), the target stands upright, and the
  gripper has let go.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin.scene.builder import object_half_height
from twin.scene.spec import ObjectSpec, TaskSpec
from twin.transforms import quat_to_mat, quat_yaw, rotate_xy

RELEASED_OPENING = 0.025  # finger opening (m) above which the gripper counts as open
LIFT_HEIGHT = 0.05  # metres of lift that count as a full "lifted" stage


@dataclass(frozen=True)
class TaskState:
    """What a task predicate may read: object poses (pos, quat), TCP position, finger opening and
    the height of the table top."""

    positions: dict[str, np.ndarray]
    quats: dict[str, np.ndarray]
    tcp: np.ndarray
    gripper_opening: float
    table_top: float = 0.0


def state_from_world(world) -> TaskState:
    poses = world.object_poses()
    return TaskState(
        positions={k: v.pos for k, v in poses.items()},
        quats={k: v.quat for k, v in poses.items()},
        tcp=world.tcp_pose()[0],
        gripper_opening=world.gripper_opening(),
        table_top=float(world.scene.table.top_z),
    )


def footprint(obj: ObjectSpec) -> np.ndarray:
    """Half extents of the object's footprint in its own x, y."""
    if obj.shape in ("box", "tray", "mesh"):
        return np.array(obj.size[:2])
    return np.array([obj.size[0], obj.size[0]])


def _local_xy(point: np.ndarray, centre: np.ndarray, quat: np.ndarray) -> np.ndarray:
    """``point`` in the frame of a body at ``centre`` with heading ``quat`` (xy only)."""
    return rotate_xy(np.asarray(point[:2]) - np.asarray(centre[:2]), -quat_yaw(quat))


def _inside(point, centre, quat, half, margin=0.0) -> bool:
    return bool(np.all(np.abs(_local_xy(point, centre, quat)) <= half - margin))


def _upright(quat: np.ndarray, tolerance_deg: float = 20.0) -> bool:
    return bool(quat_to_mat(quat)[2, 2] >= np.cos(np.radians(tolerance_deg)))


def is_success(task: TaskSpec, objects: dict[str, ObjectSpec], state: TaskState) -> bool:
    """The task's success predicate."""
    obj, target = objects[task.object], objects[task.target]
    p, q = state.positions[task.object], state.quats[task.object]
    tp, tq = state.positions[task.target], state.quats[task.target]
    released = state.gripper_opening >= RELEASED_OPENING
    if task.family == "push":
        resting = abs(p[2] - state.table_top - object_half_height(obj)) < 0.01 and _upright(q)
        return _inside(p, tp, tq, footprint(target)) and resting
    target_top = tp[2] + object_half_height(target)
    bottom = p[2] - object_half_height(obj)
    if task.family == "pick_place":
        over = _inside(p, tp, tq, footprint(target), margin=0.005)
        height_ok = tp[2] - object_half_height(target) - 0.005 <= bottom <= target_top + 0.01
        return over and height_ok and released
    if task.family == "stack":
        over = _inside(p, tp, tq, footprint(target))
        touching = abs(bottom - target_top) < 0.015
        return over and touching and _upright(tq) and released
    raise ValueError(f"unknown task family {task.family!r}")


def progress(task: TaskSpec, objects: dict[str, ObjectSpec], state: TaskState, initial: TaskState) -> float:
    """A progress measure in [0, 1]: 1 on success, else a weighted sum of staged sub-goals.

    Stages: reaching (TCP to object, relative to the start), lifting (pick families only),
    and bringing the object to the target (xy distance, relative to the start).
    """
    if is_success(task, objects, state):
        return 1.0
    p, tp = state.positions[task.object], state.positions[task.target]

    def closer(now: float, start: float) -> float:
        return float(np.clip(1.0 - now / max(start, 1e-6), 0.0, 1.0))

    reach = closer(
        np.linalg.norm(state.tcp - p), np.linalg.norm(initial.tcp - initial.positions[task.object])
    )
    bring = closer(
        np.linalg.norm(p[:2] - tp[:2]),
        np.linalg.norm(initial.positions[task.object][:2] - initial.positions[task.target][:2]),
    )
    if task.family == "push":
        return float(np.clip(0.2 * reach + 0.75 * bring, 0.0, 0.95))
    lift = float(np.clip((p[2] - initial.positions[task.object][2]) / LIFT_HEIGHT, 0.0, 1.0))
    return float(np.clip(0.2 * reach + 0.2 * max(lift, bring) + 0.55 * bring, 0.0, 0.95))
