"""Robot logs as twin input: exterior and wrist cameras, RGB only, intrinsics only, joint states.

A log is calibrated from its robot (:mod:`twin.robot_cameras`), then reconstruction works from the
frames before the hand first comes down to the table (:func:`untouched_span`): until then no object
has moved. Those frames of every camera make one scan, each frame with its own intrinsics: the
wrist camera's moving views give depth by multi-view stereo, the exterior views appearance, and
the robot is masked out of every frame from the calibrated cameras and the recorded joints.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from twin.demonstration import Demonstration
from twin.robot_cameras import RobotCalibrationConfig, background, calibrate_log, calibration_entry

HAND_DOWN_MARGIN = 0.03  # metres above the tool's lowest point: the hand is down at the objects


def is_robot_log(demo: Demonstration) -> bool:
    """A demonstration with recorded joints but neither camera poses nor depth in any camera."""
    if demo.robot is None or "joint_positions" not in demo.robot.arrays:
        return False
    return all(c.T_world_camera is None and c.depth is None for c in demo.cameras.values())


def calibrated(demo: Demonstration, config: RobotCalibrationConfig | None = None, on_camera=None):
    """``demo`` with every camera's ``T_world_camera`` found from its robot and the robot's base as
    the world where it has no ``base_pose``; and calibration.json's camera entries."""
    found = calibrate_log(demo, config, on_camera)
    cameras = {
        name: dataclasses.replace(cam, T_world_camera=found[name].T_world_camera, K=found[name].K)
        for name, cam in demo.cameras.items()
    }
    robot = demo.robot
    if robot.base_pose is None:
        robot = dataclasses.replace(robot, base_pose=np.eye(4))
    entries = {
        name: calibration_entry(c, demo.cameras[name].width, demo.cameras[name].height)
        for name, c in found.items()
    }
    return dataclasses.replace(demo, cameras=cameras, robot=robot), entries


def untouched_span(tcp_z: np.ndarray, margin: float = HAND_DOWN_MARGIN) -> tuple[int, int]:
    """Frames ``[0, end)`` before the tool first comes within ``margin`` of its lowest height: it
    grasps or pushes down there, so no object has moved before."""
    z = np.asarray(tcp_z, dtype=float)
    down = np.flatnonzero(z <= z.min() + margin)
    return 0, int(down[0]) if len(down) else len(z)


@dataclass
class LogFrames:
    """The frames a robot-log twin is built from, all cameras together."""

    cameras: list[str]  # per frame, the camera it comes from
    frames: np.ndarray  # per frame, its index in the log
    rgb: np.ndarray  # [N,H,W,3]
    K: np.ndarray  # [N,3,3]
    poses: np.ndarray  # [N,4,4]
    robot: np.ndarray  # [N,H,W] bool
    heldout: np.ndarray  # indices (into the N frames) of exterior frames kept out of fitting
    info: dict[str, Any]


