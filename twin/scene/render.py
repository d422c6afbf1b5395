"""Draw a twin as a camera would see it: splats for the scene, MuJoCo for the robot, merged by depth.

The background splats of a static camera are rendered once and reused, with what no camera saw
filled in (:mod:`twin.scene.holes`); the objects' splats (zones'
marks included) are drawn under their simulated poses, again only when a pose has changed; the robot
comes from one MuJoCo render pass that draws the robot alone (colour and depth together) and covers
whatever lies behind it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from twin.package import Twin
from twin.scene.builder import ROBOT_PREFIX
from twin.scene.holes import fill_unseen
from twin.scene.world import World, mujoco, robot_only_option
from twin.splats.camera import Cameras
from twin.splats.gaussians import Splats
from twin.splats.ply import read_ply
from twin.splats.rigid import render_rigid
from twin.transforms import pose_matrix, quat_to_mat

Layer = tuple[np.ndarray, np.ndarray, np.ndarray]  # (rgb [H,W,3] float, depth [H,W], alpha [H,W])
# metres: a zone's mark is drawn over background splats up to this far in front of it. A mark lies on
# the table, and the rendered depth of fitted table splats is only good to a few centimetres.
MARK_TOLERANCE = 0.05


def _merge(layers: list[Layer], bias=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Premultiplied colour, frontmost visible depth and alpha of ``layers`` composited per pixel;
    ``bias`` (metres, one per layer) is taken off a layer's depth for the ordering only."""
    rgb = np.stack([layer[0] for layer in layers])
    depth = np.stack([np.where(layer[2] > 1e-3, layer[1], np.inf) for layer in layers])
    alpha = np.stack([np.clip(layer[2], 0, 1) for layer in layers])
    key = depth if bias is None else depth - np.asarray(bias, dtype=float)[:, None, None]
    order = np.argsort(key, axis=0, kind="stable")
    out = np.zeros(rgb.shape[1:])
    remaining = np.ones(rgb.shape[1:3])
    for k in range(len(layers)):
        idx = order[k]
        a = np.take_along_axis(alpha, idx[None], 0)[0]
        c = np.take_along_axis(rgb, idx[None, ..., None].repeat(3, -1), 0)[0]
        out += (remaining * a)[..., None] * c
        remaining *= 1 - a
    nearest = np.take_along_axis(depth, order[:1], 0)[0]
    return out, np.where(np.isfinite(nearest), nearest, 0.0), 1 - remaining


def composite(layers: list[Layer]) -> tuple[np.ndarray, np.ndarray]:
    """Merge ``(rgb [H,W,3] float, depth [H,W], alpha [H,W])`` layers per pixel, nearest first.

    Each pixel composites its layers front to back by depth with their alphas (a layer with
    alpha 0 or no depth there is skipped); returns the colour and the nearest visible depth.
    """
    out, depth, _ = _merge(layers)
    return out, depth


def marks_on(background: Layer, marks: Layer) -> Layer:
    """One layer: zones' ``marks`` laid on the ``background``, drawn over it wherever it is less than
    :data:`MARK_TOLERANCE` in front of them (colour un-premultiplied)."""
    out, depth, alpha = _merge([marks, background], bias=(MARK_TOLERANCE, 0.0))
    return out / np.maximum(alpha, 1e-6)[..., None], depth, alpha


def ground_layer(background: Layer | None, marks: Layer | None) -> Layer | None:
    """The static scene as a twin draws it: the ``background`` with the zones' ``marks`` laid on it
    (:func:`marks_on`); either may be missing."""
    if background is None or marks is None:
        return marks if background is None else background
    return marks_on(background, marks)


def splat_layer(sets, cam: Cameras) -> Layer:
    """``(rgb, depth, alpha)`` of ``(splats, T_world_body)`` pairs in one camera, colour un-premultiplied:
    a layer for :func:`composite`."""
    with torch.no_grad():
        r = render_rigid(sets, cam)
    alpha = r.alpha[0, ..., 0].numpy()
    colour = r.rgb[0].numpy() / np.maximum(alpha, 1e-6)[..., None]
    return np.clip(colour, 0, 1), r.depth[0, ..., 0].numpy(), alpha


def twin_splats(twin: Twin) -> tuple[Splats | None, dict[str, Splats]]:
    """A twin's splats: the world-frame background (None if it has none) and each object's set."""
    background = read_ply(twin.path("background")) if twin.has("background") else None
    return background, {o.name: read_ply(twin.root / o.splats) for o in twin.objects if o.splats}


POSE_DECIMALS = 4  # object poses equal to 0.1 mm (and 1e-4 in quaternion) reuse the last object layer


@dataclass(frozen=True)
class SplatLighting:
    """Light changes the splats' baked colours get: an RGB gain, and a relighting from
    ``old_dir`` to ``new_dir`` (world-frame directions the main light travels) by depth normals."""

    gain: tuple[float, float, float] = (1.0, 1.0, 1.0)
    old_dir: tuple[float, float, float] | None = None
    new_dir: tuple[float, float, float] | None = None

    @property
    def identity(self) -> bool:
        return self.gain == (1.0, 1.0, 1.0) and (self.old_dir is None or self.old_dir == self.new_dir)


def _pose_key(pose) -> bytes:
    return np.round(np.r_[pose.pos, pose.quat], POSE_DECIMALS).tobytes()


