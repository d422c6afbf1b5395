"""Seeing objects in a camera image: colour masks back-projected onto the table, and the
scripted expert that plans from them instead of from the simulator's state.

:class:`VisionExpert` is the scripted expert as a policy under evaluation: it reads only the
observation (one static camera's image and the proprioceptive state) and what a policy trained
in the unperturbed twin would know: the camera's nominal calibration, the objects' shapes and how
they looked there. Lighting, colour and camera perturbations therefore reach it the way they
reach a learned policy.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from benchmark.sim.expert import ExpertConfig, ScriptedExpert, footprint_rectangularity
from twin.scene.builder import object_half_height
from twin.scene.spec import ObjectSpec, SceneSpec, TaskSpec
from twin.tabletop import inside_hull, min_area_rectangle
from twin.transforms import quat_to_mat, rotate_xy

COLOUR_TOLERANCE = 0.16  # RGB distance (0–1 per channel) that still counts as the object's colour
MIN_PIXELS = 6


@dataclass(frozen=True)
class View:
    """A calibrated static camera: OpenCV ``K`` and ``T_world_camera`` at ``width``×``height``."""

    name: str
    K: np.ndarray
    T_world_camera: np.ndarray
    width: int
    height: int


def project(points: np.ndarray, view: View) -> np.ndarray:
    """Pixel coordinates (u, v) of world points [N, 3]."""
    T = np.linalg.inv(view.T_world_camera)
    cam = np.asarray(points, dtype=float) @ T[:3, :3].T + T[:3, 3]
    uvw = cam @ view.K.T
    return uvw[:, :2] / uvw[:, 2:3]


def backproject_to_plane(pixels: np.ndarray, view: View, z: float) -> np.ndarray:
    """World points [N, 3] where the rays through ``pixels`` (u, v) meet the plane at height ``z``."""
    uv1 = np.c_[np.asarray(pixels, dtype=float), np.ones(len(pixels))]
    rays = (uv1 @ np.linalg.inv(view.K).T) @ view.T_world_camera[:3, :3].T
    origin = view.T_world_camera[:3, 3]
    t = (z - origin[2]) / np.where(np.abs(rays[:, 2]) > 1e-9, rays[:, 2], 1e-9)
    return origin + t[:, None] * rays


def reference_colour(image: np.ndarray, view: View, point: np.ndarray, window: int = 1) -> np.ndarray:
    """Median RGB (0–1) of the pixels around the projection of ``point``."""
    u, v = np.round(project(point[None], view)[0]).astype(int)
    u = int(np.clip(u, window, view.width - 1 - window))
    v = int(np.clip(v, window, view.height - 1 - window))
    patch = image[v - window : v + window + 1, u - window : u + window + 1].reshape(-1, 3)
    return np.median(patch, axis=0) / 255.0


def colour_mask(image: np.ndarray, colour: np.ndarray, tolerance: float = COLOUR_TOLERANCE) -> np.ndarray:
    """Pixels within ``tolerance`` (RGB distance) of ``colour``: the largest connected blob."""
    distance = np.linalg.norm(image / 255.0 - np.asarray(colour), axis=-1)
    labels, count = ndimage.label(distance < tolerance)
    if count == 0:
        return np.zeros(image.shape[:2], dtype=bool)
    sizes = ndimage.sum_labels(np.ones_like(labels), labels, index=np.arange(1, count + 1))
    return labels == 1 + int(np.argmax(sizes))


def outline_points(obj: ObjectSpec, centre: np.ndarray, yaw: float, part: str = "whole") -> np.ndarray:
    """World points [N, 3] whose convex hull, seen from any viewpoint, outlines a ``part`` of the
    object centred at ``centre``: ``whole`` (the corners of its bounding box, or the rims of a
    round object's top and bottom faces), ``top`` (its top face; a sphere's equator), and for
    trays ``opening`` (the inner rim) and ``floor`` (the inside of the floor)."""
    h = object_half_height(obj)
    levels = {"whole": np.array([-1.0, 1.0]), "top": np.array([1.0]), "opening": np.array([1.0])}.get(part)
    if obj.shape in ("cylinder", "prism", "sphere"):
        ring = np.linspace(0.0, 2 * np.pi, 24, endpoint=False)
        if obj.shape == "sphere":
            levels = np.linspace(-1, 1, 7) if part == "whole" else np.array([0.0])
        radii = obj.size[0] * (np.sqrt(1 - levels**2) if obj.shape == "sphere" else np.ones(len(levels)))
        local = np.concatenate(
            [
                np.c_[r * np.cos(ring), r * np.sin(ring), np.full(len(ring), z * h)]
                for z, r in zip(levels, radii, strict=True)
            ]
        )
    else:
        hx, hy = obj.size[0], obj.size[1]
        if part in ("opening", "floor"):
            wall = obj.size[3]
            hx, hy = hx - wall, hy - wall
            levels = levels if part == "opening" else np.array([-1.0 + 2 * wall / (2 * h)])
        local = np.array([[sx * hx, sy * hy, z * h] for sx in (-1, 1) for sy in (-1, 1) for z in levels])
    local[:, :2] = rotate_xy(local[:, :2], yaw)
    return local + np.asarray(centre, dtype=float)


def seen_region(
    obj: ObjectSpec, centre: np.ndarray, yaw: float, reading: str, view: View, pixels
) -> np.ndarray:
    """Which ``pixels`` [M, 2] show the object's ``reading``: ``top`` or ``whole`` (see
    :func:`outline_points`), or ``floor``, a tray's floor where its inner rim does not hide it."""
    if reading == "floor":
        floor = inside_hull(project(outline_points(obj, centre, yaw, "floor"), view), pixels)
        return floor & inside_hull(project(outline_points(obj, centre, yaw, "opening"), view), pixels)
    return inside_hull(project(outline_points(obj, centre, yaw, reading), view), pixels)


