"""Record scripted-expert demonstrations of a reference scene in the demonstration format.

Each demonstration opens with a short camera sweep around the table (the robot at rest), as
people record before a demonstration, then the static third-person view of the expert's run.
With a :class:`~benchmark.scenes.robot_logs.RobotLogConfig` it is a robot log instead (exterior
and wrist cameras, RGB only, intrinsics only, no sweep, the base frame as the world).
"""

from __future__ import annotations

import json
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from benchmark.scenes.robot_logs import RobotLogConfig, record_robot_log_episode, robot_log_scene
from benchmark.scenes.rollout import run_expert_episode
from benchmark.sim.sensor import SensorModel
from twin.demonstration import CameraRecording, Demonstration, RobotTrack, write_demonstration
from twin.scene.builder import SCAN_CAMERA
from twin.scene.robot import ARM_JOINTS, FINGER_JOINTS, FINGER_OPEN
from twin.scene.spec import SceneSpec, TaskSpec
from twin.scene.world import World, mujoco
from twin.transforms import mujoco_camera_quat, pose_matrix


@dataclass(frozen=True)
class RecordConfig:
    """What to record. ``scan_arc_deg`` is the sweep's azimuth span, ending at the main camera."""

    scan_frames: int = 30
    scan_arc_deg: float = 90.0
    scan_height_swing: float = 0.12  # metres up and down during the sweep
    wrist_camera: bool = True
    wrist_size: tuple[int, int] = (160, 120)
    hold_steps: int = 5  # control steps recorded after the expert finishes
    sensor: SensorModel | None = None  # the camera's own response, applied to every recorded frame


@dataclass(frozen=True)
class EpisodeSummary:
    scene: str
    task: str
    seed: int
    success: bool
    progress: float
    steps: int
    frames: int
    path: str


def scan_camera_poses(eye, lookat, frames: int, arc_deg: float, height_swing: float) -> list[tuple]:
    """Camera positions and MuJoCo quaternions on an arc around ``lookat`` ending at ``eye``."""
    eye, lookat = np.asarray(eye, float), np.asarray(lookat, float)
    offset = eye - lookat
    radius = np.linalg.norm(offset[:2])
    azimuth = np.arctan2(offset[1], offset[0])
    poses = []
    for i in range(frames):
        t = i / max(frames - 1, 1)
        a = azimuth - np.radians(arc_deg) * (1 - t)
        z = eye[2] + height_swing * np.sin(np.pi * t)
        pos = np.array([lookat[0] + radius * np.cos(a), lookat[1] + radius * np.sin(a), z])
        poses.append((pos, mujoco_camera_quat(pos, lookat)))
    return poses


class _Tape:
    """Per-frame buffers of one recording."""

    def __init__(self):
        self.rgb, self.depth, self.poses = [], [], []
        self.wrist_rgb, self.wrist_poses = [], []
        self.joints, self.state, self.actions, self.actions_joint = [], [], [], []
        self.object_poses: dict[str, list] = {}

    def add(self, world: World, main: str, size, wrist_size, action, action_joint, wrist: bool):
        frame = world.render(main, *size, depth=True)
        self.rgb.append(frame.rgb)
        self.depth.append(frame.depth)
        self.poses.append(frame.T_world_camera)
        if wrist:
            wf = world.render(world.wrist_camera, *wrist_size)
            self.wrist_rgb.append(wf.rgb)
            self.wrist_poses.append(wf.T_world_camera)
        self.joints.append(np.concatenate([world.arm_joints(), world.data.qpos[world.finger_qpos]]))
        self.state.append(world.proprioception())
        self.actions.append(action)
        self.actions_joint.append(action_joint)
        for name, pose in world.object_poses().items():
            self.object_poses.setdefault(name, []).append(np.concatenate([pose.pos, pose.quat]))
        return frame.K


