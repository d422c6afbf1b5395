"""A compiled scene with the Panda: seeded resets, stepping, privileged state and headless rendering."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin.scene.builder import ROBOT_PREFIX, build_scene_spec, object_half_height
from twin.scene.gl import import_mujoco
from twin.scene.placement import initial_placement
from twin.scene.robot import (
    ARM_JOINTS,
    BASE_LINK,
    FINGER_JOINTS,
    FINGER_OPEN,
    HOME_QPOS,
    TCP_SITE,
    WRIST_CAMERA,
    PandaConfig,
    compile_spec,
)
from twin.scene.spec import SceneSpec
from twin.transforms import intrinsics_from_fovy, mat_to_quat, opencv_pose_from_mujoco, yaw_quat

mujoco = import_mujoco()


@dataclass(frozen=True)
class ObjectPose:
    pos: np.ndarray  # (3,) metres
    quat: np.ndarray  # (4,) w, x, y, z


@dataclass(frozen=True)
class CameraFrame:
    """One rendered view: RGB, optional metric depth (z along the optical axis), K and pose."""

    rgb: np.ndarray
    depth: np.ndarray | None
    K: np.ndarray
    T_world_camera: np.ndarray


ROBOT_GEOM_GROUP = 1  # the Panda's visual geoms; scene geoms are in group 0, collision parts in 3


class RGBDRenderer(mujoco.Renderer):
    """A ``mujoco.Renderer`` that reads colour and metric depth from one render pass.

    ``mujoco.Renderer`` renders once per buffer; reading both from one ``mjr_render`` halves the
    cost of an RGB-D frame. Pixels where nothing was drawn get depth 0.
    """

    def render_rgbd(self) -> tuple[np.ndarray, np.ndarray]:
        if self._gl_context:
            self._gl_context.make_current()
        rgb = np.empty((self._height, self._width, 3), dtype=np.uint8)
        buffer = np.empty((self._height, self._width), dtype=np.float32)
        mujoco.mjr_render(self._rect, self._scene, self._mjr_context)
        mujoco.mjr_readPixels(rgb, buffer, self._rect, self._mjr_context)
        extent = self._model.stat.extent
        near = np.float32(self._model.vis.map.znear * extent)
        far = np.float32(self._model.vis.map.zfar * extent)
        depth = reversed_z_depth(buffer.astype(np.float64), near, far)
        if self._gl_context:  # EGL and OSMesa images come bottom row first
            rgb, depth = rgb[::-1], depth[::-1]
        return np.ascontiguousarray(rgb), np.ascontiguousarray(depth)


def reversed_z_depth(buffer: np.ndarray, near: float, far: float) -> np.ndarray:
    """Metric depth from MuJoCo's reversed-Z depth buffer (0 where nothing was drawn)."""
    c = np.float32(-0.5) * (-(far + near) / (far - near)) - np.float32(0.5)
    d = np.float32(-0.5) * (-(np.float32(2) * far * near) / (far - near))
    with np.errstate(divide="ignore"):
        depth = np.where(buffer > 0, d / (buffer + c), 0.0)
    return depth.astype(np.float32)


def robot_only_option():
    """Visual options that draw the robot's visual geoms and nothing else of the scene."""
    option = mujoco.MjvOption()
    option.geomgroup[:] = 0
    option.geomgroup[ROBOT_GEOM_GROUP] = 1
    option.sitegroup[:] = 0
    return option


def camera_intrinsics(model, cam: int, width: int, height: int) -> np.ndarray:
    """K of camera ``cam`` rendered at ``width``×``height`` (fovy, or MuJoCo's pixel intrinsics)."""
    sensor = model.cam_sensorsize[cam]
    if sensor[0] <= 0:
        return intrinsics_from_fovy(model.cam_fovy[cam], width, height)
    fx, fy, px, py = model.cam_intrinsic[cam]  # lengths on the sensor; principal as an offset
    sx, sy = width / sensor[0], height / sensor[1]
    return np.array([[fx * sx, 0.0, width / 2 - px * sx], [0.0, fy * sy, height / 2 - py * sy], [0, 0, 1.0]])