def readings_of(obj: ObjectSpec) -> tuple[str, ...]:
    """What a colour mask of ``obj`` may hold (see :func:`seen_region`)."""
    return ("top", "whole", "floor") if obj.shape == "tray" else ("top", "whole")


def centre_from_mask(
    pixels: np.ndarray,
    view: View,
    obj: ObjectSpec,
    yaw: float,
    table_z: float,
    steps: int = 4,
    readings: tuple[str, ...] | None = None,
) -> tuple[np.ndarray, str]:
    """The centre (x, y, z) of ``obj``, resting on the table at ``table_z``, whose projection best
    explains the mask ``pixels`` [N, 2] (u, v, pixel centres).

    The mask may hold the top face alone, or the whole silhouette where the sides are lit like the
    top, or (a tray) the part of its floor its rim leaves in view. For each reading, the centre is
    the fixed point at which that projected region has its centroid at the mask's (pixels
    back-projected onto the top face's plane land nearer the camera the lower they are); the
    reading whose region overlaps the mask best wins (among ``readings``, default all of
    :func:`readings_of`). Returns the centre and the reading."""
    h = object_half_height(obj)
    seen = pixels.mean(axis=0)
    start = np.array([*backproject_to_plane(pixels, view, table_z + 2 * h)[:, :2].mean(axis=0), table_z + h])
    low, high = np.floor(pixels.min(axis=0)) - 30, np.ceil(pixels.max(axis=0)) + 30
    cols, rows = np.arange(low[0], high[0]) + 0.5, np.arange(low[1], high[1]) + 0.5
    grid = np.stack(np.meshgrid(cols, rows), -1).reshape(-1, 2)
    in_mask = np.zeros(len(grid), dtype=bool)
    in_mask[((pixels[:, 1] - rows[0]) * len(cols) + pixels[:, 0] - cols[0]).round().astype(int)] = True
    best, best_overlap = (start, "top"), -1.0
    for reading in readings or readings_of(obj):
        centre = start.copy()
        for _ in range(steps):
            region = seen_region(obj, centre, yaw, reading, view, grid)
            if not region.any():
                break
            moved = backproject_to_plane(np.array([seen, grid[region].mean(axis=0)]), view, centre[2])
            centre[:2] += moved[0, :2] - moved[1, :2]
        region = seen_region(obj, centre, yaw, reading, view, grid)
        overlap = (region & in_mask).sum() / max((region | in_mask).sum(), 1)
        if overlap > best_overlap:
            best, best_overlap = (centre, reading), overlap
    return best


def locate(
    image: np.ndarray,
    view: View,
    colour: np.ndarray,
    z: float,
    obj: ObjectSpec | None = None,
    readings: tuple[str, ...] | None = None,
) -> tuple[np.ndarray, float, str | None] | None:
    """The centre (x, y), yaw and reading of the object whose top face, at height ``z``, shows
    ``colour``: the mean and the oriented rectangle of its mask back-projected onto that plane;
    None when fewer than :data:`MIN_PIXELS` pixels match. With ``obj`` (its shape, resting on the
    table with its top at ``z``), the centre allows for the sides the camera also sees, which pull
    a top-plane mean towards the camera (:func:`centre_from_mask`, among ``readings``); without,
    the reading is None."""
    mask = colour_mask(image, colour)
    if mask.sum() < MIN_PIXELS:
        return None
    v, u = np.nonzero(mask)
    pixels = np.c_[u + 0.5, v + 0.5]
    points = backproject_to_plane(pixels, view, z)[:, :2]
    _, _, yaw = min_area_rectangle(points)
    if obj is None:
        return points.mean(axis=0), float(yaw), None
    table_z = z - 2 * object_half_height(obj)
    centre, reading = centre_from_mask(pixels, view, obj, float(yaw), table_z, readings=readings)
    return centre[:2], float(yaw), reading


