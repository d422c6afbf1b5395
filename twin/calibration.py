"""Camera extrinsics for a scan without them: RGB-D odometry or SfM, then the table-plane world frame.

Poses are ``T_world_camera`` (camera→world, OpenCV axes: x right, y down, z forward); pixel centres
sit at ``(u + 0.5, v + 0.5)`` like :func:`twin.splats.camera.points_from_rgbd` (and COLMAP).
The world frame comes from the table plane: z up, origin on the table, metric scale from depth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from twin.plane import fit_plane_ransac
from twin.transforms import axis_angle_to_mat, mat_to_axis_angle


class CalibrationError(ValueError):
    """The camera poses cannot be estimated; the message says why and what to supply instead."""


@dataclass(frozen=True)
class OdometryConfig:
    """Projective ICP over an image pyramid, frame to keyframe, with an optional photometric term."""

    levels: int = 3
    iterations: tuple[int, ...] = (12, 8, 6)  # finest level first
    max_distance: float = 0.04  # metres, association gate at the finest level (doubles per level)
    max_normal_deg: float = 30.0
    huber: float = 0.005  # metres
    photometric_weight: float = 0.0  # relative weight of intensity residuals (0 turns them off)
    photometric_sigma: float = 0.03  # intensity units per geometric huber
    max_depth: float = 6.0
    min_inliers: float = 0.25  # fraction of the valid pixels that must find a correspondence
    keyframe_inliers: float = 0.7  # start a new keyframe when the inlier fraction drops below
    keyframe_deg: float = 12.0
    keyframe_m: float = 0.2
    max_step_m: float = 0.5  # larger motions between consecutive frames count as divergence
    min_conditioning: float = 1e-3  # smallest / largest eigenvalue of the normal equations (rad, m)
    constant_velocity: bool = True  # predict each frame's pose from the last motion


# -- odometry ---------------------------------------------------------------------------------
def _vertices(depth: np.ndarray, K: np.ndarray) -> np.ndarray:  # noqa: N803
    h, w = depth.shape
    u = (np.arange(w) + 0.5 - K[0, 2]) / K[0, 0]
    v = (np.arange(h) + 0.5 - K[1, 2]) / K[1, 1]
    return np.stack([u[None, :] * depth, v[:, None] * depth, depth], axis=-1)


def _normals(vert: np.ndarray) -> np.ndarray:
    """Unit normals facing the camera from central differences; zero where undefined."""
    dx, dy = np.zeros_like(vert), np.zeros_like(vert)
    dx[:, 1:-1] = vert[:, 2:] - vert[:, :-2]
    dy[1:-1] = vert[2:] - vert[:-2]
    n = np.cross(dy, dx)
    norm = np.linalg.norm(n, axis=-1, keepdims=True)
    z = vert[..., 2:]
    step = np.maximum(np.linalg.norm(dx, axis=-1), np.linalg.norm(dy, axis=-1))[..., None]
    ok = (norm > 1e-12) & (z > 0) & (step < 0.05 * np.maximum(z, 1e-6) + 0.01)
    n = np.where(ok, n / np.where(norm > 0, norm, 1.0), 0.0)
    flip = np.sum(n * vert, axis=-1, keepdims=True) > 0
    return np.where(flip, -n, n)


def _downsample(depth: np.ndarray, gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h, w = depth.shape[0] // 2 * 2, depth.shape[1] // 2 * 2
    blocks = depth[:h, :w].reshape(h // 2, 2, w // 2, 2)
    valid = (blocks > 0).all(axis=(1, 3))
    spread = blocks.max(axis=(1, 3)) - blocks.min(axis=(1, 3))
    d = np.where(valid & (spread < 0.02 * blocks.mean(axis=(1, 3)) + 0.005), blocks.mean(axis=(1, 3)), 0.0)
    return d, gray[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))


def _pyramid(depth, gray, K, levels):  # noqa: N803
    """Per level (finest first): vertex map, normal map, intensity, its gradients, K."""
    out, k = [], np.asarray(K, dtype=np.float64)
    for level in range(levels):
        if level:
            depth, gray = _downsample(depth, gray)
            k = k.copy()
            k[:2] /= 2.0
        vert = _vertices(depth, k)
        gy, gx = np.gradient(gray)
        out.append((vert, _normals(vert), gray, gx, gy, k))
    return out


@njit(cache=True)
def _bilinear(img, x, y):
    x0, y0 = int(np.floor(x)), int(np.floor(y))
    ax, ay = x - x0, y - y0
    top = img[y0, x0] * (1 - ax) + img[y0, x0 + 1] * ax
    return top * (1 - ay) + (img[y0 + 1, x0] * (1 - ax) + img[y0 + 1, x0 + 1] * ax) * ay


@njit(cache=True)
def _accumulate(A, b, j0, j1, j2, j3, j4, j5, wgt, res):  # noqa: N803
    J = (j0, j1, j2, j3, j4, j5)  # noqa: N806
    for m in range(6):
        b[m] += wgt * res * J[m]
        for k in range(m, 6):
            A[m, k] += wgt * J[m] * J[k]


@njit(cache=True)
def _icp_system(src, tgt, R, t, params):  # noqa: N803
    """Gauss-Newton normal equations of point-to-plane (+ photometric) residuals for a left twist."""
    (src_v, src_n, src_i), (tgt_v, tgt_n, tgt_i, tgt_gx, tgt_gy, K) = src, tgt  # noqa: N806
    max_dist, min_cos, huber, w_photo, sigma_photo = params
    h, w = tgt_v.shape[0], tgt_v.shape[1]
    A = np.zeros((6, 6))  # noqa: N806
    b = np.zeros(6)
    inliers, valid = 0, 0
    scale = huber / sigma_photo
    for r in range(src_v.shape[0]):
        for c in range(src_v.shape[1]):
            px, py, pz = src_v[r, c, 0], src_v[r, c, 1], src_v[r, c, 2]
            sx, sy, sz = src_n[r, c, 0], src_n[r, c, 1], src_n[r, c, 2]
            if pz <= 0.0 or sx == 0.0 and sy == 0.0 and sz == 0.0:
                continue
            valid += 1
            qx = R[0, 0] * px + R[0, 1] * py + R[0, 2] * pz + t[0]
            qy = R[1, 0] * px + R[1, 1] * py + R[1, 2] * pz + t[1]
            qz = R[2, 0] * px + R[2, 1] * py + R[2, 2] * pz + t[2]
            if qz <= 1e-6:
                continue
            x = K[0, 0] * qx / qz + K[0, 2] - 0.5
            y = K[1, 1] * qy / qz + K[1, 2] - 0.5
            ui, vi = int(np.floor(x + 0.5)), int(np.floor(y + 0.5))
            if ui < 1 or vi < 1 or ui >= w - 1 or vi >= h - 1:
                continue
            nx, ny, nz = tgt_n[vi, ui, 0], tgt_n[vi, ui, 1], tgt_n[vi, ui, 2]
            if tgt_v[vi, ui, 2] <= 0.0 or (nx == 0.0 and ny == 0.0 and nz == 0.0):
                continue
            dx, dy, dz = qx - tgt_v[vi, ui, 0], qy - tgt_v[vi, ui, 1], qz - tgt_v[vi, ui, 2]
            if dx * dx + dy * dy + dz * dz > max_dist * max_dist:
                continue
            rx = R[0, 0] * sx + R[0, 1] * sy + R[0, 2] * sz
            ry = R[1, 0] * sx + R[1, 1] * sy + R[1, 2] * sz
            rz = R[2, 0] * sx + R[2, 1] * sy + R[2, 2] * sz
            if rx * nx + ry * ny + rz * nz < min_cos:
                continue
            inliers += 1
            res = nx * dx + ny * dy + nz * dz
            wgt = 1.0 if abs(res) <= huber else huber / abs(res)
            _accumulate(A, b, qy * nz - qz * ny, qz * nx - qx * nz, qx * ny - qy * nx, nx, ny, nz, wgt, res)
            if w_photo > 0.0 and x >= 0.0 and y >= 0.0 and x < w - 1 and y < h - 1:
                res_i = (_bilinear(tgt_i, x, y) - src_i[r, c]) * scale
                a0 = _bilinear(tgt_gx, x, y) * scale * K[0, 0] / qz
                a1 = _bilinear(tgt_gy, x, y) * scale * K[1, 1] / qz
                a2 = -(a0 * qx + a1 * qy) / qz
                wi = w_photo * (1.0 if abs(res_i) <= huber else huber / abs(res_i))
                j0, j1, j2 = qy * a2 - qz * a1, qz * a0 - qx * a2, qx * a1 - qy * a0
                _accumulate(A, b, j0, j1, j2, a0, a1, a2, wi, res_i)
    for m in range(6):
        for k in range(m):
            A[m, k] = A[k, m]
    return A, b, inliers, valid


def _track(src, tgt, T, config: OdometryConfig):  # noqa: N803
    """Refine ``T`` (target←source) coarse to fine; returns it, the inlier fraction and conditioning."""
    min_cos = np.cos(np.radians(config.max_normal_deg))
    fraction, conditioning = 0.0, 0.0
    photometric = (config.huber, config.photometric_weight, config.photometric_sigma)
    for level in reversed(range(config.levels)):
        params = (config.max_distance * 2.0**level, min_cos, *photometric)
        for _ in range(config.iterations[min(level, len(config.iterations) - 1)]):
            rot, trans = np.ascontiguousarray(T[:3, :3]), T[:3, 3].copy()
            A, b, inliers, valid = _icp_system(src[level][:3], tgt[level], rot, trans, params)  # noqa: N806
            fraction = inliers / max(valid, 1)
            if inliers < 6 or fraction < 0.5 * config.min_inliers:
                return T, fraction, 0.0
            eig = np.linalg.eigvalsh(A)
            conditioning = eig[0] / max(eig[-1], 1e-300)
            xi = np.linalg.solve(A + 1e-9 * eig[-1] * np.eye(6), -b)
            step = np.eye(4)
            step[:3, :3], step[:3, 3] = axis_angle_to_mat(xi[:3]), xi[3:]
            T = step @ T  # noqa: N806
            if np.linalg.norm(xi) < 1e-7:
                break
    return T, fraction, conditioning


def _gray(rgb: np.ndarray) -> np.ndarray:
    scale = 1.0 / 255.0 if rgb.dtype == np.uint8 else 1.0
    return (rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])) * scale


def odometry_rgbd(rgb, depth, K, config: OdometryConfig = OdometryConfig()) -> np.ndarray:  # noqa: N803
    """Camera poses ``[T,4,4]`` relative to frame 0 (identity) from RGB-D frames by projective ICP.

    Each frame is tracked against the current keyframe (starting from the previous frame's pose);
    a frame becomes the keyframe when overlap or motion since the keyframe grows too large.
    Raises :class:`CalibrationError` naming the frame where tracking fails.
    """
    rgb, depth = np.asarray(rgb), np.asarray(depth, dtype=np.float64)
    if depth.ndim != 3 or rgb.shape[:3] != depth.shape:
        raise CalibrationError(f"rgb [T,H,W,3] and depth [T,H,W] disagree: {rgb.shape} vs {depth.shape}")
    depth = np.where(np.isfinite(depth) & (depth > 0) & (depth < config.max_depth), depth, 0.0)

    def pyramid(i):
        return _pyramid(depth[i], _gray(rgb[i]), K, config.levels)

    poses = np.tile(np.eye(4), (len(depth), 1, 1))
    key, key_pose = pyramid(0), np.eye(4)
    if np.count_nonzero(key[0][0][..., 2]) < 100:
        raise CalibrationError("frame 0: too few valid depth pixels to track")
    for i in range(1, len(depth)):
        cur = pyramid(i)
        motion = np.eye(4)
        if i > 1 and config.constant_velocity:
            motion = np.linalg.inv(poses[i - 2]) @ poses[i - 1]
        guess = np.linalg.inv(key_pose) @ poses[i - 1] @ motion
        T, fraction, conditioning = _track(cur, key, guess, config)  # noqa: N806
        poses[i] = key_pose @ T
        moved = np.linalg.norm(poses[i, :3, 3] - poses[i - 1, :3, 3])
        if fraction < config.min_inliers or not np.all(np.isfinite(T)):
            raise CalibrationError(f"frame {i}: tracking lost ({fraction:.0%} of the pixels matched)")
        if moved > config.max_step_m:
            raise CalibrationError(f"frame {i}: tracking diverged (moved {moved:.2f} m in one frame)")
        if conditioning < config.min_conditioning:
            raise CalibrationError(f"frame {i}: the depth does not constrain the motion (a single plane?)")
        angle = np.degrees(np.linalg.norm(mat_to_axis_angle(T[:3, :3])))
        far = angle > config.keyframe_deg or np.linalg.norm(T[:3, 3]) > config.keyframe_m
        if far or fraction < config.keyframe_inliers:
            key, key_pose = cur, poses[i]
    return poses


# -- structure from motion -------------------------------------------------------------------
@dataclass(frozen=True)
class SfmConfig:
    """COLMAP (pycolmap, CPU) SIFT + matching + incremental mapping with the intrinsics held fixed."""

    max_features: int = 8192
    peak_threshold: float = 0.003  # lower than COLMAP's default: small renders have few corners
    sequential_overlap: int = 6  # match each frame with this many following ones; 0 = exhaustive
    max_reprojection_error: float = 2.0  # pixels, for keeping triangulated points (COLMAP: 4)
    num_threads: int = 1  # more threads are faster but not reproducible: poses differ run to run
    seed: int = 0


def _sfm_options(config: SfmConfig, pycolmap):
    extraction = pycolmap.FeatureExtractionOptions(num_threads=config.num_threads)
    extraction.sift.max_num_features = config.max_features
    extraction.sift.peak_threshold = config.peak_threshold
    matching = pycolmap.FeatureMatchingOptions(num_threads=config.num_threads)
    verification = pycolmap.TwoViewGeometryOptions()
    verification.ransac.random_seed = config.seed
    mapping = pycolmap.IncrementalPipelineOptions(num_threads=config.num_threads, random_seed=config.seed)
    mapping.multiple_models = mapping.ba_refine_focal_length = mapping.ba_refine_extra_params = False
    mapping.mapper.abs_pose_refine_focal_length = False
    mapping.mapper.abs_pose_refine_extra_params = False
    mapping.mapper.num_threads = config.num_threads
    err = config.max_reprojection_error
    mapping.mapper.filter_max_reproj_error = err
    mapping.triangulation.complete_max_reproj_error = mapping.triangulation.merge_max_reproj_error = err
    mapping.mapper.random_seed = mapping.triangulation.random_seed = config.seed
    return extraction, matching, verification, mapping


def sfm_poses(rgb, K, config: SfmConfig = SfmConfig()):  # noqa: N803
    """Poses up to scale ``[T,4,4]`` relative to frame 0, the registered mask ``[T]`` and points ``[P,3]``.

    Runs pycolmap on the CPU with one shared PINHOLE camera fixed to ``K``. Unregistered frames get
    NaN poses; when frame 0 is not registered, poses and points are relative to the first frame that
    is. Raises :class:`CalibrationError` when fewer than half the frames register.
    """
    import tempfile
    from pathlib import Path

    import pycolmap
    from PIL import Image

    rgb, K = np.asarray(rgb), np.asarray(K, dtype=np.float64)  # noqa: N806
    if rgb.ndim != 4 or rgb.shape[-1] != 3 or len(rgb) < 2:
        raise CalibrationError(f"need at least two RGB frames [T,H,W,3], got shape {rgb.shape}")
    extraction, matching, verification, mapping = _sfm_options(config, pycolmap)
    reader = pycolmap.ImageReaderOptions(
        camera_model="PINHOLE", camera_params=",".join(str(v) for v in (K[0, 0], K[1, 1], K[0, 2], K[1, 2]))
    )
    level, pycolmap.logging.minloglevel = pycolmap.logging.minloglevel, 3
    try:
        with tempfile.TemporaryDirectory(prefix="twin_sfm_") as tmp:
            images, db = Path(tmp) / "images", Path(tmp) / "database.db"
            images.mkdir()
            names = [f"{i:06d}.png" for i in range(len(rgb))]
            for name, frame in zip(names, rgb, strict=True):
                Image.fromarray(frame.astype(np.uint8)).save(images / name)
            cpu = pycolmap.Device.cpu
            mode = pycolmap.CameraMode.SINGLE
            pycolmap.extract_features(db, images, names, mode, reader, extraction, device=cpu)
            match = {"matching_options": matching, "verification_options": verification, "device": cpu}
            if config.sequential_overlap > 0:
                pairs = pycolmap.SequentialPairingOptions(
                    overlap=config.sequential_overlap, quadratic_overlap=False
                )
                pycolmap.match_sequential(db, pairing_options=pairs, **match)
            else:
                pycolmap.match_exhaustive(db, **match)
            models = pycolmap.incremental_mapping(db, images, Path(tmp) / "sparse", options=mapping)
    finally:
        pycolmap.logging.minloglevel = level
    poses = np.full((len(rgb), 4, 4), np.nan)
    rec = max(models.values(), key=lambda r: r.num_reg_images(), default=None)
    for image in rec.images.values() if rec is not None else []:
        if image.has_pose:
            cam_from_world = np.vstack([image.cam_from_world().matrix(), [0.0, 0.0, 0.0, 1.0]])
            poses[int(Path(image.name).stem)] = np.linalg.inv(cam_from_world)
    registered = np.isfinite(poses[:, 0, 0])
    if registered.sum() < max(2, (len(rgb) + 1) // 2):
        raise CalibrationError(
            f"structure from motion registered {registered.sum()} of {len(rgb)} frames (need at least half): "
            "too little texture or overlap between the frames"
        )
    reference = np.linalg.inv(poses[np.argmax(registered)])
    points = np.array([p.xyz for p in rec.points3D.values()]).reshape(-1, 3)
    return reference @ poses, registered, points @ reference[:3, :3].T + reference[:3, 3]


# -- metric scale and the world frame --------------------------------------------------------
def scale_from_depth(poses_up_to_scale, points_cam0, depth, K) -> float:  # noqa: N803
    """Metric scale of an SfM reconstruction: the median ratio of measured to reconstructed depth."""
    poses, points = np.asarray(poses_up_to_scale, dtype=np.float64), np.asarray(points_cam0, dtype=np.float64)
    depth, K = np.asarray(depth, dtype=np.float64), np.asarray(K, dtype=np.float64)  # noqa: N806
    h, w = depth.shape[1:]
    ratios = []
    for pose, measured in zip(poses, depth, strict=True):
        if not np.all(np.isfinite(pose)):
            continue
        inv = np.linalg.inv(pose)
        cam = points @ inv[:3, :3].T + inv[:3, 3]
        cam = cam[cam[:, 2] > 1e-9]
        u = np.floor(K[0, 0] * cam[:, 0] / cam[:, 2] + K[0, 2]).astype(np.int64)
        v = np.floor(K[1, 1] * cam[:, 1] / cam[:, 2] + K[1, 2]).astype(np.int64)
        inside = (u >= 0) & (u < w) & (v >= 0) & (v < h)
        d = measured[v[inside], u[inside]]
        ok = np.isfinite(d) & (d > 0)
        ratios.append(d[ok] / cam[inside, 2][ok])
    ratios = np.concatenate(ratios) if ratios else np.empty(0)
    if len(ratios) < 20:
        raise CalibrationError(f"only {len(ratios)} reconstructed points have a depth measurement; no scale")
    return float(np.median(ratios))


def table_frame(
    points_cam0,
    camera_positions,
    rng: np.random.Generator,
    threshold: float = 0.005,
    max_tilt_deg: float = 50.0,
    iterations: int = 500,
) -> np.ndarray:
    """``T_world_frame0 [4,4]``: the world frame of the table plane, from metric points in frame 0.

    The table is the plane with the most inliers among those within ``max_tilt_deg`` of frame 0's
    up (-y: the scan camera is held upright); z is its normal toward the cameras; the origin is
    the projection of its inliers' centroid; x is the in-plane direction from the mean camera
    position toward the origin (our choice: the scan looks along +x), y = z × x.
    """
    points = np.asarray(points_cam0, dtype=np.float64)
    cams = np.asarray(camera_positions, dtype=np.float64).reshape(-1, 3)
    points = points[np.all(np.isfinite(points), axis=1)]
    if len(points) < 100:
        raise CalibrationError(f"only {len(points)} 3D points: too few to find the table plane")
    try:
        plane, inliers = fit_plane_ransac(
            points, threshold, rng, iterations, np.array([0.0, -1.0, 0.0]), max_tilt_deg
        )
    except ValueError as err:
        raise CalibrationError(f"no table plane facing up in the scan: {err}") from err
    heights = plane.distance(cams)
    if np.mean(heights) < 0:
        plane, heights = plane.flipped(), -heights
    if np.any(heights <= 0) or inliers.sum() < 0.05 * len(points):
        raise CalibrationError(
            f"no table plane under the cameras (plane holds {inliers.mean():.0%} of the points, "
            f"{np.sum(heights <= 0)} of {len(cams)} cameras below it)"
        )
    z = plane.normal
    origin = points[inliers].mean(axis=0)
    origin = origin - plane.distance(origin) * z
    x = origin - cams.mean(axis=0)
    x -= (x @ z) * z
    if np.linalg.norm(x) < 1e-6:  # cameras straight above: fall back to frame 0's x axis
        x = np.array([1.0, 0.0, 0.0]) - z[0] * z
    x /= np.linalg.norm(x)
    rot = np.stack([x, np.cross(z, x), z])
    out = np.eye(4)
    out[:3, :3], out[:3, 3] = rot, -rot @ origin
    return out


def _cloud(depth, K, poses, stride: int = 4, max_points: int = 200_000) -> np.ndarray:  # noqa: N803
    """Depth pixels of the posed frames as points in the poses' frame."""
    pts = []
    for d, pose in zip(depth, poses, strict=True):
        if np.all(np.isfinite(pose)):
            vert = _vertices(np.asarray(d, dtype=np.float64), K)[::stride, ::stride].reshape(-1, 3)
            vert = vert[np.isfinite(vert[:, 2]) & (vert[:, 2] > 0)]
            pts.append(vert @ pose[:3, :3].T + pose[:3, 3])
    pts = np.concatenate(pts) if pts else np.empty((0, 3))
    return pts[:: max(1, len(pts) // max_points)]


SCALE_HELP = (
    "an RGB-only video without extrinsics has no metric scale: structure from motion recovers the "
    'camera poses only up to an unknown scale. Supply the camera extrinsics ("T_world_camera" in '
    "camera.json: 4×4, or T×4×4 per frame, OpenCV axes) or metric depth (depth.npz with a 'depth' "
    "array T×H×W in metres, or depth/*.png in millimetres)"
)


def estimate_extrinsics(rgb, depth, K, scan, rng, method="auto", odometry=OdometryConfig(), sfm=SfmConfig()):  # noqa: N803
    """``T_world_camera [T,4,4]`` for the ``scan`` frames (a slice or range of ``rgb``) and an info dict.

    The world frame is :func:`table_frame`'s, found in the scan's depth (``rng`` seeds RANSAC).
    ``method`` "rgbd_odometry" tracks the depth maps; "sfm" runs structure from motion and takes the
    metric scale from depth; "auto" tries odometry, then SfM. Without depth there is no metric scale:
    :class:`CalibrationError` at once, saying what to supply. Frames SfM could not register get NaN.
    """
    if method not in ("auto", "rgbd_odometry", "sfm"):
        raise ValueError(f"method must be 'auto', 'rgbd_odometry' or 'sfm', got {method!r}")
    if depth is None:
        raise CalibrationError(SCALE_HELP)
    frames = np.arange(len(rgb))[scan] if isinstance(scan, slice) else np.asarray(list(scan), dtype=int)
    if len(frames) < 2:
        raise CalibrationError(f"the scan segment has {len(frames)} frames; need at least 2")
    rgb, depth = np.asarray(rgb)[frames], np.asarray(depth, dtype=np.float64)[frames]
    info: dict = {"frames": len(frames), "method": "sfm" if method == "sfm" else "rgbd_odometry"}
    if info["method"] == "rgbd_odometry":
        try:
            poses = odometry_rgbd(rgb, depth, K, odometry)
            registered = np.ones(len(frames), dtype=bool)
        except CalibrationError as err:
            if method != "auto":
                raise
            info.update(method="sfm", odometry_error=str(err))  # fall back on SfM, scaled by depth
    if info["method"] == "sfm":
        try:
            poses, registered, points = sfm_poses(rgb, K, sfm)
        except CalibrationError as err:
            if "odometry_error" not in info:
                raise
            raise CalibrationError(f"{err}; RGB-D odometry failed before: {info['odometry_error']}") from err
        info["scale"] = scale = scale_from_depth(poses, points, depth, K)
        poses[:, :3, 3] *= scale
        info["points"] = len(points)
    info["registered"] = int(registered.sum())
    world_from_0 = table_frame(_cloud(depth, K, poses), poses[registered, :3, 3], rng)
    return world_from_0 @ poses, info


# -- evaluation -------------------------------------------------------------------------------
def align_similarity(src, dst, with_scale: bool = True) -> tuple[float, np.ndarray, np.ndarray]:
    """Umeyama: ``s, R, t`` minimising ``Σ |dst - (s R src + t)|²`` over points ``[N,3]``."""
    src, dst = np.asarray(src, dtype=np.float64), np.asarray(dst, dtype=np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 3 or len(src) < 3:
        raise ValueError(f"need two [N ≥ 3, 3] point sets of the same shape, got {src.shape}, {dst.shape}")
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    a, b = src - mu_s, dst - mu_d
    u, sigma, vt = np.linalg.svd(b.T @ a / len(src))
    d = np.ones(3)
    d[2] = np.sign(np.linalg.det(u @ vt)) or 1.0
    R = u @ np.diag(d) @ vt  # noqa: N806
    s = float(sigma @ d / np.mean(np.sum(a * a, axis=1))) if with_scale else 1.0
    return s, R, mu_d - s * R @ mu_s


def pose_errors(estimated, truth) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame translation (m) and rotation (deg) errors after aligning the first poses."""
    estimated, truth = np.asarray(estimated, dtype=np.float64), np.asarray(truth, dtype=np.float64)
    aligned = truth[0] @ np.linalg.inv(estimated[0]) @ estimated
    trans = np.linalg.norm(aligned[:, :3, 3] - truth[:, :3, 3], axis=1)
    rel = np.einsum("tji,tjk->tik", aligned[:, :3, :3], truth[:, :3, :3])
    sin = 0.5 * np.linalg.norm(rel[:, [2, 0, 1], [1, 2, 0]] - rel[:, [1, 2, 0], [2, 0, 1]], axis=1)
    return trans, np.degrees(np.arctan2(sin, (np.trace(rel, axis1=1, axis2=2) - 1) / 2))