class TwinRenderer:
    """Renders a twin world's cameras with splats and the simulated robot.

    ``background`` (world frame) and ``objects`` (name → body-frame splats) default to the twin's
    own; a renderer with neither draws MuJoCo's meshes alone (the fast mode for tests). Objects the
    world's scene marks ``visual_only`` (zones) are marks on the table, laid on the background
    (:func:`marks_on`); the others are merged with it by depth.
    """

    def __init__(
        self,
        world: World,
        twin: Twin | None = None,
        *,
        background: Splats | None = None,
        objects: dict[str, Splats] | None = None,
        lighting: SplatLighting = SplatLighting(),  # noqa: B008 - frozen dataclass
        mesh_only: bool = False,
    ):
        self.world = world
        if twin is not None and background is None and objects is None:
            background, objects = twin_splats(twin)
        self.background = None if mesh_only else background
        self.objects = {} if mesh_only else {n: s for n, s in (objects or {}).items() if len(s)}
        self.lighting = lighting
        self._robot_option = robot_only_option()
        marks = {o.name for o in world.scene.objects if o.visual_only}
        self.marks = [n for n in self.objects if n in marks]
        self.solids = [n for n in self.objects if n not in marks]
        self._background_cache: dict[tuple, tuple] = {}  # (camera, width, height) → (view, layer)
        self._object_cache: dict[tuple, tuple[tuple, tuple]] = {}  # (group, camera, w, h) → (key, layer)

    @property
    def splats(self) -> bool:
        """Whether the scene is drawn from splats (else from MuJoCo's meshes)."""
        return self.background is not None or bool(self.objects)

    def _camera(self, camera: str, width: int, height: int) -> Cameras:
        K, pose = self.world.camera_view(camera, width, height)
        return Cameras.from_poses(K, pose[None], width, height)

    def _layer(self, sets, cam: Cameras):
        colour, depth, alpha = splat_layer(sets, cam)
        return self._lit(colour, depth, cam), depth, alpha

    def _lit(self, colour: np.ndarray, depth: np.ndarray, cam: Cameras) -> np.ndarray:
        light = self.lighting
        if light.identity:
            return colour
        if light.old_dir is not None and light.old_dir != light.new_dir:
            from twin.scene.relight import relight

            R_world_camera = torch.linalg.inv(cam.viewmats[0].double())[:3, :3].numpy()  # noqa: N806
            colour = relight(
                colour,
                depth,
                cam.Ks[0].double().numpy(),
                R_world_camera,
                np.asarray(light.old_dir),
                np.asarray(light.new_dir),
            )
        return np.clip(colour * np.asarray(light.gain), 0, 1)

    def _posed_layer(self, group: str, names: list[str], poses, view, cam: Cameras, finish=None):
        """The layer of the objects ``names`` at their current ``poses`` (passed through ``finish``
        when given), re-rendered only when they moved."""
        key = (view, tuple(_pose_key(poses[n]) for n in names))
        slot = (group, *view[:3])  # one layer per group and camera: cameras taking turns keep theirs
        if slot not in self._object_cache or self._object_cache[slot][0] != key:
            sets = [(self.objects[n], pose_matrix(quat_to_mat(poses[n].quat), poses[n].pos)) for n in names]
            layer = self._layer(sets, cam)
            self._object_cache[slot] = (key, layer if finish is None else finish(layer))
        return self._object_cache[slot][1]

    def render(self, camera: str, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
        """``(rgb uint8 [H,W,3], depth [H,W] metres)`` of ``camera`` in the world's current state."""
        if not self.splats:
            return self.world.render_rgbd(camera, width, height)
        cam = self._camera(camera, width, height)
        view = (camera, width, height, cam.viewmats.numpy().round(6).tobytes())
        background = None
        if self.background is not None:
            # one view kept per camera and size: a static camera's view is reused every step, a moving
            # (wrist) camera's is replaced rather than piling up one layer per step
            slot = (camera, width, height)
            if self._background_cache.get(slot, (None,))[0] != view:  # what no camera saw is continued
                layer = fill_unseen(*self._layer([(self.background, np.eye(4))], cam))
                self._background_cache[slot] = (view, layer)
            background = self._background_cache[slot][1]
        poses = self.world.object_poses() if self.objects else {}
        ground = background
        if self.marks:  # cached laid on the background: both change only with the view or a mark's pose
            ground = self._posed_layer(
                "marks", self.marks, poses, view, cam, lambda marks: ground_layer(background, marks)
            )
        layers = [] if ground is None else [ground]
        if self.solids:
            layers.append(self._posed_layer("solids", self.solids, poses, view, cam))
        rgb, depth = self.world.render_rgbd(camera, width, height, self._robot_option, shadows=False)
        layers.append((rgb / 255.0, depth, (depth > 0).astype(float)))
        rgb, depth = composite(layers)
        return (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8), depth


def set_robot_joints(world: World, joint_positions, joint_names) -> None:
    """Pose the world's robot from a recorded row of joint positions (by joint name)."""
    row = np.asarray(joint_positions, dtype=float)
    for k, name in enumerate(joint_names):
        adr = world.model.joint(ROBOT_PREFIX + name).qposadr[0]
        world.data.qpos[adr] = row[k]
    mujoco.mj_forward(world.model, world.data)
