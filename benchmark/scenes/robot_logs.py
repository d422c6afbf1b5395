"""Record demonstrations shaped like real robot logs (DROID, Bridge, LeRobot community datasets).

A robot log has what a lab's recorder writes and nothing more: static exterior cameras and a wrist
camera (mounted as on a DROID Franka, :data:`twin.scene.robot.WRIST_MOUNT_POS`), RGB only at 15 fps
and 320×180, each camera's intrinsics but no extrinsics, no depth, no opening sweep of the table,
and the robot's joint positions from the first frame on, with the robot's base frame as the world.

``robot_states.npz`` holds ``joint_positions`` (T×9: seven arm joints and the two fingers),
``gripper_position`` (T×1: 0 open … 1 closed), ``cartesian_position`` (T×6: TCP position and
axis-angle in the base frame) and ``actions`` (T×8, ``joint_velocity``: the commanded joint
velocities over each control period, then the gripper command), as DROID logs them.

What a real log lacks, the ground truth keeps, all in the base frame: each camera's true
``T_base_camera`` (per frame for the wrist), the objects' poses, and the scene spec with the base's
pose in the scene's frame (``T_base_camera_<camera>`` in ``object_poses.npz``).
"""

from __future__ import annotations

import dataclasses
import zlib
from dataclasses import asdict, dataclass

import numpy as np

from benchmark.scenes.rollout import run_expert_episode
from benchmark.sim.sensor import SensorModel
from twin.demonstration import CameraRecording, Demonstration, RobotTrack
from twin.scene.robot import ARM_JOINTS, FINGER_JOINTS, FINGER_OPEN
from twin.scene.spec import CameraSpec, SceneSpec, TaskSpec
from twin.scene.world import World
from twin.transforms import mat_to_axis_angle, mat_to_quat, pose_matrix, quat_to_mat

EXTERIOR = ("exterior_1", "exterior_2")  # the log's names of the static cameras, then "wrist"


@dataclass(frozen=True)
class RobotLogConfig:
    """The shape of a robot log: frame rate (the control rate too), image size (width, height) of
    every camera, how many exterior cameras (1 or 2), steps kept after the expert finishes."""

    fps: float = 15.0
    size: tuple[int, int] = (320, 180)
    exterior_cameras: int = 2
    hold_steps: int = 5
    sensor: SensorModel | None = None


def mirrored_camera(camera: CameraSpec, scene: SceneSpec, name: str) -> CameraSpec:
    """``camera`` mirrored across the table's long axis: the second exterior camera of a rig."""
    c, s = np.cos(scene.table.yaw), np.sin(scene.table.yaw)
    centre = np.array([*scene.table.centre, 0.0])
    flip = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]]) @ np.diag([1.0, -1.0, 1.0])
    flip = flip @ np.array([[c, s, 0], [-s, c, 0], [0, 0, 1.0]])

    def mirrored(point) -> tuple[float, float, float]:
        return tuple(float(v) for v in centre + flip @ (np.asarray(point, dtype=float) - centre))

    return dataclasses.replace(camera, name=name, pos=mirrored(camera.pos), lookat=mirrored(camera.lookat))


def robot_log_scene(scene: SceneSpec, config: RobotLogConfig) -> SceneSpec:
    """``scene`` controlled at the log's rate, with its exterior cameras (a second one mirrored from
    the first when the scene has one) at the log's image size."""
    if config.exterior_cameras not in (1, 2):
        raise ValueError(f"a robot log has 1 or 2 exterior cameras, not {config.exterior_cameras}")
    cameras = list(scene.cameras[: config.exterior_cameras])
    if len(cameras) < config.exterior_cameras:
        cameras.append(mirrored_camera(cameras[0], scene, EXTERIOR[1]))
    width, height = config.size
    cameras = [dataclasses.replace(c, width=width, height=height) for c in cameras]
    physics = dataclasses.replace(scene.physics, control_hz=float(config.fps))
    return dataclasses.replace(scene, cameras=tuple(cameras), physics=physics)