class ObjectNotSeen(LookupError):
    """No pixel of the image matches an object the plan needs."""


class VisionExpert(ScriptedExpert):
    """The scripted expert's plans, from object poses seen in one camera image.

    ``colours``: each object's colour as the camera saw it in the unperturbed twin. The plan is
    made on the first observation; pushes of round objects re-aim from every new image, reading
    each object's mask as it read it at first sight (top face or whole silhouette), so the gripper
    hiding part of it cannot flip the reading. Fixed objects and marks (zones) are located once:
    they do not move, and a pushed object covering a zone would hide it. When an object the plan
    needs is nowhere in the first image, the expert stays where it is.
    """

    def __init__(
        self,
        scene: SceneSpec,
        task: TaskSpec,
        view: View,
        colours: dict[str, np.ndarray],
        config: ExpertConfig | None = None,
        seed: int = 0,
    ):
        super().__init__(None, task, config, seed)
        self.objects = {o.name: o for o in scene.objects}
        self.table_z = scene.table.top_z
        self.view = view
        self.colours = colours
        self.observation: dict | None = None
        self._seen: dict[str, tuple[np.ndarray, float]] = {}
        self._readings: dict[str, tuple[str, ...]] = {}  # what each object's mask held at first sight

    @classmethod
    def calibrated(cls, env, camera: str | None = None, config: ExpertConfig | None = None, seed: int = 0):
        """A vision expert for ``env``'s twin, calibrated on the unperturbed twin (``env``'s config
        without perturbations, seed 0): the view and each object's colour there."""
        from benchmark.episodes.env import TwinEnv

        nominal = TwinEnv(env.twin, dataclasses.replace(env.config, perturbations=()))
        try:
            obs, _ = nominal.reset(seed=0)
            world = nominal.scenario.world
            name = camera or nominal.scenario.cameras[0]
            w, h = nominal.config.image_size
            view = View(name, *world.camera_view(name, w, h), w, h)
            image = obs["images"][name]
            colours = {}
            for n, pose in world.object_poses().items():
                top = pose.pos + quat_to_mat(pose.quat) @ [0, 0, object_half_height(nominal.objects[n])]
                colours[n] = reference_colour(image, view, top)
            scene = nominal.scenario.scene
            shapes = {n: footprint_rectangularity(world, n) for n in world.object_poses()}  # known shapes
        finally:
            nominal.close()
        expert = cls(scene, scene.tasks[0], view, colours, config, seed)
        expert.rectangularity = shapes
        return expert

    def reset(self, instruction: str = "") -> None:
        self.plan = []
        self.observation = None
        self._seen = {}
        self._readings = {}

    def _tcp_pose(self) -> tuple[np.ndarray, np.ndarray]:
        state = np.asarray(self.observation["state"], dtype=float)
        return state[8:11].copy(), quat_to_mat(state[11:15])

    def _object_frame(self, name: str) -> tuple[np.ndarray, float]:
        obj = self.objects[name]
        if name in self._seen and (obj.fixed or obj.visual_only):
            return self._seen[name]  # marks and fixed objects stay put (and get hidden by what arrives)
        z = self.table_z + object_half_height(obj)
        top = self.table_z + 2 * object_half_height(obj)
        image = self.observation["images"][self.view.name]
        found = locate(image, self.view, self.colours[name], top, obj, self._readings.get(name))
        if found is not None:
            self._seen[name] = (np.array([*found[0], z]), found[1])
            self._readings.setdefault(name, (found[2],))  # first sight, the robot out of the way
        if name not in self._seen:
            raise ObjectNotSeen(name)
        return self._seen[name]

    def act(self, observation=None) -> np.ndarray:
        first = self.observation is None
        self.observation = observation
        if first:
            try:
                self._start()
            except ObjectNotSeen:  # nothing to plan from: stay put, as a lost policy would
                self.cmd_pos, self.cmd_rot = self._tcp_pose()
                self.plan, self._gripper = [], 0.0
        return super().act(observation)
