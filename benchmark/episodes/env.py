"""A Gymnasium environment over any twin package, reconstructed or authored, with perturbations.

``TwinEnv(twin, EnvConfig(...))``; ``reset(seed=s)`` builds the scenario (twin, task,
perturbations, seed) and returns the first observation; ``step(action)`` returns the 5-tuple.

Observations (``docs/evaluation.md``): ``images`` (camera name → H×W×3 uint8), ``state``
(:meth:`World.proprioception`, 15 numbers) and ``instruction``. Actions: ``ee_delta`` (7),
``joint_position`` (8) or ``joint_velocity`` (8), see :mod:`benchmark.sim.control`. The reward is
the change in the task's progress measure, so an episode's rewards sum to its final progress. An
episode terminates on success or on an invalid action (NaN, inf, wrong shape, out of bounds) and
is truncated at the task's time limit; ``info["termination"]`` names the reason.
"""

from __future__ import annotations

import contextlib
import dataclasses
import string
import zlib
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np

from benchmark.errors import ScenarioError
from benchmark.perturbations.axes import Perturbation, parse_perturbation, sample_edits
from benchmark.perturbations.pipeline import realise, sensed
from benchmark.sim.actions import action_problem
from benchmark.sim.control import ACTION_SPACES, make_controller
from benchmark.sim.letterbox import fit_size, pad_centred
from benchmark.sim.tasks import is_success, progress, state_from_world
from twin.package import Twin, read_twin
from twin.scene.builder import ROBOT_PREFIX
from twin.scene.render import twin_splats
from twin.scene.robot import HOME_QPOS, WRIST_CAMERA, WRIST_RESOLUTION

TERMINATIONS = ("success", "timeout", "policy_error", "policy_timeout", "invalid_action")
RENDER_MODES = ("auto", "splat", "mesh")
STATE_DIM = 15
INSTRUCTION_CHARSET = string.printable + "’‘“”—–°éèàçüöä"
# numba threads a step's splat rasterising runs on (None: numba's default, one per CPU). A step's
# layers are small (objects: hundreds of splats) and campaigns run one worker per core: waking numba's
# pool on a busy machine cost 60–70 ms a layer against 3.5 ms on this thread alone (2 cores, loaded).
RENDER_THREADS: int | None = 1


@dataclass(frozen=True)
class EnvConfig:
    """How a twin is run. ``image_size`` is (width, height); cameras are the twin's static cameras
    (all of them when None) plus the wrist camera when asked; ``letterbox`` renders each camera at
    its own aspect fitted into ``image_size`` and pads the rest black (as openpi's clients do), else
    every camera fills ``image_size``; ``render`` picks splat compositing ("auto": when the twin has
    splats) or MuJoCo's meshes alone; ``control_hz`` and ``max_seconds`` default to the twin's."""

    action_space: str = "ee_delta"
    image_size: tuple[int, int] = (224, 224)
    cameras: tuple[str, ...] | None = None
    wrist_camera: bool = False
    letterbox: bool = False
    render: str = "auto"
    backend: str = "mujoco"
    control_hz: float | None = None
    max_seconds: float | None = None
    perturbations: tuple[Perturbation, ...] = ()

    def __post_init__(self):
        if self.action_space not in ACTION_SPACES:
            raise ScenarioError(
                f"unknown action space {self.action_space!r}; expected one of {', '.join(ACTION_SPACES)}"
            )
        if self.render not in RENDER_MODES:
            raise ScenarioError(
                f"unknown render mode {self.render!r}; expected one of {', '.join(RENDER_MODES)}"
            )
        w, h = self.image_size
        if not (16 <= w <= 1024 and 16 <= h <= 1024):
            raise ScenarioError(f"image size must be 16–1024 pixels a side, got {w}×{h}")
        object.__setattr__(
            self,
            "perturbations",
            tuple(
                p if isinstance(p, Perturbation) else parse_perturbation(str(p)) for p in self.perturbations
            ),
        )