def log_frames(
    demo: Demonstration, view, per_camera: int, holdout_every: int, span: tuple[int, int]
) -> LogFrames:
    """Up to ``per_camera`` frames of ``span`` from each calibrated camera (every wrist frame of it,
    for stereo), resized to the first camera's size, with robot masks; every ``holdout_every``-th
    exterior frame is held out."""
    width, height = demo.primary.width, demo.primary.height
    start, end = span
    names, frames, rgb, ks, poses, robot, heldout = [], [], [], [], [], [], []
    joints = np.asarray(demo.robot.arrays["joint_positions"])
    for name, cam in demo.cameras.items():
        wrist = name == demo.wrist_camera
        count = end - start if wrist else min(per_camera, end - start)
        picks = np.unique(np.round(np.linspace(start, end - 1, num=count)).astype(int))
        k, images = _resized(cam, width, height, picks)
        cam_poses = np.stack([cam.pose(int(i)) for i in picks])
        masks = view.masks(joints[picks], k, cam_poses, width, height)
        if not wrist:
            heldout += [len(frames) + j for j in range(holdout_every // 2, len(picks), holdout_every)]
        names += [name] * len(picks)
        frames += picks.tolist()
        rgb.append(images)
        ks += [k] * len(picks)
        poses.append(cam_poses)
        robot.append(masks)
    info = {"span": [int(start), int(end)], "cameras": sorted(set(names), key=names.index)}
    return LogFrames(
        names,
        np.asarray(frames),
        np.concatenate(rgb),
        np.stack(ks),
        np.concatenate(poses),
        np.concatenate(robot),
        np.asarray(heldout, dtype=int),
        info,
    )


def _resized(cam, width: int, height: int, picks: np.ndarray):
    """The camera's frames ``picks`` at ``width``×``height``, and its intrinsics for that size."""
    images = cam.rgb[picks]
    if (cam.width, cam.height) == (width, height):
        return np.asarray(cam.K, dtype=float), images
    from PIL import Image

    sx, sy = width / cam.width, height / cam.height
    k = np.asarray(cam.K, dtype=float).copy()
    k[0] *= sx
    k[1] *= sy
    resized = [np.asarray(Image.fromarray(f).resize((width, height), Image.BILINEAR)) for f in images]
    return k, np.stack(resized)


def stereo_depth(log: LogFrames, wrist: str | None) -> np.ndarray:
    """Depth ``[N,H,W]`` (0 = unknown) by plane sweep among the wrist frames, which move with the
    hand; the static cameras' frames get none (they only add appearance)."""
    from twin.stereo import StereoConfig, depth_maps

    depth = np.zeros(log.rgb.shape[:3], dtype=np.float32)
    moving = np.flatnonzero(np.asarray(log.cameras) == wrist)
    if len(moving) < 2:
        return depth
    config = StereoConfig(depth_range=(0.1, 2.5), min_baseline=0.02, max_view_angle_deg=40.0)
    depth[moving] = depth_maps(
        log.rgb[moving], log.K[moving], log.poses[moving], list(range(len(moving))), config
    )
    depth[log.robot] = 0.0
    return depth


BACKDROP_M = 3.0  # metres: where a static camera's pixels that miss the table start


def backdrop_depth(K, poses, size: tuple[int, int], table_z: float, far: float = BACKDROP_M) -> np.ndarray:  # noqa: N803
    """Depth ``[N,H,W]`` at which each pixel's ray meets the table plane (``z = table_z``), or
    ``far`` where it meets it farther or not at all: a start for the splats of the walls and floor
    a static camera sees and no stereo measured."""
    h, w = size
    ks = np.broadcast_to(np.asarray(K, dtype=float), (len(poses), 3, 3))
    u, v = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    out = np.empty((len(poses), h, w), dtype=np.float32)
    for i, (k, pose) in enumerate(zip(ks, np.asarray(poses, dtype=float), strict=True)):
        rays = np.stack([(u - k[0, 2]) / k[0, 0], (v - k[1, 2]) / k[1, 1], np.ones_like(u)], axis=-1)
        down = rays @ pose[2, :3]  # the world z change of each ray per unit of depth
        height = table_z - pose[2, 3]
        with np.errstate(divide="ignore", invalid="ignore"):
            depth = np.where(down < -1e-6, height / down, np.inf)
        out[i] = np.where((depth > 0) & (depth < far), depth, far)
    return out


@dataclass(frozen=True)
class HullConfig:
    """The carved volume over the table that a robot log's objects are read from."""

    cell: float = 0.0025  # metres, the voxel side (the height map's cell)
    top: float = 0.2  # metres above the table carved
    table_sigmas: float = 4.0  # a pixel unlike the table by this many robust deviations is an object's
    min_delta: float = 0.08  # ... and by at least this much (0..1) in some channel
    min_views: int = 3  # a voxel no camera can rule out needs this many cameras that see it
    flat: float = 0.0055  # metres: stereo over a region mostly below this, ...
    flat_share: float = 0.3  # ... or below this share of its carved height, marks it flat
    edge_margin: float = 0.03  # metres along the table's estimated edge left uncarved: the floor
    # past it looks unlike the table to every camera, so a few cm of error there carve false objects

    def unlike_table(self, spread: np.ndarray) -> np.ndarray:
        """Per channel, how far (0..1) from the table's colour a colour lies to be an object's, given
        the table colour's robust ``spread``."""
        return np.maximum(self.table_sigmas * np.asarray(spread), self.min_delta)


def view_images(log: LogFrames, wrist: str | None):
    """The images the hull is carved from, with a mask of usable pixels each: each static camera's
    median over its frames (robot pixels left out: the scene behind the arm), each wrist frame."""
    names = np.asarray(log.cameras)
    out = []
    for name in dict.fromkeys(log.cameras):
        rows = np.flatnonzero(names == name)
        if name == wrist:
            out += [(log.rgb[i] / 255.0, ~log.robot[i], log.K[i], log.poses[i]) for i in rows]
            continue
        median, known = background(log.rgb[rows], log.robot[rows], margin=0)
        out.append((median.astype(float) / 255.0, known, log.K[rows[0]], log.poses[rows[0]]))
    return out


def table_colour(points: np.ndarray, colors: np.ndarray, table) -> tuple[np.ndarray, np.ndarray]:
    """The table's median colour and robust spread (per channel) from points on its plane."""
    on = np.abs(table.height_above(points)) < 0.004
    sample = colors[on] if on.sum() >= 50 else colors
    median = np.median(sample, axis=0)
    return median, 1.4826 * np.median(np.abs(sample - median), axis=0)


def hull_heights(views, table, colour, spread, config: HullConfig = HullConfig()):
    """The carved volume's height above the table per cell, ``(xy [X,Y,2], inside [X,Y], height
    [X,Y])``: a voxel stays where every camera that sees it sees something unlike the table there
    (and at least ``min_views`` see it); a cell's height is its run of voxels up from the table.
    Only cells ``edge_margin`` inside the table's edge count, and regions reaching them do not."""
    corners = table.corners_xy()
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    xs = np.arange(lo[0] + config.cell / 2, hi[0], config.cell)
    ys = np.arange(lo[1] + config.cell / 2, hi[1], config.cell)
    zs = table.height + np.arange(config.cell / 2, config.top, config.cell)
    xy = np.stack(np.meshgrid(xs, ys, indexing="ij"), axis=-1)
    half = np.maximum(np.asarray(table.half_extents_xy, dtype=float) - config.edge_margin, 0.0)
    inside = dataclasses.replace(table, half_extents_xy=half).contains_xy(xy)
    flat = np.concatenate(
        [np.repeat(xy.reshape(-1, 2), len(zs), axis=0), np.tile(zs, xy.shape[0] * xy.shape[1])[:, None]],
        axis=1,
    )
    kept = np.ones(len(flat), dtype=bool)
    seen = np.zeros(len(flat), dtype=np.int16)
    threshold = config.unlike_table(spread)
    for image, known, k, pose in views:
        foreground = (np.abs(image - colour) > threshold).any(axis=-1) & known
        u, v, ok = _pixels(flat, k, pose, known.shape)
        ok &= known[v, u]
        seen += ok
        kept &= ~(ok & ~foreground[v, u])
    kept &= seen >= config.min_views
    occupied = kept.reshape(*xy.shape[:2], len(zs)) & inside[..., None]
    run = np.cumprod(occupied, axis=2).astype(bool)  # standing on the table: the first voxels up
    height = run.sum(axis=2) * config.cell
    height[run[..., -1]] = 0.0  # uncarved up to the top: floor seen past the table's edge, not an object
    return xy, inside, off_the_edge(height, inside)


def off_the_edge(height: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """``height`` with every raised region that reaches the edge of ``inside`` put back on the
    table: what runs out to the uncarved border is the floor past a misjudged edge."""
    out = height.copy()
    out[reaching_the_edge(height > 0, inside)] = 0.0
    return out


def reaching_the_edge(mask: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """The connected regions of ``mask`` that reach the border of ``inside``."""
    from scipy import ndimage

    labels, count = ndimage.label(mask)
    if count == 0:
        return np.zeros_like(mask, dtype=bool)
    border = inside & ~ndimage.binary_erosion(inside)
    touching = np.unique(labels[border & (labels > 0)])
    return np.isin(labels, touching[touching > 0])


def checked_by_stereo(xy, height, points, table, config: HullConfig = HullConfig()) -> np.ndarray:
    """``height`` with every raised region put back on the table where stereo ``points`` over it
    mostly lie near the table (median under ``flat``, or under ``flat_share`` of the carved
    height): a flat coloured mark carves into a ridge (no camera can see that the space above it
    is empty), but stereo finds its edges at table height. Other regions are cut down to the
    height stereo finds their top at."""
    from scipy import ndimage

    out = height.copy()
    labels, count = ndimage.label(height > config.flat)
    if count == 0 or len(points) == 0:
        return out
    lo = xy[0, 0] - config.cell / 2
    ij = np.floor((points[:, :2] - lo) / config.cell).astype(int)
    ok = (ij >= 0).all(axis=1) & (ij[:, 0] < height.shape[0]) & (ij[:, 1] < height.shape[1])
    above = table.height_above(points[ok])
    owner = labels[ij[ok, 0], ij[ok, 1]]
    for lab in range(1, count + 1):
        over = above[owner == lab]
        carved = np.median(height[labels == lab])
        if len(over) < 5:
            continue
        if np.median(over) < max(config.flat, config.flat_share * carved):
            out[labels == lab] = 0.0
        else:  # what stands there is no taller than stereo found its top (seen from above, the
            # space over a top is never carved)
            out[labels == lab] = np.minimum(out[labels == lab], np.quantile(over, 0.9) + config.cell)
    return out


def surface_points(
    views, xy, inside, height, table, colour=None, spread=None, config: HullConfig = HullConfig()
):
    """One point per table cell on the carved top, coloured by the cameras that see it. Given the
    table's ``colour`` and its ``spread``, a region unlike the table that reaches the uncarved
    border takes the table's colour: it is the floor past a misjudged edge, which would be read
    as a zone."""
    tops = np.concatenate([xy, (table.height + height)[..., None]], axis=-1)
    total, count = np.zeros(tops.shape), np.zeros(tops.shape[:2])
    for image, known, k, pose in views:
        u, v, ok = _pixels(tops.reshape(-1, 3), k, pose, known.shape)
        u, v = u.reshape(count.shape), v.reshape(count.shape)
        ok = ok.reshape(count.shape) & known[v, u] & inside
        total[ok] += image[v[ok], u[ok]]
        count += ok
    seen = count > 0
    colours = total / np.maximum(count, 1)[..., None]
    if colour is not None:
        unlike = (np.abs(colours - colour) > config.unlike_table(spread)).any(axis=-1) & seen
        colours[reaching_the_edge(unlike, inside)] = colour
    return tops[seen], colours[seen]


def _pixels(points: np.ndarray, k: np.ndarray, pose: np.ndarray, shape: tuple[int, int]):
    """Integer pixels of world ``points`` in a camera, and which are in front and inside."""
    inv = np.linalg.inv(pose)
    cam = points @ inv[:3, :3].T + inv[:3, 3]
    z = np.maximum(cam[:, 2], 1e-6)
    u = np.floor(k[0, 0] * cam[:, 0] / z + k[0, 2]).astype(np.int64)
    v = np.floor(k[1, 1] * cam[:, 1] / z + k[1, 2]).astype(np.int64)
    ok = (cam[:, 2] > 0.02) & (u >= 0) & (u < shape[1]) & (v >= 0) & (v < shape[0])
    return np.where(ok, u, 0), np.where(ok, v, 0), ok


def seen_table(views, table, colour, spread, config: HullConfig = HullConfig(), reach: float = 1.2):
    """``table`` grown to the part of its plane the cameras see in the table's colours: stereo
    among the wrist frames covers only where the hand went, the exterior cameras see the rest.
    A 1 cm cell counts when at least ``min_views`` cameras see it and none sees an object's colour;
    the table is the minimum-area rectangle of the connected cells around the stereo table."""
    from scipy import ndimage

    from twin.tabletop import Table, min_area_rectangle

    step = 0.01
    axis = np.arange(-reach, reach, step)
    xy = np.stack(np.meshgrid(table.center_xy[0] + axis, table.center_xy[1] + axis, indexing="ij"), axis=-1)
    flat = xy.reshape(-1, 2)
    points = np.concatenate([flat, np.full((len(flat), 1), table.height)], axis=1)
    points[:, 2] -= (points[:, :2] - table.center_xy) @ np.asarray(table.normal[:2]) / table.normal[2]
    seen = np.zeros(len(flat), dtype=np.int16)
    unlike = np.zeros(len(flat), dtype=bool)
    threshold = config.unlike_table(spread)
    for image, known, k, pose in views:
        u, v, ok = _pixels(points, k, pose, known.shape)
        ok &= known[v, u]
        seen += ok
        unlike |= ok & (np.abs(image[v, u] - colour) > threshold).any(axis=-1)
    like = ((seen >= config.min_views) & ~unlike).reshape(xy.shape[:2])
    like = ndimage.binary_closing(like, np.ones((5, 5), dtype=bool))  # objects and specks on it
    labels, _ = ndimage.label(like)
    centre = np.round(reach / step).astype(int)
    core = labels[centre, centre]
    if core == 0 or np.count_nonzero(labels == core) * step**2 <= 4 * np.prod(table.half_extents_xy):
        return table
    filled = ndimage.binary_fill_holes(labels == core)
    centre_xy, half, yaw = min_area_rectangle(xy[filled])
    return Table(table.height, centre_xy, half, yaw, table.normal)
