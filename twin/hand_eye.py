"""Hand–eye calibration of a wrist camera from its own video and the hand's forward kinematics.

The camera rides on the hand at a fixed mount ``X = T_hand_camera``. Between two frames the hand
moves by ``A = T_hand_i⁻¹ T_hand_j`` (forward kinematics) and the camera by ``B = T_cam_i⁻¹ T_cam_j``
(from its video: SIFT matches and an essential matrix, so its translation only up to scale); both
hold the same motion seen from two frames, ``A X = X B``. The mount's rotation turns the rotation
axes of the ``B``s onto those of the ``A``s (pairs that disagree are left out); its translation and
every pair's unknown scale then solve one linear least-squares problem.

Rotations all about one axis (a hand that only yaws) leave the mount's turn about that axis and
its offset along it unobservable: the solve says so instead of guessing. :func:`choose_mount`
keeps the robot's default mount unless the estimate is well constrained, clearly different and
not wild.

Poses are ``T_world_*`` 4×4 with OpenCV camera axes; pixel centres sit at ``(u + 0.5, v + 0.5)``,
as in COLMAP's keypoints, so ``K`` is used as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from twin.transforms import mat_to_axis_angle, pose_error, pose_matrix


@dataclass(frozen=True)
class HandEyeConfig:
    """Settings of the hand–eye calibration and of the choice between it and the default mount."""

    min_rotation_deg: float = 5.0  # a frame pair's hand rotation, at least ...
    max_rotation_deg: float = 30.0  # ... and at most (the two views must still overlap)
    min_baseline_m: float = 0.01  # the camera's travel in a pair (predicted with the default mount)
    max_pairs: int = 80
    min_pairs: int = 8  # usable pairs needed for an estimate
    min_inliers: int = 50  # essential-matrix inliers of a usable pair
    ratio: float = 0.8  # Lowe's ratio test on SIFT descriptor distances
    max_error_px: float = 0.75  # RANSAC's epipolar error threshold
    outlier_deg: float = 1.5  # a pair whose rotation disagrees with the mount by more is left out
    min_parallel_deg: float = 10.0  # two pairs' rotation axes at least this far apart fix a rotation
    min_inlier_share: float = 0.5  # of the usable pairs, that agree with the estimate
    noise_floor_deg: float = 0.05  # the least rotation noise assumed, for the uncertainties
    noise_floor_m: float = 0.0005  # ... and translation noise
    # the choice: accept an estimate this well constrained (one standard deviation, from the residuals
    # as if the pairs were independent: on renders the rotation's error ran 3-4 times that) ...
    max_rotation_std_deg: float = 0.75
    max_translation_std_m: float = 0.008
    # ... that differs from the default by more than this many standard deviations and these floors
    # (on renders the estimate of a default mount came within about 1° and 1 cm of it) ...
    clear_sigmas: float = 3.0
    clear_deg: float = 1.5
    clear_m: float = 0.01
    # ... and never one this far from it
    max_turn_deg: float = 15.0
    max_offset_m: float = 0.05
    seed: int = 0


@dataclass(frozen=True)
class CameraMotion:
    """The camera's motion from frame ``first`` to ``second``, ``T_cam_first⁻¹ T_cam_second``: its
    rotation and the unit direction of its translation, from ``inliers`` matched features."""

    first: int
    second: int
    rotation: np.ndarray
    direction: np.ndarray
    inliers: int


@dataclass(frozen=True)
class HandEyeEstimate:
    """A mount ``T_hand_camera`` solved from ``pairs`` frame pairs (``outliers`` more left out):
    RMS residuals of ``A X = X B`` and one-standard-deviation uncertainties (worst direction)."""

    mount: np.ndarray
    pairs: int
    outliers: int
    rotation_residual_deg: float
    translation_residual_m: float
    rotation_std_deg: float
    translation_std_m: float

    def summary(self) -> dict:
        """The JSON-ready numbers."""
        return {
            "pairs": self.pairs,
            "outlier_pairs": self.outliers,
            "rotation_residual_deg": round(self.rotation_residual_deg, 4),
            "translation_residual_m": round(self.translation_residual_m, 5),
            "rotation_std_deg": round(self.rotation_std_deg, 4),
            "translation_std_m": round(self.translation_std_m, 5),
        }


# -- motions -------------------------------------------------------------------------------------
def angle_deg(rotation: np.ndarray) -> float:
    """The angle (degrees) of a rotation matrix."""
    cos = (np.trace(rotation) - 1.0) / 2.0
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def relative_motions(poses: np.ndarray, pairs: list[tuple[int, int]]) -> np.ndarray:
    """``[n,4,4]``: ``poses[i]⁻¹ poses[j]`` for every pair ``(i, j)``."""
    poses = np.asarray(poses, dtype=float)
    return np.stack([np.linalg.inv(poses[i]) @ poses[j] for i, j in pairs]).reshape(-1, 4, 4)


def motion_pairs(hands: np.ndarray, mount: np.ndarray, config: HandEyeConfig) -> list[tuple[int, int]]:
    """Frame pairs whose hand rotation lies between the configured bounds and whose camera (on
    ``mount``) travels at least ``min_baseline_m``; at most ``max_pairs``, spread over the list."""
    hands = np.asarray(hands, dtype=float)
    rotations, where = hands[:, :3, :3], (hands @ mount)[:, :3, 3]
    cos = (np.einsum("iab,jab->ij", rotations, rotations) - 1.0) / 2.0  # trace(R_iᵀ R_j)
    turn = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    travel = np.linalg.norm(where[:, None] - where[None], axis=-1)
    ok = (
        (turn >= config.min_rotation_deg)
        & (turn <= config.max_rotation_deg)
        & (travel >= config.min_baseline_m)
    )
    found = [(int(i), int(j)) for i, j in zip(*np.nonzero(np.triu(ok, 1)), strict=True)]
    if len(found) > config.max_pairs:
        picks = np.linspace(0, len(found) - 1, config.max_pairs).round().astype(int)
        found = [found[k] for k in picks]
    return found


# -- the camera's motions from its video -----------------------------------------------------------
def sift_features(gray: np.ndarray, extractor, ignore: np.ndarray | None = None):
    """Keypoint positions ``[m,2]`` (pixel centres at +0.5) and L2-normalised descriptors
    ``[m,128]`` of a uint8 image, leaving out keypoints on ``ignore`` (bool ``[H,W]``)."""
    import pycolmap

    keypoints, descriptors = extractor.extract_from_uint8_array(np.ascontiguousarray(gray, dtype=np.uint8))
    xy = pycolmap.keypoints_to_matrix(keypoints)[:, :2].astype(float)
    desc = np.asarray(descriptors.data, dtype=np.float32).reshape(len(xy), -1)
    if ignore is not None and len(xy):
        h, w = ignore.shape
        cols = np.clip(xy[:, 0].astype(int), 0, w - 1)
        rows = np.clip(xy[:, 1].astype(int), 0, h - 1)
        keep = ~ignore[rows, cols]
        xy, desc = xy[keep], desc[keep]
    desc /= np.maximum(np.linalg.norm(desc, axis=1, keepdims=True), 1e-12)
    return xy, desc


def match_descriptors(first: np.ndarray, second: np.ndarray, ratio: float) -> np.ndarray:
    """``[m,2]`` index pairs of mutual nearest descriptors that pass Lowe's ratio test."""
    if len(first) < 2 or len(second) < 2:
        return np.zeros((0, 2), dtype=int)
    distance = np.sqrt(np.maximum(2.0 - 2.0 * first @ second.T, 0.0))
    nearest = np.argmin(distance, axis=1)
    two = np.partition(distance, 1, axis=1)[:, :2]
    back = np.argmin(distance, axis=0)
    rows = np.arange(len(first))
    keep = (back[nearest] == rows) & (two[:, 0] < ratio * two[:, 1])
    return np.stack([rows[keep], nearest[keep]], axis=1)