def camera_sensor(twin: Twin):
    """The :class:`~benchmark.sim.sensor.SensorModel` a twin's ``twin.json`` names (``"sensor"``),
    applied to every rendered image; None when it names none."""
    data = twin.manifest.get("sensor")
    if data is None:
        return None
    from benchmark.sim.sensor import SensorModel

    try:
        return SensorModel.from_dict(data)
    except (TypeError, ValueError) as err:
        raise ScenarioError(f"twin {twin.root}: twin.json 'sensor': {err}") from None


def camera_names(twin: Twin, config: EnvConfig) -> list[str]:
    """The cameras an observation holds: the twin's static cameras (or those asked for), then the
    wrist camera when asked; an unknown name raises :class:`ScenarioError`."""
    known = twin.calibration["cameras"]
    static = list(known) if config.cameras is None else list(config.cameras)
    for name in static:
        if name not in known:
            raise ScenarioError(f"twin {twin.root}: no camera {name!r}; it has {', '.join(known)}")
    return static + ([ROBOT_PREFIX + WRIST_CAMERA] if config.wrist_camera else [])


@contextlib.contextmanager
def numba_threads(n: int | None):
    """Numba's parallel kernels on at most ``n`` threads (this thread's setting) inside the block;
    None changes nothing. The kernels' results do not depend on the thread count."""
    if n is None:
        yield
        return
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(min(n, before))
    try:
        yield
    finally:
        numba.set_num_threads(before)


class Scenario:
    """One realised scenario: the twin's scene, the edits sampled for the seed, and the perturbed
    world and renderer (:func:`benchmark.perturbations.pipeline.realise`)."""

    def __init__(self, twin: Twin, config: EnvConfig, seed: int, splats):
        from twin.scene.twin_world import twin_scene

        base = twin_scene(twin)
        if config.control_hz is not None:
            base = dataclasses.replace(
                base, physics=dataclasses.replace(base.physics, control_hz=float(config.control_hz))
            )
        self.base_scene = base
        self.edits = sample_edits(config.perturbations, seed, base)
        self.perturbed = self.edits.changed()  # what the perturbations changed, reported in every info
        realised = realise(
            twin,
            base,
            self.edits,
            splats,
            image_size=config.image_size,
            backend=config.backend,
            render=config.render,
        )
        self.scene, self.world, self.renderer = realised.scene, realised.world, realised.renderer
        self.cameras = camera_names(twin, config)

    def close(self) -> None:
        self.world.close()


