"""Controllers for the action spaces, and damped least-squares inverse kinematics.

The action spaces themselves (names, sizes, bounds) are defined in :mod:`benchmark.sim.actions`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmark.sim.actions import (  # noqa: F401 (re-exported)
    ACTION_SPACES,
    EE_DELTA,
    JOINT_POSITION,
    JOINT_VELOCITY,
    ActionSpace,
)
from twin.scene.gl import import_mujoco
from twin.scene.robot import FINGER_OPEN, HOME_QPOS
from twin.transforms import axis_angle_to_mat, rotation_error

mujoco = import_mujoco()

# where the end-effector controller may send the TCP: a box in the robot's base frame (metres; the
# Panda reaches 0.855 m from its shoulder), and never below the table top, in any world frame
BASE_WORKSPACE = ((0.05, -0.45, -0.3), (0.95, 0.45, 0.6))


def damped_pinv(jacobian: np.ndarray, damping: float) -> np.ndarray:
    """Damped least-squares pseudo-inverse ``J^T (J J^T + λ² I)^-1``."""
    jjt = jacobian @ jacobian.T
    return jacobian.T @ np.linalg.inv(jjt + damping**2 * np.eye(jjt.shape[0]))


def dls_step(jacobian: np.ndarray, error: np.ndarray, damping: float) -> np.ndarray:
    """Damped least-squares joint step: ``J^T (J J^T + λ² I)^-1 e``."""
    return damped_pinv(jacobian, damping) @ error


@dataclass(frozen=True)
class IKConfig:
    iterations: int = 10
    damping: float = 0.05
    posture_gain: float = 0.05  # pull toward the home posture in the null space
    tolerance: float = 1e-4


def gripper_to_opening(command: float) -> float:
    """Finger opening (m) of a gripper command in [0 open, 1 closed]."""
    return FINGER_OPEN * (1.0 - float(np.clip(command, 0.0, 1.0)))


class InverseKinematics:
    """Solves arm joints for a TCP pose on a scratch copy of the world's state."""

    def __init__(self, world, config: IKConfig | None = None):
        self.world = world
        self.config = config or IKConfig()
        self.scratch = mujoco.MjData(world.model)
        self.low, self.high = world.arm_range

    def solve(self, target_pos: np.ndarray, target_rot: np.ndarray, q_start: np.ndarray) -> np.ndarray:
        world, cfg, data = self.world, self.config, self.scratch
        data.qpos[:] = world.data.qpos
        q = np.clip(q_start.astype(float).copy(), self.low, self.high)
        jacp = np.zeros((3, world.model.nv))
        jacr = np.zeros((3, world.model.nv))
        for _ in range(cfg.iterations):
            data.qpos[world.arm_qpos] = q
            mujoco.mj_kinematics(world.model, data)
            mujoco.mj_comPos(world.model, data)
            pos = data.site_xpos[world.tcp_site]
            rot = data.site_xmat[world.tcp_site].reshape(3, 3)
            error = np.concatenate([target_pos - pos, rotation_error(rot, target_rot)])
            mujoco.mj_jacSite(world.model, data, jacp, jacr, world.tcp_site)
            jac = np.vstack([jacp[:, world.arm_dof], jacr[:, world.arm_dof]])
            pinv = damped_pinv(jac, cfg.damping)
            # the step toward the target, plus a pull to home in the null space (I - J⁺J)
            posture = cfg.posture_gain * (HOME_QPOS - q)
            dq = pinv @ error + posture - pinv @ (jac @ posture)
            q = np.clip(q + dq, self.low, self.high)
            if np.linalg.norm(error) < cfg.tolerance:
                break
        return q


def clamp_to_workspace(point, base_pos, base_rot, box, floor_z: float) -> np.ndarray:
    """``point`` (world) held inside ``box`` (low, high corners in the base frame of a robot whose
    base is at ``base_pos`` turned by ``base_rot``) and no lower than ``floor_z``."""
    local = np.clip(base_rot.T @ (np.asarray(point, dtype=float) - base_pos), *np.asarray(box, dtype=float))
    out = base_pos + base_rot @ local
    out[2] = max(out[2], floor_z)
    return out


class EEDeltaController:
    """Integrates TCP deltas into a commanded TCP target and tracks it through IK. The target stays
    inside ``workspace`` (a box in the robot's base frame) and above the table top."""

    space = EE_DELTA

    def __init__(self, world, ik: IKConfig | None = None, workspace=BASE_WORKSPACE):
        self.world = world
        self.ik = InverseKinematics(world, ik)
        self.workspace = np.asarray(workspace, dtype=float)
        self.reset()

    def reset(self) -> None:
        self.target_pos, self.target_rot = self.world.tcp_pose()
        self.q_target = self.world.arm_joints()
        self.base_pos, self.base_rot = self.world.base_pose()
        self.floor_z = float(self.world.scene.table.top_z)

    def apply(self, action: np.ndarray) -> None:
        action = np.clip(np.asarray(action, dtype=float), self.space.low, self.space.high)
        self.target_pos = clamp_to_workspace(
            self.target_pos + action[:3], self.base_pos, self.base_rot, self.workspace, self.floor_z
        )
        self.target_rot = axis_angle_to_mat(action[3:6]) @ self.target_rot
        self.q_target = self.ik.solve(self.target_pos, self.target_rot, self.q_target)
        data = self.world.data
        data.ctrl[self.world.arm_ctrl] = self.q_target
        data.ctrl[self.world.gripper_ctrl] = gripper_to_opening(action[6])


class JointPositionController:
    """Sends joint targets straight to the arm's position servos."""

    space = JOINT_POSITION

    def __init__(self, world):
        self.world = world

    def reset(self) -> None:
        pass

    def apply(self, action: np.ndarray) -> None:
        action = np.clip(np.asarray(action, dtype=float), self.space.low, self.space.high)
        data = self.world.data
        data.ctrl[self.world.arm_ctrl] = action[:7]
        data.ctrl[self.world.gripper_ctrl] = gripper_to_opening(action[7])


class JointVelocityController:
    """Integrates joint velocities into joint targets over each control period (the world's
    physics time per step, so ``v`` held for ``t`` seconds moves the target by ``v·t``) and sends
    them to the arm's position servos. Zero velocity holds the current target."""

    space = JOINT_VELOCITY

    def __init__(self, world):
        self.world = world
        self.period = world.substeps * world.model.opt.timestep  # seconds of physics per step
        self.low, self.high = world.arm_range
        self.reset()

    def reset(self) -> None:
        self.q_target = self.world.arm_joints()

    def apply(self, action: np.ndarray) -> None:
        action = np.clip(np.asarray(action, dtype=float), self.space.low, self.space.high)
        self.q_target = np.clip(self.q_target + action[:7] * self.period, self.low, self.high)
        data = self.world.data
        data.ctrl[self.world.arm_ctrl] = self.q_target
        data.ctrl[self.world.gripper_ctrl] = gripper_to_opening(action[7])


def make_controller(world, space: str):
    """The controller for an action space name."""
    if space == EE_DELTA.name:
        return EEDeltaController(world)
    if space == JOINT_POSITION.name:
        return JointPositionController(world)
    if space == JOINT_VELOCITY.name:
        return JointVelocityController(world)
    raise ValueError(f"unknown action space {space!r}; expected one of {', '.join(ACTION_SPACES)}")