def two_view_motion(
    xy1: np.ndarray,
    xy2: np.ndarray,
    K: np.ndarray,  # noqa: N803
    size: tuple[int, int],
    config: HandEyeConfig,
):
    """``(rotation, unit direction, inliers)`` of ``T_cam1⁻¹ T_cam2`` from matched pixels of two
    views of a camera with intrinsics ``K`` and ``size`` (width, height), or None."""
    import pycolmap

    if len(xy1) < config.min_inliers:
        return None
    K = np.asarray(K, dtype=float)
    camera = pycolmap.Camera(
        model="PINHOLE", width=size[0], height=size[1], params=[K[0, 0], K[1, 1], K[0, 2], K[1, 2]]
    )
    options = pycolmap.RANSACOptions(max_error=config.max_error_px)
    options.random_seed = config.seed
    found = pycolmap.estimate_relative_pose(camera, xy1, camera, xy2, options)
    if not found or found["num_inliers"] < config.min_inliers:
        return None
    refined = pycolmap.refine_relative_pose(
        found["cam2_from_cam1"], camera, xy1, camera, xy2, np.asarray(found["inlier_mask"], dtype=bool)
    )
    cam2_from_cam1 = (refined or found)["cam2_from_cam1"]
    rotation = np.asarray(cam2_from_cam1.rotation.matrix(), dtype=float).T
    direction = -rotation @ np.asarray(cam2_from_cam1.translation, dtype=float)
    norm = np.linalg.norm(direction)
    if not np.isfinite(norm) or norm < 1e-9:
        return None
    return rotation, direction / norm, int(found["num_inliers"])