def record_robot_log_episode(world: World, task: TaskSpec, seed: int, config: RobotLogConfig):
    """Run the expert once in ``world`` (a :func:`robot_log_scene`); return (demonstration, ground
    truth, outcome), everything in the robot's base frame."""
    scene = world.scene
    width, height = config.size
    world.reset(seed)
    base_pos, base_rot = world.base_pose()
    T_base_world = np.linalg.inv(pose_matrix(base_rot, base_pos))  # noqa: N806
    names = [c.name for c in scene.cameras] + [world.wrist_camera]
    period = world.substeps * world.model.opt.timestep
    frames: dict[str, list] = {n: [] for n in names}
    poses: dict[str, list] = {n: [] for n in names}
    Ks: dict[str, np.ndarray] = {}  # noqa: N806
    rows: dict[str, list] = {k: [] for k in ("joints", "gripper", "cartesian", "actions")}
    objects: dict[str, list] = {}
    last_target = [world.arm_joints()]

    def tape_frame(action, controller):
        for name in names:
            frame = world.render(name, width, height)
            frames[name].append(frame.rgb)
            poses[name].append(T_base_world @ frame.T_world_camera)
            Ks[name] = frame.K
        rows["joints"].append(np.concatenate([world.arm_joints(), world.data.qpos[world.finger_qpos]]))
        rows["gripper"].append([1.0 - world.gripper_opening() / FINGER_OPEN])
        tcp, rot = world.tcp_pose()
        tcp_base = T_base_world @ pose_matrix(rot, tcp)
        rows["cartesian"].append(np.concatenate([tcp_base[:3, 3], mat_to_axis_angle(tcp_base[:3, :3])]))
        velocity = (controller.q_target - last_target[0]) / period
        last_target[0] = controller.q_target.copy()
        rows["actions"].append(np.concatenate([velocity, [action[6]]]))
        for name, pose in world.object_poses().items():
            in_base = T_base_world @ pose_matrix(quat_to_mat(pose.quat), pose.pos)
            row = np.concatenate([in_base[:3, 3], mat_to_quat(in_base[:3, :3])])
            objects.setdefault(name, []).append(row)

    outcome = run_expert_episode(world, task, seed, config.hold_steps, before_step=tape_frame)

    rng = np.random.default_rng([seed, zlib.crc32(b"camera")])
    log_names = [*EXTERIOR[: len(scene.cameras)], "wrist"]
    cameras = {}
    for log_name, name in zip(log_names, names, strict=True):
        rgb = np.stack(frames[name])
        if config.sensor is not None:
            rgb = np.stack([config.sensor.rgb(frame, rng) for frame in rgb])
        cameras[log_name] = CameraRecording(log_name, rgb, Ks[name])  # intrinsics only
    robot = RobotTrack(
        name="franka_panda",
        joint_names=[*ARM_JOINTS, *FINGER_JOINTS],
        arrays={
            "joint_positions": np.asarray(rows["joints"], dtype=np.float32),
            "gripper_position": np.asarray(rows["gripper"], dtype=np.float32),
            "cartesian_position": np.asarray(rows["cartesian"], dtype=np.float32),
            "actions": np.asarray(rows["actions"], dtype=np.float32),
        },
        action_space="joint_velocity",
        base_pose=None,  # the world is the robot's base frame
    )
    extra = {"source": "twinarena record --style robot-log", "scene": scene.name, "seed": seed}
    if config.sensor is not None:
        extra["sensor"] = config.sensor.to_dict()
    demo = Demonstration(
        fps=float(config.fps),
        instruction=task.instruction,
        cameras=cameras,
        robot=robot,
        task={**asdict(task), "scene": scene.name},
        segments={"execution": [0, len(rows["joints"])]},
        extra=extra,
    )
    arrays = {name: np.stack(rows_).astype(np.float64) for name, rows_ in objects.items()}
    for log_name, name in zip(log_names, names, strict=True):
        stacked = np.stack(poses[name])
        arrays[f"T_base_camera_{log_name}"] = stacked if log_name == "wrist" else stacked[0]
    ground_truth = {
        "objects": {
            "scene": scene.to_dict(),
            "T_scene_base": pose_matrix(base_rot, base_pos).tolist(),
            "gripper_open_m": FINGER_OPEN,
            "outcome": asdict(outcome),
            "control_period_s": period,
            "pose_layout": "per object: T×7 array, position xyz then quaternion wxyz, robot base frame; "
            "T_base_camera_<camera>: 4×4 (T×4×4 for the wrist), OpenCV camera axes",
        },
        "arrays": arrays,
    }
    return demo, ground_truth, outcome