class TwinEnv(gym.Env):
    """Gymnasium 1.x environment: a policy acting in a (perturbed) twin."""

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, twin: str | Path | Twin, config: EnvConfig | None = None):
        self.twin = twin if isinstance(twin, Twin) else read_twin(twin)
        self.config = config or EnvConfig()
        self.render_mode = "rgb_array"
        self._splats = (None, {}) if self.config.render == "mesh" else twin_splats(self.twin)
        self.sensor = camera_sensor(self.twin)  # the twin's own camera response, if it names one
        self.scenario: Scenario | None = None
        self._scenario_seed: int | None = None
        self.space = ACTION_SPACES[self.config.action_space]
        self.action_space = gym.spaces.Box(
            np.array(self.space.low, dtype=np.float32), np.array(self.space.high, dtype=np.float32)
        )
        w, h = self.config.image_size
        names = camera_names(self.twin, self.config)
        self.observation_space = gym.spaces.Dict(
            {
                "images": gym.spaces.Dict(
                    {n: gym.spaces.Box(0, 255, (h, w, 3), dtype=np.uint8) for n in names}
                ),
                "state": gym.spaces.Box(-np.inf, np.inf, (STATE_DIM,), dtype=np.float32),
                "instruction": gym.spaces.Text(max_length=1000, charset=INSTRUCTION_CHARSET),
            }
        )

    # -- gymnasium API ---------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        seed = 0 if seed is None else int(seed)
        if self.scenario is None or (self.config.perturbations and seed != self._scenario_seed):
            if self.scenario is not None:
                self.scenario.close()
            self.scenario = Scenario(self.twin, self.config, seed, self._splats)
            self._scenario_seed = seed
        sc = self.scenario
        world = sc.world
        arm = np.clip(HOME_QPOS + sc.edits.arm_offset, *world.arm_range)
        world.reset(seed, arm_qpos=arm)
        self.controller = make_controller(world, self.config.action_space)
        self.controller.reset()
        self.task = sc.scene.tasks[0]
        self.objects = {o.name: o for o in sc.scene.objects}
        self.initial = state_from_world(world)
        self.max_steps = int(round(self._max_seconds() * world.scene.physics.control_hz))
        self.steps = 0
        self.last_progress = 0.0
        self._sensor_rng = np.random.default_rng([seed, zlib.crc32(b"sensing")])
        self._camera_rng = np.random.default_rng([seed, zlib.crc32(b"camera")])
        self._pending = deque([self._hold_action()] * sc.edits.latency_steps)
        return self._observation(), self._info(None)

    def step(self, action):
        if self.scenario is None:
            raise RuntimeError("call reset() before step()")
        problem = self.check_action(action)
        if problem is not None:
            info = self._info("invalid_action")
            info["invalid_action"] = problem
            return self._observation(), 0.0, True, False, info
        self._pending.append(np.asarray(action, dtype=float).copy())
        self.controller.apply(self._pending.popleft())
        self.scenario.world.step()
        self.steps += 1
        state = state_from_world(self.scenario.world)
        success = is_success(self.task, self.objects, state)
        now = progress(self.task, self.objects, state, self.initial)
        reward, self.last_progress = now - self.last_progress, now
        truncated = not success and self.steps >= self.max_steps
        reason = "success" if success else ("timeout" if truncated else None)
        return self._observation(), float(reward), success, truncated, self._info(reason)

    def render(self):
        return self._images()[self.scenario.cameras[0]]

    def close(self):
        if self.scenario is not None:
            self.scenario.close()
            self.scenario = None

    # -- pieces ----------------------------------------------------------------------------------
    def check_action(self, action) -> str | None:
        """Why ``action`` is invalid (shape, NaN or inf, out of bounds), or None."""
        return action_problem(action, self.space)

    def _hold_action(self) -> np.ndarray:
        if self.space.name == "joint_position":
            return np.r_[self.scenario.world.arm_joints(), 0.0]
        return np.zeros(self.space.dim)  # no motion, gripper open

    def _max_seconds(self) -> float:
        return float(self.config.max_seconds or self.scenario.scene.tasks[0].max_seconds)

    def render_size(self, camera: str) -> tuple[int, int]:
        """(width, height) ``camera`` is rendered at: ``image_size``, or with ``letterbox`` its own
        aspect fitted into it (the wrist camera's is :data:`~twin.scene.robot.WRIST_RESOLUTION`)."""
        if not self.config.letterbox:
            return self.config.image_size
        calibrated = self.twin.calibration["cameras"].get(camera)
        native = (calibrated["width"], calibrated["height"]) if calibrated else WRIST_RESOLUTION
        return fit_size((int(native[0]), int(native[1])), self.config.image_size)

    def _images(self) -> dict[str, np.ndarray]:
        sc = self.scenario
        with numba_threads(RENDER_THREADS if sc.renderer.splats else None):
            images = {name: sc.renderer.render(name, *self.render_size(name))[0] for name in sc.cameras}
        if self.sensor is not None:
            images = {name: self.sensor.rgb(image, self._camera_rng) for name, image in images.items()}
        return {
            name: pad_centred(sensed(image, sc.edits, self._sensor_rng), self.config.image_size)
            for name, image in images.items()
        }

    def _observation(self) -> dict:
        return {
            "images": self._images(),
            "state": self.scenario.world.proprioception().astype(np.float32),
            "instruction": self.task.instruction,
        }

    def _info(self, termination: str | None) -> dict:
        world = self.scenario.world
        return {
            "termination": termination,
            "progress": self.last_progress if termination != "success" else 1.0,
            "steps": self.steps,
            "object_poses": {n: np.r_[p.pos, p.quat] for n, p in world.object_poses().items()},
            "perturbed": self.scenario.perturbed,
        }