def camera_motions(
    rgb: np.ndarray,
    K: np.ndarray,  # noqa: N803
    pairs: list[tuple[int, int]],
    ignore: np.ndarray | None = None,
    config: HandEyeConfig | None = None,
) -> list[CameraMotion]:
    """The camera's motion for every frame pair of ``rgb [T,H,W,3]`` whose two views match well
    enough (SIFT, mutual ratio-tested matches, an essential matrix with ``K``); ``ignore`` masks
    pixels that ride with the camera (the fingers)."""
    import pycolmap

    config = config or HandEyeConfig()
    options = pycolmap.FeatureExtractionOptions()
    options.num_threads = 1
    level, pycolmap.logging.minloglevel = pycolmap.logging.minloglevel, 3
    try:
        extractor = pycolmap.FeatureExtractor.create(options, device=pycolmap.Device.cpu)
        frames = sorted({i for pair in pairs for i in pair})
        weights = np.array([0.299, 0.587, 0.114])
        features = {
            i: sift_features(
                (np.asarray(rgb[i], dtype=float) @ weights).round().astype(np.uint8), extractor, ignore
            )
            for i in frames
        }
        size = (rgb.shape[2], rgb.shape[1])
        out = []
        for i, j in pairs:
            (xy1, d1), (xy2, d2) = features[i], features[j]
            matches = match_descriptors(d1, d2, config.ratio)
            found = two_view_motion(xy1[matches[:, 0]], xy2[matches[:, 1]], K, size, config)
            if found is not None:
                out.append(CameraMotion(i, j, *found))
    finally:
        pycolmap.logging.minloglevel = level
    return out


# -- AX = XB -------------------------------------------------------------------------------------
def align_rotation(targets: np.ndarray, sources: np.ndarray) -> np.ndarray:
    """The rotation ``R`` that best turns ``sources [n,3]`` onto ``targets [n,3]`` (least squares)."""
    u, _, vt = np.linalg.svd(np.asarray(targets).T @ np.asarray(sources))
    fix = np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt)) or 1.0])
    return u @ fix @ vt