class World:
    """One scene compiled into MuJoCo, with the robot's handles resolved once."""

    def __init__(self, scene: SceneSpec, robot: PandaConfig | None = None, spec=None):
        """Compile ``scene``; ``spec`` is an already composed ``MjSpec`` with the robot attached
        under ``robot/`` (a twin's ``scene.xml``), used instead of composing ``scene`` afresh."""
        self.scene = scene
        self.model = compile_spec(spec if spec is not None else build_scene_spec(scene, robot))
        self.data = mujoco.MjData(self.model)
        self.substeps = max(1, int(round(1.0 / (scene.physics.control_hz * scene.physics.timestep))))
        m = self.model
        self.arm_qpos = np.array([m.joint(ROBOT_PREFIX + j).qposadr[0] for j in ARM_JOINTS])
        self.arm_dof = np.array([m.joint(ROBOT_PREFIX + j).dofadr[0] for j in ARM_JOINTS])
        self.arm_range = m.jnt_range[[m.dof_jntid[d] for d in self.arm_dof]].T.copy()  # (low, high) rad
        self.finger_qpos = np.array([m.joint(ROBOT_PREFIX + j).qposadr[0] for j in FINGER_JOINTS])
        self.arm_ctrl = np.array([m.actuator(ROBOT_PREFIX + "act_" + j).id for j in ARM_JOINTS])
        self.gripper_ctrl = m.actuator(ROBOT_PREFIX + "act_gripper").id
        self.tcp_site = m.site(ROBOT_PREFIX + TCP_SITE).id
        self.base_body = m.body(ROBOT_PREFIX + BASE_LINK).id
        self.wrist_camera = ROBOT_PREFIX + WRIST_CAMERA
        self.object_names = [o.name for o in scene.objects]
        self._free_qpos = {
            o.name: m.joint(f"{o.name}_joint").qposadr[0] for o in scene.objects if not o.fixed
        }
        self._body = {o.name: m.body(o.name).id for o in scene.objects}
        self._renderers: dict[tuple[int, int], mujoco.Renderer] = {}
        self.initial_poses: dict[str, ObjectPose] = {}

    # -- episode lifecycle -------------------------------------------------------------------
    def reset(self, seed: int, arm_qpos: np.ndarray | None = None) -> None:
        """Reset to the scene's seeded initial state: objects placed and yawed, robot at home."""
        mujoco.mj_resetData(self.model, self.data)
        start = initial_placement(self.scene, seed)
        for obj in self.scene.objects:
            xy, yaw = start[obj.name]
            if obj.name in self._free_qpos:
                adr = self._free_qpos[obj.name]
                z = self.scene.table.top_z + object_half_height(obj) + 1e-4
                pos = [xy[0], xy[1], z]
                self.data.qpos[adr : adr + 3] = pos
                self.data.qpos[adr + 3 : adr + 7] = yaw_quat(yaw)
        arm = HOME_QPOS if arm_qpos is None else np.asarray(arm_qpos, dtype=float)
        self.data.qpos[self.arm_qpos] = arm
        self.data.qpos[self.finger_qpos] = FINGER_OPEN
        self.data.ctrl[self.arm_ctrl] = arm
        self.data.ctrl[self.gripper_ctrl] = FINGER_OPEN
        mujoco.mj_forward(self.model, self.data)
        self.settle(0.3)
        self.initial_poses = self.object_poses()

    def settle(self, seconds: float) -> None:
        """Step with the current controls for ``seconds`` (lets objects come to rest)."""
        for _ in range(int(round(seconds / self.model.opt.timestep))):
            mujoco.mj_step(self.model, self.data)

    def step(self) -> None:
        """Advance one control period with the current actuator controls."""
        mujoco.mj_step(self.model, self.data, nstep=self.substeps)

    # -- state -------------------------------------------------------------------------------
    @property
    def time(self) -> float:
        return float(self.data.time)

    def arm_joints(self) -> np.ndarray:
        return self.data.qpos[self.arm_qpos].copy()

    def gripper_opening(self) -> float:
        """Opening of each finger in metres, 0 closed to 0.04 open."""
        return float(self.data.qpos[self.finger_qpos].mean())

    def tcp_pose(self) -> tuple[np.ndarray, np.ndarray]:
        """Tool centre point position (3,) and orientation (3×3) in the world frame."""
        return self.data.site_xpos[self.tcp_site].copy(), self.data.site_xmat[self.tcp_site].reshape(
            3, 3
        ).copy()

    def base_pose(self) -> tuple[np.ndarray, np.ndarray]:
        """The robot base's position (3,) and orientation (3×3) in the world frame."""
        return self.data.xpos[self.base_body].copy(), self.data.xmat[self.base_body].reshape(3, 3).copy()

    def proprioception(self) -> np.ndarray:
        """The policy's ``state`` vector (15): arm joints (7), finger opening (1), TCP position (3)
        and TCP orientation as a quaternion (4, w x y z), all in the world frame."""
        pos, rot = self.tcp_pose()
        return np.concatenate([self.arm_joints(), [self.gripper_opening()], pos, mat_to_quat(rot)])

    def object_points(self, name: str) -> np.ndarray:
        """The surface points [N, 3] of object ``name``'s geoms, in world coordinates, as it stands now."""
        from twin.scene.geoms import body_geoms, geom_surface

        return np.vstack(
            [geom_surface(self.model, self.data, g)[0] for g in body_geoms(self.model, self._body[name])]
        )

    def object_poses(self) -> dict[str, ObjectPose]:
        return {
            name: ObjectPose(self.data.xpos[b].copy(), self.data.xquat[b].copy())
            for name, b in self._body.items()
        }

    # -- rendering ---------------------------------------------------------------------------
    def renderer(self, width: int, height: int):
        key = (width, height)
        if key not in self._renderers:
            self._renderers[key] = RGBDRenderer(self.model, height=height, width=width)
        return self._renderers[key]

    def render(self, camera: str, width: int, height: int, depth: bool = False) -> CameraFrame:
        """Render ``camera`` headless; depth in metres along the optical axis when asked."""
        renderer = self.renderer(width, height)
        renderer.update_scene(self.data, camera=camera)
        rgb = renderer.render().copy()
        depth_image = None
        if depth:
            renderer.enable_depth_rendering()
            depth_image = renderer.render().astype(np.float32)
            renderer.disable_depth_rendering()
        return CameraFrame(rgb, depth_image, *self.camera_view(camera, width, height))

    def camera_view(self, camera: str, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
        """``(K, T_world_camera)`` of ``camera`` rendered at ``width``×``height``, OpenCV convention."""
        cam = self.model.camera(camera).id
        pose = opencv_pose_from_mujoco(self.data.cam_xpos[cam], self.data.cam_xmat[cam])
        return camera_intrinsics(self.model, cam, width, height), pose

    def render_rgbd(
        self, camera: str, width: int, height: int, option=None, shadows: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """RGB and metric depth of ``camera`` from one render pass; ``option`` picks geom groups,
        ``shadows=False`` skips the shadow-map passes."""
        renderer = self.renderer(width, height)
        renderer.update_scene(self.data, camera=camera, scene_option=option)
        flags = renderer.scene.flags
        saved = flags[mujoco.mjtRndFlag.mjRND_SHADOW]
        flags[mujoco.mjtRndFlag.mjRND_SHADOW] = saved and shadows
        try:
            return renderer.render_rgbd()
        finally:
            flags[mujoco.mjtRndFlag.mjRND_SHADOW] = saved

    def close(self) -> None:
        for renderer in self._renderers.values():
            renderer.close()
        self._renderers.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
