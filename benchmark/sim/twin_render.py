"""Draw a twin as a camera would see it: splats for the scene, MuJoCo for the robot, merged by depth.

The background splats of a static camera are rendered once and reused; the objects' splats are
drawn under their simulated poses every frame; the robot comes from MuJoCo's renderer and covers
whatever lies behind it.
"""

from __future__ import annotations

import numpy as np
import torch

from benchmark.sim.scene_builder import ROBOT_PREFIX
from benchmark.sim.world import World, camera_intrinsics, mujoco
from twin.package import Twin
from twin.splats.camera import Cameras
from twin.splats.ply import read_ply
from twin.splats.rigid import render_rigid
from twin.transforms import opencv_pose_from_mujoco, pose_matrix, quat_to_mat


def composite(layers: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Merge ``(rgb [H,W,3] float, depth [H,W], alpha [H,W])`` layers per pixel, nearest first.

    Each pixel composites its layers front to back by depth with their alphas (a layer with
    alpha 0 or no depth there is skipped); returns the colour and the nearest visible depth.
    """
    rgb = np.stack([layer[0] for layer in layers])
    depth = np.stack([np.where(layer[2] > 1e-3, layer[1], np.inf) for layer in layers])
    alpha = np.stack([np.clip(layer[2], 0, 1) for layer in layers])
    order = np.argsort(depth, axis=0, kind="stable")
    out = np.zeros(rgb.shape[1:])
    remaining = np.ones(rgb.shape[1:3])
    for k in range(len(layers)):
        idx = order[k]
        a = np.take_along_axis(alpha, idx[None], 0)[0]
        c = np.take_along_axis(rgb, idx[None, ..., None].repeat(3, -1), 0)[0]
        out += (remaining * a)[..., None] * c
        remaining *= 1 - a
    nearest = np.take_along_axis(depth, order[:1], 0)[0]
    return out, np.where(np.isfinite(nearest), nearest, 0.0)


class TwinRenderer:
    """Renders a twin world's cameras with splats and the simulated robot."""

    def __init__(self, world: World, twin: Twin):
        self.world = world
        self.background = read_ply(twin.path("background")) if twin.has("background") else None
        self.objects = {o.name: read_ply(twin.root / o.splats) for o in twin.objects if o.splats}
        m = world.model
        robot_bodies = {b for b in range(m.nbody) if m.body(b).name.startswith(ROBOT_PREFIX)}
        self._robot_geom = np.array([m.geom_bodyid[g] in robot_bodies for g in range(m.ngeom)] + [False])
        self._background_cache: dict[tuple, tuple] = {}

    def _camera(self, camera: str, width: int, height: int) -> Cameras:
        m, d = self.world.model, self.world.data
        cam = m.camera(camera).id
        pose = opencv_pose_from_mujoco(d.cam_xpos[cam], d.cam_xmat[cam])
        return Cameras.from_poses(camera_intrinsics(m, cam, width, height), pose[None], width, height)

    def _layer(self, sets, cam: Cameras):
        r = render_rigid(sets, cam)
        alpha = r.alpha[0, ..., 0].numpy()
        colour = r.rgb[0].numpy() / np.maximum(alpha, 1e-6)[..., None]  # un-premultiplied
        return np.clip(colour, 0, 1), r.depth[0, ..., 0].numpy(), alpha

    def render(self, camera: str, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
        """``(rgb uint8 [H,W,3], depth [H,W] metres)`` of ``camera`` in the world's current state."""
        cam = self._camera(camera, width, height)
        layers = []
        if self.background is not None:
            key = (camera, width, height, cam.viewmats.numpy().round(6).tobytes())
            if key not in self._background_cache:
                with torch.no_grad():
                    self._background_cache[key] = self._layer([(self.background, np.eye(4))], cam)
            layers.append(self._background_cache[key])
        poses = self.world.object_poses()
        sets = [
            (s, pose_matrix(quat_to_mat(poses[n].quat), poses[n].pos))
            for n, s in self.objects.items()
            if len(s)
        ]
        if sets:
            with torch.no_grad():
                layers.append(self._layer(sets, cam))
        sim = self.world.render(camera, width, height, depth=True)
        renderer = self.world.renderer(width, height)
        renderer.enable_segmentation_rendering()
        renderer.update_scene(self.world.data, camera=camera)
        seg = renderer.render()[..., 0]
        renderer.disable_segmentation_rendering()
        robot = self._robot_geom[np.where(seg >= 0, seg, -1)]
        layers.append((sim.rgb / 255.0, sim.depth, robot.astype(float)))
        if not self.objects and self.background is None:  # a twin without splats: the mesh view
            return sim.rgb, sim.depth
        rgb, depth = composite(layers)
        return (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8), depth


def set_robot_joints(world: World, joint_positions, joint_names) -> None:
    """Pose the world's robot from a recorded row of joint positions (by joint name)."""
    row = np.asarray(joint_positions, dtype=float)
    for k, name in enumerate(joint_names):
        adr = world.model.joint(ROBOT_PREFIX + name).qposadr[0]
        world.data.qpos[adr] = row[k]
    mujoco.mj_forward(world.model, world.data)
