"""A scripted expert: waypoint plans from privileged object poses, sent as ``ee_delta`` actions.

The expert reads the simulator state (it is privileged), so it serves to record demonstrations
and as the top of the baseline population, never as a policy under evaluation of vision.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmark.sim.actions import EE_DELTA
from benchmark.sim.tasks import footprint
from twin.scene.builder import object_half_height
from twin.scene.geoms import rectangularity
from twin.scene.spec import TaskSpec
from twin.transforms import axis_angle_to_mat, quat_yaw, rotation_error

OPEN, CLOSED = 0.0, 1.0
ROUND_BELOW = 0.9  # a footprint filling less of its bounding rectangle than this rolls (a disc: 0.785)
DOWN = np.diag([1.0, -1.0, -1.0])  # TCP pointing down, fingers closing along world y at yaw 0


def down_rotation(yaw: float) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]) @ DOWN


def grasp_yaw(object_yaw: float, symmetry: float) -> float:
    """The object's yaw folded by its symmetry into [-symmetry/2, symmetry/2]."""
    return float((object_yaw + symmetry / 2) % symmetry - symmetry / 2)


@dataclass
class Waypoint:
    name: str
    pos: np.ndarray
    yaw: float
    gripper: float
    tolerance: float = 0.008
    hold_steps: int = 0  # steps to stay once reached (for the gripper to act)
    max_steps: int = 60
    speed: float | None = None  # m per step; None: the expert's max_translation
    axis: np.ndarray | None = None  # a push's first direction (set on its first step)


@dataclass(frozen=True)
class ExpertConfig:
    max_translation: float = 0.03  # m per control step
    max_rotation: float = 0.2  # rad per control step
    hover: float = 0.12  # m above the table while carrying
    noise: float = 0.0  # std of Gaussian noise on the translation, m per step


def footprint_rectangularity(world, name: str) -> float:
    """How much of its bounding rectangle object ``name``'s footprint fills in ``world``."""
    return rectangularity(world.object_points(name)[:, :2])


