"""A twin's appearance: one splat fit of the static scene, split into background and objects.

The scan frames of a demonstration see a static scene. One set of splats is fitted to them (robot
pixels ignored: the simulator draws the robot), then every splat inside an object's bounding box
goes to that object, expressed in its body frame, and the rest is the background. Fitting runs a
fixed number of steps, so the same input always gives the same splats.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from twin.splats.camera import Cameras, points_from_rgbd, voxel_downsample
from twin.splats.fit import FitConfig, fit_splats
from twin.splats.gaussians import Splats
from twin.splats.rigid import transform_splats


@dataclass(frozen=True)
class AppearanceConfig:
    """Settings of the appearance stage."""

    steps: int = 800  # optimisation steps (a step renders one frame)
    init_voxel: float = 0.006  # metres: one initial splat per occupied voxel
    max_init_points: int = 50_000
    object_margin: float = 0.006  # metres added around an object's box when splats are split
    fit: FitConfig = field(
        default_factory=lambda: FitConfig(time_budget_s=float("inf"), sh_degree=1, depth_weight=0.1)
    )


@dataclass(frozen=True)
class ObjectBox:
    """Where an object sits: ``T_world_body`` and the body-frame half extents of its box."""

    name: str
    pose: np.ndarray
    half_extents: np.ndarray


def initial_points(rgb, depth, K, poses, ignore, config: AppearanceConfig, seed: int = 0):  # noqa: N803
    """Coloured points from RGB-D frames (ignored pixels dropped), voxel-downsampled and capped."""
    depth = np.where(ignore, 0.0, depth) if ignore is not None else depth
    xyz, colors = points_from_rgbd(rgb, depth, K, poses, stride=2)
    xyz, colors = voxel_downsample(xyz, colors, config.init_voxel)
    if len(xyz) > config.max_init_points:
        keep = np.sort(np.random.default_rng(seed).choice(len(xyz), config.max_init_points, replace=False))
        xyz, colors = xyz[keep], colors[keep]
    return xyz, colors


def fit_scene(frames, K, poses, depths, ignore, config: AppearanceConfig, init=None):  # noqa: N803
    """Fit splats to posed frames ``[T,H,W,3]``; returns :class:`twin.splats.fit.FitResult`."""
    frames = np.asarray(frames)
    cameras = Cameras.from_poses(K, poses, frames.shape[2], frames.shape[1])
    if init is None:
        init = initial_points(frames, depths, K, poses, ignore, config, config.fit.seed)
    fit = dataclasses.replace(config.fit, max_steps=config.steps)
    return fit_splats(frames, cameras, init, depths=depths, config=fit, ignore=ignore)


def inside_box(points: np.ndarray, box: ObjectBox, margin: float) -> np.ndarray:
    """Which world ``points`` lie inside ``box`` grown by ``margin`` (the bottom is not grown)."""
    pose = np.asarray(box.pose, dtype=float)
    local = (np.asarray(points, dtype=float) - pose[:3, 3]) @ pose[:3, :3]
    half = np.asarray(box.half_extents, dtype=float)
    lower = -half + np.array([-margin, -margin, 0.002])
    upper = half + margin
    return np.all((local >= lower) & (local <= upper), axis=1)


def split_splats(splats: Splats, boxes: list[ObjectBox], margin: float) -> tuple[Splats, dict[str, Splats]]:
    """The background set and one body-frame set per object box (first box wins on overlap)."""
    means = np.asarray(splats.means, dtype=float)
    taken = np.zeros(len(means), dtype=bool)
    objects = {}
    for box in boxes:
        mine = inside_box(means, box, margin) & ~taken
        taken |= mine
        world_to_body = np.linalg.inv(np.asarray(box.pose, dtype=float))
        objects[box.name] = transform_splats(splats.subset(np.flatnonzero(mine)), world_to_body)
    return splats.subset(np.flatnonzero(~taken)), objects
