"""A twin's appearance: one splat fit of the static scene, split into background, objects and zones.

The scan frames of a demonstration see a static scene. One set of splats is fitted to them (robot
pixels ignored: the simulator draws the robot), then every splat inside an object's bounding box
goes to that object, expressed in its body frame, and the rest is the background. Fitting stops at
``steps``, at convergence or after ``seconds`` of wall-clock time, whichever comes first
(:func:`twin.splats.fit.stop_reason`): the same input gives the same splats unless the time budget
is what stopped it (the build reports which).

Zones (flat marks on the table) are split from that background next: the splats over a zone's
footprint, in a thin band around the table surface, become the zone's body-frame set, lifted a
little so they draw in front of the table; the background keeps a copy of them recoloured to the
table around the zone, so a zone moved by a perturbation leaves table behind, not a hole.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from twin.splats.camera import Cameras, points_from_rgbd, voxel_downsample
from twin.splats.edits import blend_colour, splat_colours
from twin.splats.fit import FitConfig, fit_splats
from twin.splats.gaussians import Splats
from twin.splats.rigid import transform_splats


@dataclass(frozen=True)
class AppearanceConfig:
    """Settings of the appearance stage."""

    steps: int = 800  # most optimisation steps (a step renders one frame)
    # wall-clock seconds of the fit at most (replaces fit.time_budget_s). A 10 s RGB-D demo's build on
    # 2 cores, one busy, spends ~10 s outside the fit (~30 s on a heavily loaded machine): this keeps
    # its total under 180 s
    seconds: float = 140.0
    init_voxel: float = 0.006  # metres: one initial splat per occupied voxel
    max_init_points: int = 50_000
    object_margin: float = 0.006  # metres added around an object's box when splats are split
    zone_margin: float = 0.003  # metres added around a zone's footprint when its splats are taken
    zone_band: float = 0.015  # metres: thickness of the slab about the table surface a zone takes
    zone_lift: float = 0.001  # metres a zone's splats are raised along its body +z
    zone_ring: float = 0.02  # metres: width of the ring outside a zone whose median colour is the table's
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


def fit_scene(frames, K, poses, depths, ignore, config: AppearanceConfig, init=None, clock=None):  # noqa: N803
    """Fit splats to posed frames ``[T,H,W,3]``; returns :class:`twin.splats.fit.FitResult`
    (``clock``: the budget's clock, see :func:`~twin.splats.fit.fit_splats`)."""
    frames = np.asarray(frames)
    cameras = Cameras.from_poses(K, poses, frames.shape[2], frames.shape[1])
    if init is None:
        init = initial_points(frames, depths, K, poses, ignore, config, config.fit.seed)
    fit = dataclasses.replace(config.fit, max_steps=config.steps, time_budget_s=config.seconds)
    return fit_splats(frames, cameras, init, depths=depths, config=fit, ignore=ignore, clock=clock)


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


# -- zones -----------------------------------------------------------------------------------------
def zone_local(points: np.ndarray, box: ObjectBox) -> np.ndarray:
    """``points`` in the zone's frame with z measured from the table surface (the body's bottom face)."""
    pose = np.asarray(box.pose, dtype=float)
    local = (np.asarray(points, dtype=float).reshape(-1, 3) - pose[:3, 3]) @ pose[:3, :3]
    local[:, 2] += float(box.half_extents[2])
    return local


def on_zone(points: np.ndarray, box: ObjectBox, margin: float, band: float) -> np.ndarray:
    """Which ``points`` lie over the zone's footprint grown by ``margin`` and within ``band / 2`` of
    the table surface under it."""
    local = zone_local(points, box)
    half = np.asarray(box.half_extents, dtype=float)[:2] + margin
    return np.all(np.abs(local[:, :2]) <= half, axis=1) & (np.abs(local[:, 2]) <= band / 2)


def around_zone(points: np.ndarray, box: ObjectBox, inner: float, width: float, band: float) -> np.ndarray:
    """Which ``points`` lie in the ring ``inner``..``inner + width`` outside the zone's footprint
    (a square ring in its frame), within ``band / 2`` of the table surface."""
    local = zone_local(points, box)
    half = np.asarray(box.half_extents, dtype=float)[:2]
    reach = np.max(np.abs(local[:, :2]) - half, axis=1)  # how far outside the footprint, per axis
    return (reach > inner) & (reach <= inner + width) & (np.abs(local[:, 2]) <= band / 2)


def median_colour(splats: Splats) -> np.ndarray | None:
    """Median view-independent colour ``0.5 + C0 · DC`` of ``splats`` (None for an empty set)."""
    return np.median(splat_colours(splats), axis=0) if len(splats) else None


def flat_coloured(splats: Splats, rgb) -> Splats:
    """``splats`` showing the one colour ``rgb`` from every side (DC set, higher SH bands zeroed)."""
    return blend_colour(splats, rgb, 1.0)


def lifted(splats: Splats, dz: float) -> Splats:
    """``splats`` moved by ``dz`` along their frame's +z."""
    return dataclasses.replace(splats, means=splats.means + np.array([0.0, 0.0, dz]))


def split_zones(
    background: Splats, zones: list[ObjectBox], config: AppearanceConfig
) -> tuple[Splats, dict[str, Splats]]:
    """Take each zone's splats out of ``background`` (split solids out first): the new background
    and one lifted body-frame set per zone (first zone wins on overlap).

    The background keeps a copy of every taken splat in the table's colour: the median colour of
    the background splats in the ring just outside the zone (off every zone), or, if that ring is
    empty, of all splats in the band about the table surface off every zone (with neither, the copy
    keeps its own colour)."""
    means = np.asarray(background.means, dtype=float)
    footprints = [on_zone(means, z, config.zone_margin, config.zone_band) for z in zones]
    off_zones = ~np.any(footprints, axis=0) if zones else np.ones(len(means), dtype=bool)
    taken = np.zeros(len(means), dtype=bool)
    sets, fills = {}, []
    for box, footprint in zip(zones, footprints, strict=True):
        mine = np.flatnonzero(footprint & ~taken)
        taken[mine] = True
        ring = around_zone(means, box, config.zone_margin + 0.005, config.zone_ring, config.zone_band)
        table = median_colour(background.subset(np.flatnonzero(ring & off_zones)))
        if table is None:
            wide = around_zone(means, box, config.zone_margin, np.inf, config.zone_band)
            table = median_colour(background.subset(np.flatnonzero(wide & off_zones)))
        ours = background.subset(mine)
        fills.append(ours if table is None else flat_coloured(ours, table))
        world_to_body = np.linalg.inv(np.asarray(box.pose, dtype=float))
        sets[box.name] = lifted(transform_splats(ours, world_to_body), config.zone_lift)
    kept = background.subset(np.flatnonzero(~taken))
    return (Splats.concat([kept, *fills]) if fills else kept), sets