class ScriptedExpert:
    """Implements the policy protocol's ``reset``/``act`` on a :class:`~twin.scene.world.World`."""

    action_space = EE_DELTA.name

    def __init__(self, world, task: TaskSpec, config: ExpertConfig | None = None, seed: int = 0):
        self.world = world
        self.task = task
        self.config = config or ExpertConfig()
        self.objects = {o.name: o for o in (world.scene.objects if world is not None else ())}
        self.table_z = world.scene.table.top_z if world is not None else 0.0  # heights are above it
        self.rng = np.random.default_rng(seed)
        self.plan: list[Waypoint] = []
        self.rectangularity: dict[str, float] = {}  # footprints measured (a vision expert's: at calibration)

    @property
    def done(self) -> bool:
        return not self.plan

    def reset(self, instruction: str = "") -> None:
        self._start()

    def _start(self) -> None:
        """Plan from the current state: the commanded TCP starts where the TCP is."""
        self.cmd_pos, self.cmd_rot = self._tcp_pose()
        self.plan = self._make_plan()
        self._steer = self.task.family == "push" and self._rolls(self.task.object)
        self._held = 0
        self._steps_in_phase = 0
        self._gripper = OPEN

    def _tcp_pose(self) -> tuple[np.ndarray, np.ndarray]:
        return self.world.tcp_pose()

    def _object_frame(self, name: str) -> tuple[np.ndarray, float]:
        """Where object ``name`` is (centre) and its yaw: privileged here, perceived in subclasses."""
        pose = self.world.object_poses()[name]
        return pose.pos, quat_yaw(pose.quat)

    def _make_plan(self) -> list[Waypoint]:
        task, cfg = self.task, self.config
        obj = self.objects[task.object]
        target = self.objects[task.target]
        pos, yaw = self._object_frame(task.object)
        tpos, tyaw = self._object_frame(task.target)
        if task.family == "push":
            return self._push_plan(obj, pos, tpos)
        if obj.shape in ("box", "mesh"):
            symmetry = np.pi / 2
        else:
            symmetry = 2 * np.pi / obj.size[2] if obj.shape == "prism" else np.pi
        gyaw = grasp_yaw(yaw, symmetry)
        grasp_z = max(pos[2], self.table_z + 0.018)
        place_z = tpos[2] + object_half_height(target) + object_half_height(obj) + 0.015
        if task.family == "pick_place" and target.shape in ("tray", "bowl", "cup"):  # open vessels
            place_z = tpos[2] + object_half_height(obj) + 0.03
        hover = max(self.table_z + cfg.hover, place_z + 0.05)
        above = np.array([pos[0], pos[1], hover])
        over_target = np.array([tpos[0], tpos[1], hover])
        return [
            Waypoint("approach", above, gyaw, OPEN, tolerance=0.015),
            Waypoint("descend", np.array([pos[0], pos[1], grasp_z]), gyaw, OPEN, tolerance=0.006),
            Waypoint("grasp", np.array([pos[0], pos[1], grasp_z]), gyaw, CLOSED, hold_steps=6),
            Waypoint("lift", above, gyaw, CLOSED, tolerance=0.015),
            Waypoint("carry", over_target, gyaw, CLOSED, tolerance=0.01),
            Waypoint("lower", np.array([tpos[0], tpos[1], place_z]), gyaw, CLOSED, tolerance=0.006),
            Waypoint("release", np.array([tpos[0], tpos[1], place_z]), gyaw, OPEN, hold_steps=5),
            Waypoint("retreat", over_target + [0, 0, 0.05], gyaw, OPEN, tolerance=0.02),
        ]

    def _rolls(self, name: str) -> bool:
        """Whether object ``name`` rolls off a straight push: cylinders and spheres do, boxes do
        not; a mesh or prism does when its footprint is round (:data:`ROUND_BELOW`), so a box a
        twin could only label ``mesh`` is still pushed as a box."""
        shape = self.objects[name].shape
        if shape in ("box", "cylinder", "sphere"):
            return shape != "box"
        if name not in self.rectangularity:
            self.rectangularity[name] = footprint_rectangularity(self.world, name)
        return self.rectangularity[name] < ROUND_BELOW

    def _push_plan(self, obj, pos: np.ndarray, tpos: np.ndarray) -> list[Waypoint]:
        direction = tpos[:2] - pos[:2]
        distance = np.linalg.norm(direction)
        u = direction / max(distance, 1e-6)
        reach = float(np.max(footprint(obj))) * 1.5 + 0.025
        start = pos[:2] - u * reach
        end = tpos[:2] - u * (reach - 0.02)
        # fingers close along the hand's y axis: put that axis across the push direction
        yaw = grasp_yaw(float(np.arctan2(u[1], u[0])), np.pi)
        z = self.table_z + min(0.025, object_half_height(obj))
        hover = self.table_z + self.config.hover
        return [
            Waypoint("approach", np.array([*start, hover]), yaw, CLOSED, tolerance=0.015),
            Waypoint("lower", np.array([*start, z]), yaw, CLOSED, tolerance=0.006),
            Waypoint("push", np.array([*end, z]), yaw, CLOSED, tolerance=0.008, max_steps=120, speed=0.012),
            Waypoint("retreat", np.array([*end - u * 0.05, hover]), yaw, CLOSED, tolerance=0.02),
        ]

    def _steer_push(self, wp: Waypoint) -> bool:
        """Closed-loop push for round objects, which roll off a straight push: each step, aim
        past the object's far side along object→target. (A box sticks to the fingers and follows
        them, so boxes get the straight, open-loop push that re-aiming would only drag sideways.)

        Returns True once the object's centre is within 1.2 cm of the target's centre, or has
        passed it along the push's first direction.
        """
        pos, _ = self._object_frame(self.task.object)
        tpos, _ = self._object_frame(self.task.target)
        direction = tpos[:2] - pos[:2]
        distance = float(np.linalg.norm(direction))
        u = direction / max(distance, 1e-6)
        if wp.axis is None:
            wp.axis = u
        reach = float(np.max(footprint(self.objects[self.task.object]))) * 1.5 + 0.025
        wp.pos = np.array([*(pos[:2] - u * (reach - 0.03)), wp.pos[2]])
        wp.speed = float(np.clip(0.5 * distance, 0.004, 0.012))
        self.plan[-1].pos = np.array([*(pos[:2] - u * (reach + 0.03)), self.table_z + self.config.hover])
        return distance < 0.012 or float(direction @ wp.axis) < 0.005

    def act(self, observation=None) -> np.ndarray:
        """The next ``ee_delta`` action (7,) toward the current waypoint."""
        cfg = self.config
        if not self.plan:
            return np.array([0, 0, 0, 0, 0, 0, self._gripper], dtype=float)
        wp = self.plan[0]
        tcp, _ = self._tcp_pose()
        reached = np.linalg.norm(tcp - wp.pos) < wp.tolerance
        if wp.name == "push" and self._steer:
            reached = self._steer_push(wp)
        self._steps_in_phase += 1
        if reached or self._steps_in_phase > wp.max_steps:
            self._held += 1
            if self._held > wp.hold_steps:
                self.plan.pop(0)
                self._held = 0
                self._steps_in_phase = 0
                return self.act(observation)
        delta = wp.pos - self.cmd_pos
        norm = np.linalg.norm(delta)
        speed = wp.speed or cfg.max_translation
        if norm > speed:
            delta *= speed / norm
        if cfg.noise > 0:
            delta = delta + self.rng.normal(0.0, cfg.noise, size=3)
        rot = rotation_error(self.cmd_rot, down_rotation(wp.yaw))
        angle = np.linalg.norm(rot)
        if angle > cfg.max_rotation:
            rot *= cfg.max_rotation / angle
        action = np.clip(np.concatenate([delta, rot, [wp.gripper]]), EE_DELTA.low, EE_DELTA.high)
        self.cmd_pos = self.cmd_pos + action[:3]
        self.cmd_rot = axis_angle_to_mat(action[3:6]) @ self.cmd_rot
        self._gripper = wp.gripper
        return action