def rotation_residuals_deg(hand: np.ndarray, camera: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """Per pair, the angle (degrees) between ``R_A R_X`` and ``R_X R_B``."""
    return np.array([angle_deg((a @ rotation).T @ rotation @ b) for a, b in zip(hand, camera, strict=True)])


def distinct_axes(rotations: np.ndarray, min_deg: float) -> list[tuple[int, int]]:
    """Index pairs of ``rotations [n,3,3]`` whose axes lie at least ``min_deg`` apart (either sense)."""
    a = np.array([mat_to_axis_angle(r) for r in rotations]).reshape(-1, 3)
    unit = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    return [
        (i, j)
        for i, j in combinations(range(len(a)), 2)
        if np.linalg.norm(np.cross(unit[i], unit[j])) > np.sin(np.radians(min_deg))
    ]


def solve_rotation(hand: np.ndarray, camera: np.ndarray, config: HandEyeConfig):
    """The mount's rotation from hand rotations ``[n,3,3]`` and camera rotations ``[n,3,3]``:
    the best of the rotations fixed by two pairs with distinct axes (the most pairs within
    ``outlier_deg``), refined on those pairs. Returns ``(rotation, inlier mask)`` or None when no
    two pairs turn about distinct axes."""
    a = np.array([mat_to_axis_angle(r) for r in hand])
    b = np.array([mat_to_axis_angle(r) for r in camera])
    samples = distinct_axes(hand, config.min_parallel_deg)
    if not samples:
        return None
    if len(samples) > 2000:
        picks = np.random.default_rng(config.seed).choice(len(samples), 2000, replace=False)
        samples = [samples[k] for k in picks]
    best, best_key = None, (-1, 0.0)
    for i, j in samples:
        rotation = align_rotation(a[[i, j]], b[[i, j]])
        residuals = rotation_residuals_deg(hand, camera, rotation)
        inliers = residuals < config.outlier_deg
        key = (int(inliers.sum()), -float(residuals[inliers].sum()))
        if key > best_key:
            best, best_key = inliers, key
    assert best is not None
    inliers = best
    for _ in range(3):
        rotation = align_rotation(a[inliers], b[inliers])
        inliers = rotation_residuals_deg(hand, camera, rotation) < config.outlier_deg
    return rotation, inliers


def rotation_std_deg(hand: np.ndarray, camera: np.ndarray, rotation: np.ndarray, floor_deg: float) -> float:
    """One standard deviation (degrees, worst direction) of the mount's rotation fitted to these
    pairs: infinite when their rotation axes are all parallel."""
    a = np.array([mat_to_axis_angle(r) for r in hand])
    v = np.array([rotation @ mat_to_axis_angle(r) for r in camera])
    normal = sum(np.dot(x, x) * np.eye(3) - np.outer(x, x) for x in v)
    dof = max(3 * len(a) - 3, 1)
    sigma = max(float(np.sqrt(np.sum((a - v) ** 2) / dof)), np.radians(floor_deg))
    smallest = float(np.linalg.eigvalsh(normal)[0])
    if smallest <= 1e-12 * max(float(np.trace(normal)), 1e-12):
        return float("inf")
    return float(np.degrees(sigma / np.sqrt(smallest)))


def solve_translation(hand: np.ndarray, directions: np.ndarray, rotation: np.ndarray, floor_m: float = 0.0):
    """The mount's translation and each pair's camera travel from ``(R_A - I) t = s R_X b - t_A``
    (hand motions ``[n,4,4]``, unit camera directions ``b [n,3]``), least squares. Returns
    ``(translation, scales [n], residuals [n] (m), standard deviation (m, worst direction; the
    noise at least ``floor_m``))``."""
    n = len(hand)
    rows = np.zeros((3 * n, 3 + n))
    rhs = np.zeros(3 * n)
    for k, (motion, b) in enumerate(zip(hand, directions, strict=True)):
        rows[3 * k : 3 * k + 3, :3] = motion[:3, :3] - np.eye(3)
        rows[3 * k : 3 * k + 3, 3 + k] = -rotation @ b
        rhs[3 * k : 3 * k + 3] = -motion[:3, 3]
    solution = np.linalg.lstsq(rows, rhs, rcond=None)[0]
    residuals = np.linalg.norm((rows @ solution - rhs).reshape(n, 3), axis=1)
    normal = rows.T @ rows
    dof = max(3 * n - 3 - n, 1)
    sigma2 = max(float(np.sum(residuals**2) / dof), floor_m**2)
    eig = np.linalg.eigvalsh(normal)
    if eig[0] <= 1e-10 * eig[-1]:
        std = float("inf")
    else:
        std = float(np.sqrt(sigma2 * np.linalg.eigvalsh(np.linalg.inv(normal)[:3, :3])[-1]))
    return solution[:3], solution[3:], residuals, std


def solve_hand_eye(
    hand: np.ndarray,
    camera_rotations: np.ndarray,
    directions: np.ndarray,
    config: HandEyeConfig | None = None,
) -> tuple[HandEyeEstimate | None, str]:
    """``T_hand_camera`` from hand motions ``A [n,4,4]`` and camera motions known as rotations
    ``[n,3,3]`` and unit translation directions ``[n,3]``, or None and the reason it is not."""
    config = config or HandEyeConfig()
    hand = np.asarray(hand, dtype=float).reshape(-1, 4, 4)
    camera_rotations = np.asarray(camera_rotations, dtype=float).reshape(-1, 3, 3)
    directions = np.asarray(directions, dtype=float).reshape(-1, 3)
    n = len(hand)
    if n < config.min_pairs:
        return None, f"{n} usable frame pairs, {config.min_pairs} needed: the wrist moved too little"
    solved = solve_rotation(hand[:, :3, :3], camera_rotations, config)
    if solved is None:
        return None, "the hand turned about a single axis: the mount's turn about it is not observable"
    rotation, inliers = solved
    if inliers.sum() < max(config.min_pairs, config.min_inlier_share * n):
        return None, f"only {int(inliers.sum())} of {n} pairs agree on a mount rotation"
    # a pair whose travel comes out backwards or far off the rest is left out, once
    translation, scales, residuals, _ = solve_translation(hand[inliers], directions[inliers], rotation)
    agree = (scales > 0) & (residuals <= max(3.0 * float(np.median(residuals)), 0.005))
    keep = np.flatnonzero(inliers)[agree]
    if len(keep) < config.min_pairs:
        return None, f"only {len(keep)} of {n} pairs agree on a mount translation"
    translation, _, residuals, t_std = solve_translation(
        hand[keep], directions[keep], rotation, config.noise_floor_m
    )
    kept_hand, kept_camera = hand[keep, :3, :3], camera_rotations[keep]
    r_std = rotation_std_deg(kept_hand, kept_camera, rotation, config.noise_floor_deg)
    estimate = HandEyeEstimate(
        mount=pose_matrix(rotation, translation),
        pairs=len(keep),
        outliers=n - len(keep),
        rotation_residual_deg=float(
            np.sqrt(np.mean(rotation_residuals_deg(kept_hand, kept_camera, rotation) ** 2))
        ),
        translation_residual_m=float(np.sqrt(np.mean(residuals**2))),
        rotation_std_deg=r_std,
        translation_std_m=t_std,
    )
    if not (np.isfinite(r_std) and np.isfinite(t_std)):
        return estimate, "the hand's rotation axes do not span enough directions to fix the mount"
    return estimate, "solved"


def choose_mount(
    default: np.ndarray, estimate: HandEyeEstimate | None, reason: str, config: HandEyeConfig | None = None
) -> tuple[np.ndarray, dict]:
    """The mount to use, the default or the estimate, and a JSON-ready record of why: the estimate
    only when it is well constrained, clearly different from the default, and not wild."""
    config = config or HandEyeConfig()
    default = np.asarray(default, dtype=float)
    record: dict = {"hand_eye": reason}
    if estimate is None:
        return default, record | {"mount_decision": "default kept: no estimate"}
    offset, turn = pose_error(estimate.mount, default)
    record |= estimate.summary() | {
        "estimate_offset_from_default_m": round(offset, 5),
        "estimate_turn_from_default_deg": round(turn, 3),
    }
    if reason != "solved":
        decision = "default kept: the estimate is not constrained"
    elif offset > config.max_offset_m or turn > config.max_turn_deg:
        decision = "default kept: the estimate is too far from it to trust"
    elif estimate.rotation_std_deg > config.max_rotation_std_deg or (
        estimate.translation_std_m > config.max_translation_std_m
    ):
        decision = "default kept: the estimate is too uncertain"
    elif offset <= max(config.clear_m, config.clear_sigmas * estimate.translation_std_m) and turn <= max(
        config.clear_deg, config.clear_sigmas * estimate.rotation_std_deg
    ):
        decision = "default kept: the estimate agrees with it"
    else:
        return estimate.mount, record | {"mount_decision": "estimate used"}
    return default, record | {"mount_decision": decision}


def estimate_mount(
    rgb: np.ndarray,
    K: np.ndarray,  # noqa: N803
    hands: np.ndarray,
    default: np.ndarray,
    ignore: np.ndarray | None = None,
    config: HandEyeConfig | None = None,
) -> tuple[HandEyeEstimate | None, str]:
    """The wrist camera's mount from its video ``rgb [T,H,W,3]`` and the hand's poses
    ``[T,4,4]`` (forward kinematics), pairs chosen with the ``default`` mount; see
    :func:`solve_hand_eye`."""
    config = config or HandEyeConfig()
    pairs = motion_pairs(hands, np.asarray(default, dtype=float), config)
    if len(pairs) < config.min_pairs:
        return None, f"{len(pairs)} frame pairs turn and travel enough, {config.min_pairs} needed"
    if not distinct_axes(relative_motions(hands, pairs)[:, :3, :3], config.min_parallel_deg):
        return None, "the hand turned about a single axis: the mount's turn about it is not observable"
    motions = camera_motions(rgb, K, pairs, ignore, config)
    if not motions:
        return None, f"none of {len(pairs)} frame pairs matched well enough"
    hand = relative_motions(hands, [(m.first, m.second) for m in motions])
    rotations = np.stack([m.rotation for m in motions])
    directions = np.stack([m.direction for m in motions])
    return solve_hand_eye(hand, rotations, directions, config)
