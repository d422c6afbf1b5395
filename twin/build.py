"""``build_twin``: one demonstration in, one twin package out, stage by stage, no human in the loop.

Stages (each timed into ``twin.json``): read → calibration (robot logs only: the cameras from the
robot, :mod:`twin.robot_log`) → cameras → robot masks → geometry (TSDF, table, objects) → meshes
and collision parts → task roles → splats → scene.xml → fidelity → package.
Everything is seeded and runs a fixed amount of work, so the same input gives the same twin.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from twin import calibration as calib
from twin import meshes, roles, tabletop, tsdf
from twin.appearance import AppearanceConfig, ObjectBox, fit_scene, split_splats, split_zones
from twin.demonstration import Demonstration, DemonstrationError, check_demonstration, read_demonstration
from twin.errors import TwinBuildError
from twin.footprints import clear_footprints
from twin.package import SOLID_START_RANGE, TwinManifest, staging_folder, write_json, write_twin
from twin.plausibility import plausibility_problems
from twin.robot_cameras import RobotCalibrationConfig
from twin.robot_log import is_robot_log
from twin.splats.camera import points_from_rgbd, voxel_downsample
from twin.transforms import pose_matrix, quat_to_mat, yaw_quat

STAGES = ("read", "calibration", "cameras", "geometry", "meshes", "task", "splats", "fidelity", "package")
SCENE_MARGIN = 0.02  # metres below the table top the TSDF box starts
SCENE_HEIGHT = 0.35  # metres above the table top the TSDF box ends
ARM_STILL_RAD = 2e-3  # a joint this far (rad) from where it started: the robot has begun to move
ROBOT_CONTROL_HZ = 10.0  # a twin's default control rate: the Panda's in TwinArena, whatever the video's fps


@dataclass(frozen=True)
class BuildConfig:
    """Settings of one build."""

    max_scan_frames: int = 40  # frames of the scan segment used (evenly spread)
    holdout_every: int = 8  # every 8th of them is held out of fitting, for fidelity
    robot_base_clearance: float = 0.16  # metres around the robot base ignored by object finding
    tsdf: tsdf.TSDFConfig = field(default_factory=tsdf.TSDFConfig)
    tabletop: tabletop.TabletopConfig = field(default_factory=tabletop.TabletopConfig)
    convex: meshes.ConvexConfig = field(default_factory=meshes.ConvexConfig)
    appearance: AppearanceConfig = field(default_factory=AppearanceConfig)
    robot_calibration: RobotCalibrationConfig = field(default_factory=RobotCalibrationConfig)
    seed: int = 0

    def __post_init__(self):
        if not isinstance(self.holdout_every, int) or self.holdout_every < 2:
            raise TwinBuildError(f"holdout_every must be an integer ≥ 2, got {self.holdout_every!r}")
        if not isinstance(self.max_scan_frames, int) or self.max_scan_frames < self.min_scan_frames:
            raise TwinBuildError(
                f"scan frames: {self.max_scan_frames!r} is too few; a build needs at least "
                f"{self.min_scan_frames} (every {self.holdout_every}th is held out to measure fidelity)"
            )

    @property
    def min_scan_frames(self) -> int:
        """The fewest scan frames a build works from: enough that one is held out for fidelity."""
        return self.holdout_every // 2 + 1


@dataclass
class Scan:
    """The frames reconstruction works from, with poses, depth and robot masks."""

    frames: np.ndarray  # indices into the demonstration
    rgb: np.ndarray
    depth: np.ndarray
    K: np.ndarray
    poses: np.ndarray
    robot: np.ndarray | None  # bool [T, H, W], True on robot pixels
    world_frame: str
    calibration: dict[str, Any]
    heldout: np.ndarray | None = None  # frames kept out of fitting; None: every holdout_every-th
    cameras: list[str] | None = None  # per frame, its camera, when frames come from several

    def intrinsics(self, index) -> np.ndarray:
        """K of the frames ``index``: the one 3×3, or theirs when each frame has its own."""
        return self.K if self.K.ndim == 2 else self.K[index]


def load_demonstration(
    source: str | Path, episode: int | None = None, sidecar: str | Path | None = None
) -> Demonstration:
    """A demonstration folder, or one episode of a LeRobotDataset (v2.1 or v3.0) root (read with
    its robot-log ``sidecar``, see :func:`twin.lerobot.import_lerobot`)."""
    source = Path(source)
    if (source / "meta" / "info.json").is_file():
        from twin.lerobot import import_lerobot

        return import_lerobot(source, 0 if episode is None else episode, sidecar=sidecar)
    return read_demonstration(source)


def scan_span(demo: Demonstration) -> tuple[int, int, str]:
    """The frames ``[start, end)`` safe to fuse, and how they were found: the ``scan`` segment;
    without one, the frames before the robot first moves (objects move only when it touches
    them, so none has moved yet); else the whole video."""
    start, end = demo.segments.get("scan", [0, 0])
    if end - start >= 2:
        return int(start), int(end), "scan segment"
    joints = None if demo.robot is None else demo.robot.arrays.get("joint_positions")
    if joints is not None and len(joints):
        q = np.asarray(joints, dtype=float).reshape(len(joints), -1)
        moved = np.flatnonzero(np.abs(q - q[0]).max(axis=1) > ARM_STILL_RAD)
        end = int(moved[0]) if len(moved) else demo.num_frames
        if end >= 2:
            return 0, end, "robot at rest"
    return 0, demo.num_frames, "whole video"


def scan_frames(demo: Demonstration, limit: int) -> np.ndarray:
    """The frames of the scan (:func:`scan_span`), at most ``limit`` of them, evenly spread."""
    start, end, _ = scan_span(demo)
    picks = np.linspace(start, end - 1, num=min(limit, end - start))
    return np.unique(np.round(picks).astype(int))


def _robot_view(demo: Demonstration, where: str):
    if demo.robot is None or demo.robot.base_pose is None:
        return None
    from twin.scene.robot_view import RobotView, RobotViewError

    try:
        return RobotView(demo.robot.name, demo.robot.base_pose, demo.robot.joint_names)
    except RobotViewError as err:
        raise DemonstrationError(f"{where}: {err}") from None


def _calibrated(demo: Demonstration, where: str, config: RobotCalibrationConfig):
    from twin.robot_cameras import RobotCalibrationError
    from twin.robot_log import calibrated

    try:
        return calibrated(demo, config)
    except RobotCalibrationError as err:
        raise TwinBuildError(f"{where}: {err}") from None


def log_scan(demo: Demonstration, config: BuildConfig, view) -> Scan:
    """A calibrated robot log's scan: every camera's frames from before the hand first comes down
    (:func:`twin.robot_log.untouched_span`), depth from the wrist camera's stereo."""
    from twin.robot_log import log_frames, stereo_depth, untouched_span

    tcp = view.tcp_track(demo.robot.arrays["joint_positions"])
    span = untouched_span(tcp[:, 2])
    frames = log_frames(demo, view, config.max_scan_frames // 2, config.holdout_every, span)
    depth = stereo_depth(frames, demo.wrist_camera)
    info = {
        "method": "robot",
        "depth": "multi-view stereo (wrist camera)",
        "robot_masked": True,
        "wrist": demo.wrist_camera,
    } | frames.info
    return Scan(
        frames.frames,
        frames.rgb,
        depth,
        frames.K,
        frames.poses,
        frames.robot,
        "demonstration",
        info,
        heldout=frames.heldout,
        cameras=frames.cameras,
    )


def prepare_scan(demo: Demonstration, config: BuildConfig, where: str, view=None) -> Scan:
    """Pick the scan frames and make sure each has a pose and metric depth; ``view`` (a
    :class:`twin.scene.robot_view.RobotView`) masks the robot when the cameras are the
    demonstration's own."""
    cam = demo.primary
    frames = scan_frames(demo, config.max_scan_frames)
    info: dict[str, Any] = {}
    if len(frames) < config.min_scan_frames:
        raise TwinBuildError(
            f"{where}: the scan has {len(frames)} frames; a build needs at least {config.min_scan_frames}"
        )
    rgb = cam.rgb[frames]
    depth = None if cam.depth is None else cam.depth[frames]
    if cam.T_world_camera is not None:
        poses = np.stack([cam.pose(int(i)) for i in frames])
        world_frame, info["method"] = "demonstration", "given"
    else:
        rng = np.random.default_rng(config.seed)
        try:
            poses, estimated = calib.estimate_extrinsics(rgb, depth, cam.K, range(len(frames)), rng)
            info |= estimated
        except calib.CalibrationError as err:
            raise TwinBuildError(f"{where}: {err}") from err
        world_frame = "table"
    if depth is None:
        from twin.stereo import depth_maps

        depth = depth_maps(rgb, cam.K, poses, list(range(len(frames))))
        info["depth"] = "multi-view stereo"
    else:
        info["depth"] = "measured"
    robot = None
    if view is not None and world_frame == "demonstration":
        joints = demo.robot.arrays["joint_positions"][frames]
        robot = view.masks(joints, cam.K, poses, cam.width, cam.height)
    info["robot_masked"] = robot is not None
    return Scan(frames, rgb, np.asarray(depth, dtype=np.float32), cam.K, poses, robot, world_frame, info)


def find_objects(scan: Scan, base, config: BuildConfig, where: str):
    """The table and the objects on it, from the scan's fused depth; ``base`` is the robot base's
    position (or None), whose height picks the table among the horizontal planes when the scan
    is in the demonstration's frame."""
    base_xy = None if base is None else base[:2]
    valid = None if scan.robot is None else ~scan.robot
    depth = scan.depth if valid is None else np.where(valid, scan.depth, 0.0)
    points, colors = points_from_rgbd(scan.rgb, depth, scan.K, scan.poses, stride=2, max_depth=3.0)
    points, colors = voxel_downsample(points, colors, 0.005)
    exclude = (
        () if base_xy is None else ((float(base_xy[0]), float(base_xy[1]), config.robot_base_clearance),)
    )
    mount_z = float(base[2]) if base is not None and scan.world_frame == "demonstration" else None
    cfg = dataclasses.replace(config.tabletop, exclude_xy=exclude, mount_z=mount_z)
    rng = np.random.default_rng(config.seed)
    try:
        table = tabletop.find_table(points, colors, cfg, rng)
    except tabletop.TabletopError as err:
        raise TwinBuildError(f"{where}: {err}") from err
    if scan.cameras is not None:  # a robot log: stereo is sparse, objects come from the carved volume
        table, surface, surface_colors = _carved_surface(scan, table, points, colors)
    else:
        corners = table.corners_xy()
        lower = np.array([*corners.min(axis=0), table.height - SCENE_MARGIN])
        upper = np.array([*corners.max(axis=0), table.height + SCENE_HEIGHT])
        surface, surface_colors = tsdf.fused_surface(
            scan.depth, scan.rgb, scan.K, scan.poses, lower, upper, valid=valid, config=config.tsdf
        )
    heights = tabletop.height_map(surface, surface_colors, table, cfg.cell, cfg)
    found = tabletop.detect_objects(heights, table, surface, surface_colors, cfg)
    if not any(o.kind == "solid" for o in found):
        raise TwinBuildError(f"{where}: no objects found standing on the table")
    return table, found


def _carved_surface(scan: Scan, table, points, colors):
    """The table as the log's cameras see it, and the top of the volume they carve over it (see
    :mod:`twin.robot_log`), raised regions that stereo finds flat put back on the table."""
    from twin import robot_log

    views = robot_log.view_images(scan, scan.calibration.get("wrist"))
    colour, spread = robot_log.table_colour(points, colors, table)
    table = robot_log.seen_table(views, table, colour, spread)
    xy, inside, height = robot_log.hull_heights(views, table, colour, spread)
    height = robot_log.checked_by_stereo(xy, height, points, table)
    return table, *robot_log.surface_points(views, xy, inside, height, table, colour, spread)


def object_names(found) -> list[str]:
    """Readable unique names: the nearest colour word and the kind (``red_object``, ``yellow_zone``)."""
    names, seen = [], {}
    for obj in found:
        word = min(
            roles.COLOUR_WORDS,
            key=lambda w: float(np.linalg.norm(np.asarray(roles.COLOUR_WORDS[w]) - obj.color)),
        )
        base = f"{'grey' if word == 'gray' else word}_{'object' if obj.kind == 'solid' else 'zone'}"
        seen[base] = seen.get(base, 0) + 1
        names.append(base if seen[base] == 1 else f"{base}_{seen[base]}")
    return names


def infer_task(
    demo: Demonstration,
    candidates: list[roles.Candidate],
    table_z: float,
    world_frame: str = "demonstration",
    view=None,
) -> dict[str, Any]:
    """task.json: the family, the object and target among ``candidates``, the instruction.

    The robot's tool track is only comparable with the objects when both live in the
    demonstration's world frame; with estimated cameras the instruction's colours decide."""
    given = demo.task or {}
    family = given.get("family") or roles.family_from_instruction(demo.instruction)
    if family not in roles.FAMILIES:
        raise TwinBuildError(f"task family {family!r} is not one of {roles.FAMILIES}")
    try:
        if view is not None and world_frame == "demonstration":
            joints = demo.robot.arrays["joint_positions"]
            tcp = view.tcp_track(joints)
            fingers = [demo.robot.joint_names.index(j) for j in demo.robot.joint_names if "finger" in j]
            opening = joints[:, fingers].mean(axis=1) if fingers else np.full(len(joints), 0.04)
            obj, target = roles.roles_from_track(family, candidates, tcp, opening, table_z)
            how = "robot track"
        else:
            obj, target = roles.roles_from_instruction(demo.instruction, candidates)
            how = "instruction colours"
    except roles.RoleError as err:
        names = ", ".join(c.name for c in candidates) or "none"
        raise roles.RoleError(
            f"cannot tell the task's object and target among the {len(candidates)} objects found "
            f"({names}): {err}"
        ) from None
    return {
        "name": given.get("name", family),
        "family": family,
        "object": obj,
        "target": target,
        "instruction": demo.instruction,
        "max_seconds": float(given.get("max_seconds", 20.0)),
        "roles_from": how,
    }


@dataclass
class BuildReport:
    """What a build made: the package folder, its manifest, fidelity and stage times (s)."""

    path: Path
    manifest: dict[str, Any]
    fidelity: dict[str, Any]
    seconds: dict[str, float]


class _Stages:
    """Times named stages and tells ``on_stage(name)`` when each begins."""

    def __init__(self, on_stage: Callable[[str], None] | None):
        self.on_stage, self.seconds = on_stage, {}

    @contextlib.contextmanager
    def __call__(self, name: str):
        if self.on_stage:
            self.on_stage(name)
        t0 = time.perf_counter()
        yield
        self.seconds[name] = round(time.perf_counter() - t0, 3)


def _physical_objects(found, names, config: BuildConfig):
    from twin.physics import PhysicalObject

    out = []
    for obj, name in zip(found, names, strict=True):
        rgba = (*np.clip(obj.color, 0, 1).tolist(), 1.0)
        pos, quat = np.asarray(obj.center, dtype=float), yaw_quat(obj.yaw)
        if obj.kind == "zone":
            out.append(PhysicalObject(name, "zone", pos, quat, np.asarray(obj.half_extents), rgba))
            continue
        vertices, faces = meshes.heightfield_solid(obj.heights, obj.cell, obj.heights_origin_xy)
        vertices = vertices - np.array([0.0, 0.0, obj.half_extents[2]])  # body origin: the box centre
        volume = meshes.mesh_volume(vertices, faces)
        parts = meshes.convex_parts(vertices, faces, config.convex)
        out.append(
            PhysicalObject(
                name,
                "solid",
                pos,
                quat,
                np.asarray(obj.half_extents, dtype=float),
                rgba,
                mass=meshes.mass_from_volume(volume),
                primitive=primitive_shape(volume, obj.half_extents),
                friction=meshes.FRICTION_PRIOR,
                visual=(vertices, faces),
                collision=parts,
            )
        )
    return out


def primitive_shape(volume: float, half_extents) -> str:
    """The primitive an object's mesh resembles: ``box`` when it fills its bounding box,
    ``cylinder`` when it fills about π/4 of a square one, else ``mesh``. Planners use it as a hint
    (how to grasp, whether a push can go straight); physics always uses the mesh itself."""
    hx, hy, hz = (float(v) for v in half_extents)
    fill = volume / (8 * hx * hy * hz)
    if fill >= 0.9:
        return "box"
    if fill >= 0.68 and abs(hx - hy) <= 0.1 * max(hx, hy):
        return "cylinder"
    return "mesh"


def object_boxes(objects, kind: str = "solid") -> list[ObjectBox]:
    """Where each object of ``kind`` sits, as the appearance stage splits splats by it."""
    return [
        ObjectBox(o.name, pose_matrix(quat_to_mat(o.quat), o.pos), o.half_extents)
        for o in objects
        if o.kind == kind
    ]


def _fidelity(scan: Scan, heldout: np.ndarray, background, object_splats, objects) -> dict[str, Any]:
    """Held-out frames against the twin drawn as :class:`twin.scene.render.TwinRenderer`
    draws it: zones' marks laid on the background, solids merged with it by depth."""
    from twin.fidelity import depth_error, masked_psnr, masked_ssim
    from twin.scene.render import composite, ground_layer, splat_layer
    from twin.splats.camera import Cameras

    poses = {o.name: pose_matrix(quat_to_mat(o.quat), o.pos) for o in objects}
    kinds = {o.name: o.kind for o in objects}
    sets = {
        kind: [(s, poses[n]) for n, s in object_splats.items() if len(s) and kinds[n] == kind]
        for kind in ("solid", "zone")
    }
    cams = Cameras.from_poses(
        scan.intrinsics(heldout), scan.poses[heldout], scan.rgb.shape[2], scan.rgb.shape[1]
    )
    rows = []
    for k, i in enumerate(heldout):
        marks = splat_layer(sets["zone"], cams[k]) if sets["zone"] else None
        layers = [ground_layer(splat_layer([(background, np.eye(4))], cams[k]), marks)]
        layers += [splat_layer(sets["solid"], cams[k])] if sets["solid"] else []
        rgb, depth = composite(layers)
        rgb = np.clip(rgb, 0, 1).astype(np.float32)
        valid = None if scan.robot is None else ~scan.robot[i]
        rows.append(
            {
                "frame": int(scan.frames[i]),
                **({} if scan.cameras is None else {"camera": scan.cameras[i]}),
                "psnr_db": masked_psnr(rgb, scan.rgb[i], valid),
                "ssim": masked_ssim(rgb, scan.rgb[i], valid),
                "depth": depth_error(depth, scan.depth[i], valid),
            }
        )
    depth_means = [r["depth"]["mean_m"] for r in rows if r["depth"]["mean_m"] is not None]
    return {
        "heldout_frames": [r["frame"] for r in rows],
        "psnr_db": float(np.mean([r["psnr_db"] for r in rows])),
        "ssim": float(np.mean([r["ssim"] for r in rows])),
        "depth_error_m": float(np.mean(depth_means)) if depth_means else None,
        "robot_pixels_excluded": scan.robot is not None,
        "per_frame": rows,
    }


def calibration_quality(log_cameras: dict[str, Any]) -> dict[str, Any]:
    """fidelity.json's account of a robot log's camera calibration: each camera's method, fit and
    residuals (calibration.json's entries without the matrices), and the worst camera's quality."""
    matrices = {"K", "width", "height", "T_world_camera", "T_hand_camera"}
    cameras = {
        name: {k: v for k, v in entry.items() if k not in matrices} for name, entry in log_cameras.items()
    }
    order = ["poor", "fair", "good"]
    worst = min((c.get("quality", "good") for c in cameras.values()), key=order.index, default="good")
    return {"cameras": cameras, "quality": worst}


def _calibration(
    demo: Demonstration, scan: Scan, log_cameras: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The evaluation cameras: the primary camera where the demonstration's run starts; for a robot
    log every static camera, and the wrist camera's mount and per-frame poses under ``wrist``."""
    cam = demo.primary
    start = demo.segments.get("execution", [None])[0]
    reference = int(start) if start is not None else int(scan.frames[-1])
    pose = cam.pose(reference) if cam.T_world_camera is not None else scan.poses[-1]
    cameras = {
        cam.name: {
            "K": np.asarray(cam.K).tolist(),
            "width": cam.width,
            "height": cam.height,
            "T_world_camera": np.asarray(pose).tolist(),
        }
    }
    out: dict[str, Any] = {
        "cameras": cameras,
        "reference": _reference(demo, reference),
        "estimated": scan.calibration,
    }
    if log_cameras is not None:
        wrist = demo.wrist_camera
        cameras |= {name: entry for name, entry in log_cameras.items() if name != wrist}
        if wrist is not None:
            out["wrist"] = {"camera": wrist} | log_cameras[wrist]
    return out


def _reference(demo: Demonstration, frame: int) -> dict[str, Any]:
    """The real frame a twin is shown beside, with the robot's joints at that moment."""
    out: dict[str, Any] = {"frame": frame}
    if demo.robot is not None:
        out["joint_names"] = list(demo.robot.joint_names)
        out["joint_positions"] = np.asarray(demo.robot.arrays["joint_positions"][frame], dtype=float).tolist()
    return out


def build_twin(
    source: str | Path,
    out: str | Path,
    config: BuildConfig = BuildConfig(),  # noqa: B008 - frozen dataclass
    overwrite: bool = False,
    episode: int | None = None,
    on_stage: Callable[[str], None] | None = None,
    sidecar: str | Path | None = None,
) -> BuildReport:
    """Reconstruct the demonstration at ``source`` into a new twin package at ``out`` (``sidecar``:
    a LeRobotDataset's robot-log sidecar, see :func:`twin.lerobot.import_lerobot`)."""
    stages = _Stages(on_stage)
    where = str(source)
    out = Path(out)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} already exists; choose a new output folder or pass --overwrite")
    with stages("read"):
        demo = _read(source, episode, where, sidecar)
    log_cameras = None
    with stages("calibration"):
        if is_robot_log(demo):
            demo, log_cameras = _calibrated(demo, where, config.robot_calibration)
    view = _robot_view(demo, where)
    with stages("cameras"):
        scan = (
            prepare_scan(demo, config, where, view) if log_cameras is None else log_scan(demo, config, view)
        )
    base = None if demo.robot is None or demo.robot.base_pose is None else demo.robot.base_pose[:3, 3]
    with stages("geometry"):
        table, found = find_objects(scan, base, config, where)
    names = object_names(found)
    with stages("meshes"):
        objects = _physical_objects(found, names, config)
    with stages("task"):
        task = _task(demo, scan, table, found, objects, view)
    # every 8th frame, starting mid-way so the sweep's two ends (seen by no neighbour) stay in
    heldout = scan.heldout
    if heldout is None:
        heldout = np.arange(config.holdout_every // 2, len(scan.frames), config.holdout_every)
    train = np.setdiff1d(np.arange(len(scan.frames)), heldout)
    with stages("splats"):
        splats = _splats(scan, train, objects, config.appearance, float(table.height))
    with stages("fidelity"):
        fidelity = _fidelity(scan, heldout, splats.background, splats.objects, objects)
    with staging_folder(out, overwrite) as stage, stages("package"):
        _write_scene(stage, scan, table, objects)
        entries = _write_objects(stage, objects, splats)
        calibration = _calibration(demo, scan, log_cameras)
        write_json(stage / "calibration.json", calibration)
        write_json(stage / "task.json", task)
        source_entry = {"path": str(source), "episode": episode}
        unstamped = _manifest(out.name, source_entry, demo, scan, table, entries, config)
        fidelity |= {
            "splats": {"count": splats.count, **splats.fit},
            "plausibility": plausibility_problems(unstamped.to_dict(), task),
        }
        if log_cameras is not None:
            fidelity["calibration"] = calibration_quality(log_cameras)
        write_json(stage / "fidelity.json", fidelity)
        manifest = write_twin(stage, unstamped)
        _write_preview(stage, demo, calibration)
    return BuildReport(out, manifest, fidelity, stages.seconds)


# -- the stages of build_twin ------------------------------------------------------------------
def _read(source: str | Path, episode: int | None, where: str, sidecar=None) -> Demonstration:
    demo = load_demonstration(source, episode, sidecar)
    if demo.num_frames < 2:
        raise DemonstrationError(f"{where}: needs at least 2 frames, has {demo.num_frames}")
    check_demonstration(demo, where)  # a LeRobot import is checked here; a folder was when read
    return demo


def _task(demo: Demonstration, scan: Scan, table, found, objects, view) -> dict[str, Any]:
    """task.json's roles among the reconstructed objects (see :func:`infer_task`)."""
    candidates = [
        roles.Candidate(o.name, o.kind, o.pos, float(f.yaw), o.half_extents, np.asarray(f.color))
        for o, f in zip(objects, found, strict=True)
    ]
    return infer_task(demo, candidates, table.height, scan.world_frame, view)


@dataclass
class _Splats:
    """The fitted splats, cut into the background and each object's (zones' marks included)."""

    background: Any
    objects: dict[str, Any]
    count: int
    fit: dict[str, Any]  # how the fit went, for fidelity.json: see fit_summary


def fit_summary(fit, config: AppearanceConfig) -> dict[str, Any]:
    """fidelity.json's account of a splat fit: steps taken, why it stopped, its training PSNR and
    wall-clock seconds, against the step cap and time budget it ran under."""
    return {
        "steps": fit.steps,
        "stop_reason": fit.stop_reason,
        "train_psnr_db": None if fit.train_psnr_db is None else round(fit.train_psnr_db, 2),
        "fit_s": round(fit.wall_s, 1),
        "max_steps": config.steps,
        "budget_s": config.seconds if np.isfinite(config.seconds) else None,
    }


def _splats(scan: Scan, train: np.ndarray, objects, config: AppearanceConfig, table_z: float) -> _Splats:
    ignore = None if scan.robot is None else scan.robot[train]
    k, poses, depth = scan.intrinsics(train), scan.poses[train], scan.depth[train]
    init = None
    if scan.cameras is not None:  # a robot log: the static cameras' pixels start on the table or far
        from twin.appearance import initial_points
        from twin.robot_log import backdrop_depth

        seeded = np.where(depth > 0, depth, backdrop_depth(k, poses, depth.shape[1:], table_z))
        init = initial_points(scan.rgb[train], seeded, k, poses, ignore, config, config.fit.seed)
    fit = fit_scene(scan.rgb[train], k, poses, depth, ignore, config, init=init)
    solids = object_boxes(objects)
    background, object_splats = split_splats(fit.splats, solids, config.object_margin)
    background, zone_splats = split_zones(background, object_boxes(objects, "zone"), config)
    background = clear_footprints(background, solids)  # no ghost where a solid stood
    return _Splats(background, object_splats | zone_splats, len(fit.splats), fit_summary(fit, config))


def _write_scene(stage: Path, scan: Scan, table, objects) -> None:
    """``scene.xml``: the table (in the scan's median colour) and the objects, composed by MjSpec."""
    from twin.physics import TableGeometry, twin_scene_spec

    table_rgba = (*np.clip(np.median(scan.rgb.reshape(-1, 3), axis=0) / 255.0, 0, 1).tolist(), 1.0)
    table_geom = TableGeometry(
        height=float(table.height),
        center_xy=tuple(float(v) for v in table.center_xy),
        half_extents_xy=tuple(float(v) for v in table.half_extents_xy),
        yaw=float(table.yaw),
        rgba=table_rgba,
    )
    spec = twin_scene_spec("twin", table_geom, objects)
    (stage / "scene.xml").write_text(spec.to_xml())


def _write_objects(stage: Path, objects, splats: _Splats) -> list[dict[str, Any]]:
    """The splat files (background, each object's) and the solids' meshes; their manifest entries."""
    from twin.splats.ply import write_ply

    write_ply(stage / "background.ply", splats.background)
    (stage / "objects").mkdir()
    entries = []
    for obj in objects:
        entry = {
            "name": obj.name,
            "kind": obj.kind,
            "pos": np.round(obj.pos, 6).tolist(),
            "quat": np.round(obj.quat, 8).tolist(),
            "half_extents": np.round(obj.half_extents, 6).tolist(),
            "rgba": np.round(obj.rgba, 4).tolist(),
            "mass": round(obj.mass, 6),
            "primitive": obj.primitive,
            "friction": obj.friction,
        }
        write_ply(stage / "objects" / f"{obj.name}.ply", splats.objects[obj.name])
        entry["splats"] = f"objects/{obj.name}.ply"  # zones too: their mark moves with them
        if obj.kind == "solid":
            entry |= SOLID_START_RANGE
            meshes.write_obj(stage / "meshes" / f"{obj.name}.obj", *obj.visual)
            entry["mesh"] = f"meshes/{obj.name}.obj"
            entry["collision_parts"] = len(obj.collision)
        entries.append(entry)
    return entries


def _manifest(
    name: str,
    source: dict[str, Any],
    demo: Demonstration,
    scan: Scan,
    table,
    entries: list[dict[str, Any]],
    config: BuildConfig,
) -> TwinManifest:
    """``twin.json``'s fields for a reconstructed twin."""
    robot = demo.robot
    base_pose = robot.base_pose if robot is not None and robot.base_pose is not None else _default_base(table)
    return TwinManifest(
        name=name,
        source={**source, "instruction": demo.instruction},
        world_frame=scan.world_frame,
        robot={"name": robot.name if robot else "franka_panda", "base_pose": np.asarray(base_pose).tolist()},
        table={
            "height": round(float(table.height), 6),
            "center_xy": np.round(table.center_xy, 6).tolist(),
            "half_extents_xy": np.round(table.half_extents_xy, 6).tolist(),
            "yaw": round(float(table.yaw), 6),
        },
        objects=entries,
        # the rate the robot is controlled at, not the video's: a policy may ask for its own
        physics={"timestep": 0.002, "control_hz": ROBOT_CONTROL_HZ},
        files={
            "scene": "scene.xml",
            "background": "background.ply",
            "calibration": "calibration.json",
            "task": "task.json",
            "fidelity": "fidelity.json",
            "preview": "preview.png",
        },
        build={
            "config": json.loads(json.dumps(asdict(config), default=str)),
            "frames": scan.frames.tolist(),
            "scan_from": scan_span(demo)[2],
        },
    )


def _default_base(table) -> np.ndarray:
    """Without a known mount, the robot stands at the middle of the table's first short edge."""
    axis = np.array([np.cos(table.yaw), np.sin(table.yaw)])
    xy = np.asarray(table.center_xy) - axis * (table.half_extents_xy[0] - 0.1)
    return pose_matrix(np.eye(3), [xy[0], xy[1], table.height])


def _write_preview(stage: Path, demo: Demonstration, calibration: dict[str, Any]) -> None:
    from PIL import Image

    from twin.show import show_twin

    Image.fromarray(demo.primary.rgb[calibration["reference"]["frame"]]).save(stage / "reference.png")
    show_twin(stage, stage / "preview.png")
