"""Observation and action conventions of the policy servers people run, as declarative adapters.

A :class:`Convention` says how a policy wants to be spoken to: which observation keys carry which
camera (letterboxed to one image size, channels last or first), which keys carry which pieces of
proprioception, where the instruction goes, which action space its answers are in (and how to map
its gripper and scaled deltas onto ours), its chunk length, open-loop horizon and control rate.
:data:`CONVENTIONS` holds openpi's ``droid``, ``libero`` and ``aloha`` layouts; ``twinarena`` (our
own layout, :mod:`benchmark.policies.protocol`) needs no adapter. :class:`AdaptedPolicy` wraps a
policy of any kind in a convention for one environment; the environment itself never knows.

Pieces of proprioception (``STATE_PIECES``), from the environment's 15-number state and the robot's
base pose: ``joint_position`` (7, rad), ``gripper_closed`` (1: 0 open … 1 closed), ``gripper_open``
(1: 1 open … 0 closed), ``gripper_qpos`` (2: each finger's joint position, m, the second negated as
robosuite reports it), ``eef_pos`` (3, m) and ``eef_axis_angle`` (3, rad) of the tool centre point
in the robot's base frame, ``state`` (our 15 numbers as they are).

On a single 7-joint arm the ALOHA layout carries one arm: 7 joints and the gripper (8 numbers).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmark.errors import InvalidAnswer, ScenarioError
from benchmark.policies.protocol import ADAPTERS, PolicyInfo
from benchmark.sim.actions import ACTION_SPACES
from benchmark.sim.letterbox import resize_with_pad
from twin.scene.builder import ROBOT_PREFIX
from twin.scene.robot import FINGER_OPEN, WRIST_CAMERA
from twin.transforms import mat_to_axis_angle, quat_to_mat

EXTERIOR, EXTERIOR_2, WRIST = "exterior", "exterior_2", "wrist"  # camera roles
Key = str | tuple[str, ...]  # a flat key, or a path into nested maps
STATE_PIECES = {
    "joint_position": 7,
    "gripper_closed": 1,
    "gripper_open": 1,
    "gripper_qpos": 2,
    "eef_pos": 3,
    "eef_axis_angle": 3,
    "state": 15,
}


@dataclass(frozen=True)
class Convention:
    """One policy convention. ``images``: (key, camera role) pairs; ``state``: (key, pieces) pairs;
    ``action_scale``: the factor each answered number is multiplied by before it is an action of
    ``action_space`` (None: 1), ``action_bounds``: the range the policy's own answers must lie in
    (None: the action space's bounds, after mapping); ``gripper``: the answered values meaning
    (open, closed), mapped linearly onto ours (0 open, 1 closed)."""

    name: str
    images: tuple[tuple[Key, str], ...]
    state: tuple[tuple[Key, tuple[str, ...]], ...]
    prompt_key: Key
    action_space: str
    gripper: tuple[float, float]
    action_chunk: int
    open_loop_horizon: int
    control_hz: float
    image_size: tuple[int, int] = (224, 224)  # (width, height), letterboxed
    channels_first: bool = False
    action_scale: tuple[float, ...] | None = None
    action_bounds: tuple[float, float] | None = None

    @property
    def action_dim(self) -> int:
        return ACTION_SPACES[self.action_space].dim

    @property
    def wrist(self) -> bool:
        """Whether the convention sends a wrist camera."""
        return any(role == WRIST for _, role in self.images)

    def message(self, observation: Mapping[str, Any], cameras: Mapping[str, str], base) -> dict:
        """The policy's observation from ours; ``cameras`` maps roles to the environment's camera
        names, ``base`` is the robot base's (position, rotation) in the world."""
        message: dict[str, Any] = {}
        for key, role in self.images:
            name = cameras.get(role)
            if name is None or name not in observation["images"]:
                raise ScenarioError(
                    f"the {self.name} convention sends {_key_text(key)} from the {role} camera, "
                    f"which the twin does not have (cameras: {', '.join(observation['images'])})"
                )
            image = observation["images"][name]
            if (image.shape[1], image.shape[0]) != self.image_size:
                image = resize_with_pad(image, self.image_size)
            if self.channels_first:
                image = image.transpose(2, 0, 1)
            _put(message, key, np.ascontiguousarray(image))
        state = np.asarray(observation["state"], dtype=np.float32)
        for key, pieces in self.state:
            values = np.concatenate([state_piece(p, state, base) for p in pieces])
            _put(message, key, values.astype(np.float32))
        _put(message, self.prompt_key, str(observation["instruction"]))
        return message

    def env_actions(self, answer: Any) -> np.ndarray:
        """The policy's answer (``[A]`` or ``[H, A]``) as actions of :attr:`action_space`; an answer
        of the wrong size, or outside :attr:`action_bounds`, raises :class:`InvalidAnswer` (NaN and
        out-of-range actions are left for the environment to flag)."""
        try:
            actions = np.array(answer, dtype=float)
        except (TypeError, ValueError):
            raise InvalidAnswer(f"the {self.name} policy answered non-numeric actions") from None
        if actions.ndim not in (1, 2) or actions.shape[-1] != self.action_dim:
            raise InvalidAnswer(
                f"the {self.name} policy answered actions of shape {actions.shape}; its convention "
                f"has {self.action_dim} numbers per action ({ACTION_SPACES[self.action_space].description})"
            )
        if self.action_bounds is not None:
            low, high = self.action_bounds
            finite = np.isfinite(actions)
            if np.any(finite & ((actions < low) | (actions > high))):
                raise InvalidAnswer(
                    f"the {self.name} policy answered actions outside its range [{low:g}, {high:g}]"
                )
        if self.action_scale is not None:
            actions[..., : len(self.action_scale)] *= self.action_scale
        open_, closed = self.gripper
        actions[..., -1] = (actions[..., -1] - open_) / (closed - open_)
        space = ACTION_SPACES[self.action_space]
        if self.action_bounds is not None:  # scaled deltas saturate at what the controller takes
            actions = np.clip(actions, space.low, space.high)
        return actions


def _key_text(key: Key) -> str:
    return repr(key if isinstance(key, str) else "/".join(key))


def _put(message: dict, key: Key, value: Any) -> None:
    if isinstance(key, str):
        message[key] = value
        return
    for part in key[:-1]:
        message = message.setdefault(part, {})
    message[key[-1]] = value


def state_piece(piece: str, state: np.ndarray, base) -> np.ndarray:
    """One piece of proprioception (``STATE_PIECES``) from our 15-number ``state`` and the robot
    base's (position, rotation) in the world."""
    opening = float(state[7]) / FINGER_OPEN  # 1 open, 0 closed
    if piece == "joint_position":
        return state[:7]
    if piece == "gripper_closed":
        return np.array([1.0 - opening])
    if piece == "gripper_open":
        return np.array([opening])
    if piece == "gripper_qpos":
        return np.array([state[7], -state[7]])
    if piece == "state":
        return state
    base_pos, base_rot = base
    if piece == "eef_pos":
        return base_rot.T @ (state[8:11] - base_pos)
    if piece == "eef_axis_angle":
        return mat_to_axis_angle(base_rot.T @ quat_to_mat(state[11:15]))
    raise ValueError(f"unknown state piece {piece!r}; known: {', '.join(STATE_PIECES)}")


DROID = Convention(
    name="droid",
    images=(("observation/exterior_image_1_left", EXTERIOR), ("observation/wrist_image_left", WRIST)),
    state=(
        ("observation/joint_position", ("joint_position",)),
        ("observation/gripper_position", ("gripper_closed",)),
    ),
    prompt_key="prompt",
    action_space="joint_velocity",
    gripper=(0.0, 1.0),
    action_chunk=10,
    open_loop_horizon=8,
    control_hz=15.0,
)
LIBERO = Convention(
    name="libero",
    images=(("observation/image", EXTERIOR), ("observation/wrist_image", WRIST)),
    state=(("observation/state", ("eef_pos", "eef_axis_angle", "gripper_qpos")),),
    prompt_key="prompt",
    action_space="ee_delta",
    gripper=(-1.0, 1.0),
    action_chunk=10,
    open_loop_horizon=5,
    control_hz=20.0,
    # robosuite's OSC_POSE: an answer of 1 is 5 cm or 0.5 rad; our controller takes at most 0.3 rad
    action_scale=(0.05, 0.05, 0.05, 0.5, 0.5, 0.5),
    action_bounds=(-1.0, 1.0),
)
ALOHA = Convention(
    name="aloha",
    images=((("images", "cam_high"), EXTERIOR), (("images", "cam_left_wrist"), WRIST)),
    state=(("state", ("joint_position", "gripper_open")),),
    prompt_key="prompt",
    action_space="joint_position",
    gripper=(1.0, 0.0),
    action_chunk=50,
    open_loop_horizon=25,
    control_hz=50.0,
    channels_first=True,
)
CONVENTIONS = {c.name: c for c in (DROID, LIBERO, ALOHA)}
assert set(CONVENTIONS) | {"twinarena"} == set(ADAPTERS), "protocol.ADAPTERS and CONVENTIONS disagree"


def convention_of(info: PolicyInfo) -> Convention | None:
    """The convention ``info`` names, or None for our own layout."""
    return CONVENTIONS.get(info.adapter)


class AdaptedPolicy:
    """A policy spoken to in its own convention inside ``env`` (a
    :class:`~benchmark.episodes.env.TwinEnv` configured by :func:`env_settings`), or, without an
    env, with fixed camera roles (``{EXTERIOR: camera, …}``) and robot base pose (a probe)."""

    def __init__(
        self,
        policy: Any,
        convention: Convention,
        env: Any = None,
        cameras: dict[str, str | None] | None = None,
        base: tuple[np.ndarray, np.ndarray] | None = None,
    ):
        self.policy = policy
        self.convention = convention
        self.env = env
        self._cameras: dict[str, str | None] = dict(cameras or {})
        self._base = base
        if hasattr(policy, "reset_key"):  # an openpi server: no "reset" key in its messages
            policy.reset_key = None

    @property
    def open_loop_horizon(self) -> int:
        """The policy's own horizon when it declares one, else the convention's."""
        declared = getattr(self.policy, "open_loop_horizon", None)
        return int(declared) if declared is not None else self.convention.open_loop_horizon

    def reset(self, instruction: str) -> None:
        if self.env is not None:
            scenario = self.env.scenario
            static = [c for c in scenario.cameras if not c.startswith(ROBOT_PREFIX)]
            self._cameras = {
                EXTERIOR: static[0] if static else None,
                EXTERIOR_2: static[1] if len(static) > 1 else None,
                WRIST: ROBOT_PREFIX + WRIST_CAMERA,
            }
            self._base = scenario.world.base_pose()
        self.policy.reset(instruction)

    def act(self, observation: dict[str, Any]) -> np.ndarray:
        return self.act_within(observation, None)

    def act_within(self, observation: dict[str, Any], timeout: float | None) -> np.ndarray:
        from benchmark.episodes.episode import ask

        message = self.convention.message(observation, self._cameras, self._base)
        return self.convention.env_actions(ask(self.policy, message, timeout))

    def close(self) -> None:
        close = getattr(self.policy, "close", None)
        if close is not None:
            close()


def adapt(policy: Any, info: PolicyInfo, env: Any) -> Any:
    """``policy`` wrapped in the convention ``info`` names, for ``env``; itself for ours."""
    convention = convention_of(info)
    return policy if convention is None else AdaptedPolicy(policy, convention, env)


def env_settings(info: PolicyInfo) -> dict[str, Any]:
    """What a policy's convention asks of the environment (:class:`EnvConfig` fields): its action
    space, letterboxed image size, wrist camera and control rate; empty for ours."""
    convention = convention_of(info)
    if convention is None:
        return {}
    return {
        "action_space": convention.action_space,
        "image_size": convention.image_size,
        "wrist_camera": convention.wrist,
        "letterbox": True,
        "control_hz": info.control_hz or convention.control_hz,
    }
