"""The robot alone, posed from recorded joint states: pixel masks and tool-point tracks.

Twin reconstruction uses it to mask the robot out of a demonstration's frames (so it is neither
fused into the table geometry nor baked into the background splats) and to follow the tool
centre point through the demonstration.
"""

from __future__ import annotations

import contextlib

import numpy as np
from scipy.ndimage import binary_dilation

from twin.demonstration import KNOWN_ROBOTS
from twin.scene.builder import ROBOT_PREFIX, add_pinhole_camera, attach_robot
from twin.scene.gl import import_mujoco
from twin.scene.robot import ARM_JOINTS, FINGER_JOINTS, TCP_SITE, compile_spec
from twin.transforms import mat_to_quat, mujoco_quat_from_opencv

mujoco = import_mujoco()


class RobotViewError(ValueError):
    """Joint states that do not fit the robot model; the message names what is wrong."""


class RobotView:
    """A model holding only the robot, mounted at ``base_pose`` (4×4 T_world_base)."""

    def __init__(self, name: str, base_pose: np.ndarray, joint_names: list[str]):
        if name not in KNOWN_ROBOTS:
            raise RobotViewError(f"robot {name!r} has no model here; known robots: {', '.join(KNOWN_ROBOTS)}")
        self._base_pose = np.asarray(base_pose, dtype=float)
        self._joint_names = list(joint_names)
        self._cameras: dict[tuple, str] = {}
        self._spec = self._robot_spec()
        self._compile()

    def _robot_spec(self):
        spec = mujoco.MjSpec()
        spec.visual.global_.offwidth, spec.visual.global_.offheight = 1280, 1024
        attach_robot(spec, self._base_pose[:3, 3], base_quat=mat_to_quat(self._base_pose[:3, :3]))
        return spec

    def _compile(self) -> None:
        self.model = compile_spec(self._spec)
        self.data = mujoco.MjData(self.model)
        wanted = [*ARM_JOINTS, *FINGER_JOINTS]
        self._columns, self._qpos = [], []
        for joint in wanted:
            if joint in self._joint_names:
                self._columns.append(self._joint_names.index(joint))
                self._qpos.append(self.model.joint(ROBOT_PREFIX + joint).qposadr[0])
        if len(self._columns) < len(ARM_JOINTS):
            missing = [j for j in ARM_JOINTS if j not in self._joint_names]
            raise RobotViewError(f"joint states lack the arm joints {missing}")
        self._tcp = self.model.site(ROBOT_PREFIX + TCP_SITE).id

    @property
    def finger_columns(self) -> list[int]:
        """The columns of the joint states that hold the fingers."""
        return [self._joint_names.index(j) for j in FINGER_JOINTS if j in self._joint_names]

    def pose(self, joint_positions: np.ndarray) -> None:
        """Set the robot to one row of joint positions (columns as ``joint_names``)."""
        row = np.asarray(joint_positions, dtype=float)
        if not np.all(np.isfinite(row)):
            raise RobotViewError("joint states contain NaN or infinite values")
        self.data.qpos[self._qpos] = row[self._columns]
        mujoco.mj_kinematics(self.model, self.data)
        mujoco.mj_camlight(self.model, self.data)

    def tcp_track(self, joint_positions: np.ndarray) -> np.ndarray:
        """World positions [T, 3] of the tool centre point for every row of joint positions."""
        out = []
        for row in np.asarray(joint_positions):
            self.pose(row)
            out.append(self.data.site_xpos[self._tcp].copy())
        return np.array(out)

    def _camera(self, K, width: int, height: int) -> int:  # noqa: N803
        key = (tuple(np.round(np.asarray(K, dtype=float).ravel(), 6)), width, height)
        if key not in self._cameras:
            self._cameras[key] = f"view{len(self._cameras)}"
            add_pinhole_camera(self._spec.worldbody, self._cameras[key], K, width, height, np.eye(4))
            self._compile()
        return self.model.camera(self._cameras[key]).id

    @contextlib.contextmanager
    def mask_renderer(self, K, width: int, height: int):  # noqa: N803
        """A function ``(joint row, T_world_camera) -> bool mask [H, W]`` with one renderer kept
        open for the ``with`` block (for many renders: pose searches, whole episodes)."""
        cam = self._camera(K, width, height)
        renderer = mujoco.Renderer(self.model, height=height, width=width)
        renderer.enable_segmentation_rendering()

        def mask(row, pose) -> np.ndarray:
            pose = np.asarray(pose, dtype=float)
            self.model.cam_pos[cam] = pose[:3, 3]
            self.model.cam_quat[cam] = mujoco_quat_from_opencv(pose[:3, :3])
            self.pose(row)
            renderer.update_scene(self.data, camera=cam)
            return renderer.render()[..., 0] >= 0

        try:
            yield mask
        finally:
            renderer.close()

    def masks(self, joint_positions, K, poses, width: int, height: int, dilate: int = 2) -> np.ndarray:  # noqa: N803
        """Boolean masks [T, H, W], True where the robot covers a pixel, grown by ``dilate`` pixels.

        ``poses`` is ``T_world_camera`` [T, 4, 4] (OpenCV frame) or one 4×4 for a static camera.
        """
        joints = np.asarray(joint_positions)
        poses = np.broadcast_to(np.asarray(poses, dtype=float), (len(joints), 4, 4))
        out = np.zeros((len(joints), height, width), dtype=bool)
        with self.mask_renderer(K, width, height) as mask:
            for i, row in enumerate(joints):
                out[i] = mask(row, poses[i])
        if dilate > 0:
            out = binary_dilation(out, np.ones((1, 2 * dilate + 1, 2 * dilate + 1), dtype=bool))
        return out