def record_episode(world: World, task: TaskSpec, seed: int, config: RecordConfig | None = None):
    """Run the expert once from the seeded initial state; return (demonstration, ground truth, outcome)."""
    config = config or RecordConfig()
    scene: SceneSpec = world.scene
    main = scene.cameras[0]
    size = (main.width, main.height)
    world.reset(seed)
    tape = _Tape()
    hold = np.concatenate([world.arm_joints(), [0.0]])
    scan_cam = world.model.camera(SCAN_CAMERA).id
    K = None
    for pos, quat in scan_camera_poses(
        main.pos, main.lookat, config.scan_frames, config.scan_arc_deg, config.scan_height_swing
    ):
        world.model.cam_pos[scan_cam], world.model.cam_quat[scan_cam] = pos, quat
        mujoco.mj_kinematics(world.model, world.data)
        mujoco.mj_camlight(world.model, world.data)
        K = tape.add(world, SCAN_CAMERA, size, config.wrist_size, np.zeros(7), hold, config.wrist_camera)
    scan_end = len(tape.rgb)

    def tape_frame(action, controller):
        action_joint = np.concatenate([controller.q_target, [action[6]]])
        tape.add(world, main.name, size, config.wrist_size, action, action_joint, config.wrist_camera)

    outcome = run_expert_episode(world, task, seed, config.hold_steps, before_step=tape_frame)

    rgb, depth, wrist_rgb = np.stack(tape.rgb), np.stack(tape.depth), tape.wrist_rgb
    extra = {}
    if config.sensor is not None:  # the camera films the rendered world through its own response
        rng = np.random.default_rng([seed, zlib.crc32(b"camera")])
        rgb = np.stack([config.sensor.rgb(frame, rng) for frame in rgb])
        depth = config.sensor.depth(depth, rng)
        wrist_rgb = [config.sensor.rgb(frame, rng) for frame in wrist_rgb]
        extra["sensor"] = config.sensor.to_dict()
    cameras = {main.name: CameraRecording(main.name, rgb, K, np.stack(tape.poses), depth)}
    if config.wrist_camera:
        wrist_K = world.render(world.wrist_camera, *config.wrist_size).K
        cameras["wrist"] = CameraRecording("wrist", np.stack(wrist_rgb), wrist_K, np.stack(tape.wrist_poses))
    robot = RobotTrack(
        name="franka_panda",
        joint_names=[*ARM_JOINTS, *FINGER_JOINTS],
        arrays={
            "joint_positions": np.stack(tape.joints).astype(np.float32),
            "state": np.stack(tape.state).astype(np.float32),
            "actions": np.stack(tape.actions).astype(np.float32),
            "actions_joint": np.stack(tape.actions_joint).astype(np.float32),
        },
        action_space="ee_delta",
        base_pose=pose_matrix(np.eye(3), np.asarray(scene.robot_base, dtype=float)),
    )
    demo = Demonstration(
        fps=scene.physics.control_hz,
        instruction=task.instruction,
        cameras=cameras,
        robot=robot,
        task={**asdict(task), "scene": scene.name},
        segments={"scan": [0, scan_end], "execution": [scan_end, len(tape.rgb)]},
        extra={"source": "twinarena record", "scene": scene.name, "seed": seed, **extra},
    )
    ground_truth = {
        "objects": {
            "scene": scene.to_dict(),
            "gripper_open_m": FINGER_OPEN,
            "outcome": asdict(outcome),
            "pose_layout": "per object: T×7 array, position xyz then quaternion wxyz, world frame",
        },
        "arrays": {name: np.stack(rows).astype(np.float64) for name, rows in tape.object_poses.items()},
    }
    return demo, ground_truth, outcome


def record(
    scene: SceneSpec,
    out: str | Path,
    episodes: int,
    seed: int,
    task_name: str | None = None,
    config: RecordConfig | RobotLogConfig | None = None,
    on_episode=None,
) -> list[EpisodeSummary]:
    """Record ``episodes`` demonstrations with seeds ``seed, seed+1, …`` into a new folder ``out``.

    Writes ``out/episode_000000/`` … and ``out/summary.json``. ``on_episode(summary)`` is called
    after each episode is on disk, so a long recording shows progress and loses nothing done.
    """
    out = Path(out)
    if out.exists():
        raise FileExistsError(f"output folder {out} already exists; choose a new one or remove it")
    if episodes < 1:
        raise ValueError(f"episodes must be at least 1, got {episodes}")
    task = scene.task(task_name)
    out.mkdir(parents=True)
    summaries = []
    if isinstance(config, RobotLogConfig):
        scene = robot_log_scene(scene, config)
    with World(scene) as world:
        for i in range(episodes):
            if isinstance(config, RobotLogConfig):
                demo, ground_truth, outcome = record_robot_log_episode(world, task, seed + i, config)
            else:
                demo, ground_truth, outcome = record_episode(world, task, seed + i, config)
            path = write_demonstration(out / f"episode_{i:06d}", demo, ground_truth)
            summary = EpisodeSummary(
                scene.name,
                task.name,
                seed + i,
                bool(outcome.success),
                outcome.progress,
                outcome.steps,
                demo.num_frames,
                str(path),
            )
            summaries.append(summary)
            (out / "summary.json").write_text(json.dumps([asdict(s) for s in summaries], indent=1))
            if on_episode:
                on_episode(summary)
    return summaries
