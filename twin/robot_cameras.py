"""Cameras of a robot log, calibrated on the robot itself: the arm is the calibration target.

A robot log gives every joint angle but no camera pose. Posing the robot's model at the recorded
joints predicts, for any camera pose, where the arm covers the picture in every frame:

- a **static (exterior) camera** sees the arm move over a still scene, so the pixels that change
  against the episode's median frame (:func:`change_masks`) are where the arm came or went. Its
  pose is the one whose predicted changes (the rendered arm in a frame, XOR where it stands most
  of the time) overlap the observed ones best (:func:`silhouette_iou`): a coarse grid of look-at
  poses scored with projected surface points, then Nelder–Mead on the rendered silhouettes.
  Once the pose is close, a polish compares the arm itself: the background is the median of
  what each pixel shows while the posed arm is elsewhere (:func:`background`), the arm's
  silhouettes are what differs from it (:func:`arm_silhouettes`), and Nelder–Mead fits the
  rendered arm to them, re-estimating the background before each round;
- the **wrist camera** rides on the hand: its pose in a frame is the hand's (forward kinematics)
  times a fixed mount, estimated by hand–eye calibration from the wrist video's own motion
  (:mod:`twin.hand_eye`) and used in place of the robot's default (a DROID Franka's) only when
  well constrained and clearly different. The scene moves through its picture while the fingers
  stay put, so the still pixels (:func:`still_masks`) are the fingers; the rendered hand is
  checked against them and the fit reported.

Poses are ``T_world_camera`` (OpenCV axes) in the robot's base frame, which is the world of a log
without ``base_pose``; pixel centres sit at ``(u + 0.5, v + 0.5)``.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import (
    binary_dilation,
    binary_erosion,
    binary_opening,
    distance_transform_edt,
    sobel,
)
from scipy.optimize import minimize

from twin.splats.camera import look_at
from twin.transforms import axis_angle_to_mat, pose_matrix, quat_to_mat

HAND_BODY = "robot/panda_hand"


class RobotCalibrationError(ValueError):
    """A camera that cannot be calibrated from the robot; the message says which and why."""


@dataclass(frozen=True)
class RobotCalibrationConfig:
    """Settings of the calibration from the robot."""

    change_threshold: float = 25.0  # 0..255, per channel, against the median frame
    still_threshold: float = 6.0  # 0..255, a wrist pixel's spread over the episode to count as still
    frames: int = 16  # frames the refinement compares, spread over the arm's motion
    coarse_frames: int = 8
    coarse_scale: int = 4  # the coarse grid scores images this many times smaller
    azimuth_step_deg: float = 15.0
    elevations_deg: tuple[float, ...] = (5.0, 15.0, 25.0, 35.0, 45.0, 55.0, 65.0, 75.0)
    distances_m: tuple[float, ...] = (0.7, 0.95, 1.25, 1.6, 2.0, 2.6)
    local_fractions: tuple[float, ...] = (0.5, 0.25)  # finer grids searched around the best coarse poses
    local_candidates: int = 8  # ... around this many
    rescore: int = 30  # best coarse poses re-scored on rendered silhouettes
    refine_starts: int = 2  # best re-scored poses refined
    refine_evaluations: int = 300
    refine_steps: tuple[float, ...] = (0.05, 0.02, 0.008)  # Nelder–Mead rounds: first simplex (rad, m)
    refine_sigmas: tuple[float, ...] = (8.0, 4.0, 1.5)  # ... and how blurred they compare (pixels)
    min_iou: float = 0.12  # below this the arm was not found in the view
    edge_weight: float = 0.3  # the refinement's credit for the standing arm's outline on image edges
    min_motion_rad: float = 0.15  # the arm must move at least this much (largest joint range)
    focal_scales: tuple[float, ...] = (1.0,)  # tried when the intrinsics are guessed
    # the polish: the arm's own silhouettes against a background that leaves out where the pose
    # found so far puts the arm, re-estimated before each round
    polish_frames: int = 24
    polish_evaluations: int = 150  # per round
    polish_steps: tuple[float, ...] = (0.006, 0.003)
    polish_sigmas: tuple[float, ...] = (1.0, 0.75)
    background_frames: int = 60  # frames the background median is taken over
    background_margin: int = 4  # pixels around the predicted arm left out of the background
    # processes for the static cameras: 1 calibrates them here, one by one; None one per core, more
    # than 1 that many. Workers are spawned (fresh interpreters), and spawning imports the calling
    # script again: a script that asks for workers keeps its top-level work under
    # ``if __name__ == "__main__":`` (the command line does)
    workers: int | None = 1


@dataclass
class CameraCalibration:
    """One camera's calibration: its pose (4×4, or T×4×4 for a wrist camera), intrinsics, how it
    was found and how well the robot's silhouette fits (IoU of predicted and observed masks)."""

    name: str
    T_world_camera: np.ndarray
    K: np.ndarray
    method: str
    iou: float
    mount: np.ndarray | None = None  # T_hand_camera, for a wrist camera
    extra: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """The JSON-ready account for calibration.json and fidelity.json."""
        out = {
            "method": self.method,
            "silhouette_iou": round(float(self.iou), 4),
            "quality": quality(self.iou),
            "K": np.asarray(self.K).tolist(),
        }
        if self.mount is not None:
            out["T_hand_camera"] = np.round(self.mount, 6).tolist()
        return out | self.extra


def quality(iou: float) -> str:
    """A word for a silhouette fit: good, fair or poor."""
    return "good" if iou >= 0.3 else "fair" if iou >= 0.18 else "poor"


# -- observed masks ------------------------------------------------------------------------------
def change_masks(rgb: np.ndarray, threshold: float) -> np.ndarray:
    """Bool ``[T,H,W]``: pixels that differ from the median of these frames by more than
    ``threshold`` (0..255) in some channel, specks removed."""
    frames = np.asarray(rgb, dtype=np.int16)
    median = np.median(frames, axis=0).astype(np.int16)
    changed = np.abs(frames - median).max(axis=-1) > threshold
    return binary_opening(changed, np.ones((1, 2, 2), dtype=bool))


def still_masks(rgb: np.ndarray, threshold: float) -> np.ndarray:
    """Bool ``[H,W]``: pixels of a moving camera that hardly change over the episode (what rides
    with the camera: the robot's fingers in a wrist view)."""
    frames = np.asarray(rgb, dtype=np.float32)
    spread = np.percentile(frames, 90, axis=0) - np.percentile(frames, 10, axis=0)
    return binary_opening(spread.max(axis=-1) < threshold, np.ones((3, 3), dtype=bool))


UNEXPLAINED_WEIGHT = 0.3  # observed changes the arm does not explain (its shadows) count this much


def overlap(hits: float, predicted: float, observed: float, unexplained: float = UNEXPLAINED_WEIGHT) -> float:
    """Tversky overlap of predicted and observed masks from their pixel counts: a predicted pixel
    nothing changed at counts fully against, an observed change the arm does not cover (its
    shadow, a pushed object) only ``unexplained`` as much."""
    denom = hits + (predicted - hits) + unexplained * (observed - hits)
    return float(hits / denom) if denom > 0 else 0.0


def edge_map(rgb: np.ndarray, quantile: float = 0.8) -> np.ndarray:
    """Bool ``[H,W]``: the strongest edges (top ``1 - quantile`` of gradient magnitude, grown by a
    pixel) of the episode's median frame, where the parts of the arm that hardly move stand."""
    median = np.median(np.asarray(rgb, dtype=np.float32), axis=0).mean(axis=-1)
    magnitude = np.hypot(sobel(median, 0), sobel(median, 1))
    return binary_dilation(magnitude > np.quantile(magnitude, quantile))


def contour_on_edges(masks: np.ndarray, edges: np.ndarray) -> float:
    """The share of the outline of where the arm stands most of the time (``masks [T,H,W]``) that
    lies on image ``edges``."""
    most = masks.mean(axis=0) > 0.5
    outline = most & ~binary_erosion(most)
    return float(edges[outline].mean()) if outline.any() else 0.0


def silhouette_iou(
    predicted: np.ndarray, observed: np.ndarray, unexplained: float = UNEXPLAINED_WEIGHT
) -> float:
    """:func:`overlap` of two boolean stacks (0 when both are empty)."""
    hits = np.count_nonzero(predicted & observed)
    return overlap(hits, np.count_nonzero(predicted), np.count_nonzero(observed), unexplained)


def shrink(observed: np.ndarray, factor: int) -> np.ndarray:
    """Boolean masks ``[T,H,W]`` ``factor`` times smaller: set where at least half the block is
    (as a render at that size samples the arm: a thin part neither swells nor vanishes)."""
    t, h, w = observed.shape
    h, w = h // factor, w // factor
    blocks = observed[:, : h * factor, : w * factor].reshape(t, h, factor, w, factor)
    return blocks.mean(axis=(2, 4)) >= 0.5


def predicted_changes(masks: np.ndarray) -> np.ndarray:
    """What a still camera sees change when the arm covers ``masks [T,H,W]``: the arm in each
    frame XOR where it stands in most frames (the median frame shows the arm there)."""
    return masks ^ (masks.mean(axis=0) > 0.5)


def motion_frames(joints: np.ndarray, count: int) -> np.ndarray:
    """``count`` frame indices spread evenly along the arm's path in joint space."""
    q = np.asarray(joints, dtype=float)
    steps = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(q, axis=0), axis=1))]
    if steps[-1] <= 0:
        return np.array([0])
    picks = np.searchsorted(steps, np.linspace(0, steps[-1], count))
    return np.unique(np.clip(picks, 0, len(q) - 1))


# -- projection ----------------------------------------------------------------------------------
def robot_surface_points(view, joints: np.ndarray, per_geom: int, seed: int = 0) -> list[np.ndarray]:
    """World points ``[P,3]`` spread over the robot's visible mesh surfaces (by area), for each
    row of ``joints``."""
    model, data = view.model, view.data
    rng = np.random.default_rng(seed)
    picks = []
    for g in range(model.ngeom):
        mesh = int(model.geom_dataid[g])
        if model.geom_type[g] != 7 or mesh < 0 or model.geom_rgba[g, 3] == 0 or model.geom_group[g] > 2:
            continue
        start, faces = int(model.mesh_vertadr[mesh]), int(model.mesh_faceadr[mesh])
        corners = model.mesh_vert[start + model.mesh_face[faces : faces + model.mesh_facenum[mesh]]]
        area = np.linalg.norm(np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]), axis=1)
        tri = rng.choice(len(corners), size=per_geom, p=area / area.sum())
        a, b = rng.random((2, per_geom, 1))
        flip = a + b > 1
        a, b = np.where(flip, 1 - a, a), np.where(flip, 1 - b, b)
        c = corners[tri]
        picks.append((g, c[:, 0] + a * (c[:, 1] - c[:, 0]) + b * (c[:, 2] - c[:, 0])))
    out = []
    for row in np.asarray(joints):
        view.pose(row)
        posed = [v @ data.geom_xmat[g].reshape(3, 3).T + data.geom_xpos[g] for g, v in picks]
        out.append(np.concatenate(posed))
    return out


def scaled_intrinsics(K: np.ndarray, factor: float) -> np.ndarray:  # noqa: N803
    """``K`` for an image ``factor`` times smaller (pixel centres kept at half-pixels)."""
    out = np.asarray(K, dtype=float).copy()
    out[:2] /= factor
    return out


def look_at_grid(center: np.ndarray, config: RobotCalibrationConfig) -> np.ndarray:
    """Camera poses ``[N,4,4]`` on spheres around ``center``, looking at it, upright."""
    spheres = [
        (r, el, az)
        for r in config.distances_m
        for el in np.radians(config.elevations_deg)
        for az in np.radians(np.arange(0.0, 360.0, config.azimuth_step_deg))
    ]
    return np.stack([look_at(center + r * direction(el, az), center) for r, el, az in spheres])


def direction(elevation: float, azimuth: float) -> np.ndarray:
    """The unit vector at ``elevation`` above the horizontal and ``azimuth`` from +x (radians)."""
    horizontal = np.cos(elevation)
    return np.array([horizontal * np.cos(azimuth), horizontal * np.sin(azimuth), np.sin(elevation)])


def neighbours(
    pose: np.ndarray, center: np.ndarray, config: RobotCalibrationConfig, fraction: float
) -> np.ndarray:
    """The 26 upright look-at poses around ``pose``'s eye on the grid of :func:`look_at_grid`
    made ``fraction`` as coarse: one step more or less in distance, elevation and azimuth."""
    offset = pose[:3, 3] - center
    r = float(np.linalg.norm(offset))
    el, az = np.arcsin(offset[2] / r), np.arctan2(offset[1], offset[0])
    ratios = np.asarray(config.distances_m)
    stretch = float(np.exp(np.log(ratios[1:] / ratios[:-1]).mean() * fraction))
    d_el = np.radians(np.diff(config.elevations_deg).mean()) * fraction
    d_az = np.radians(config.azimuth_step_deg) * fraction
    out = []
    for i in (-1, 0, 1):
        for j in (-1, 0, 1):
            for k in (-1, 0, 1):
                if i or j or k:
                    eye = center + r * stretch**i * direction(el + j * d_el, az + k * d_az)
                    out.append(look_at(eye, center))
    return np.stack(out)


def perturbed(pose: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """``pose`` moved by ``delta`` = (rotation vector [rad], translation [m]) in its own frame."""
    step = pose_matrix(axis_angle_to_mat(delta[:3]), delta[3:])
    return pose @ step


# -- static cameras ------------------------------------------------------------------------------
def best_shift(
    predicted: np.ndarray, observed: np.ndarray, window: np.ndarray | None = None
) -> tuple[float, int, int]:
    """The image shift ``(dx, dy)`` (pixels) that best lays ``predicted [T,H,W]`` on ``observed``,
    with the :func:`overlap` it reaches: a camera's pan and tilt, to first order. Where ``window
    [H,W]`` marks the real picture inside a wider canvas, predicted pixels shifted outside it are
    not counted against the pose: the camera could not have seen them."""
    t, h, w = predicted.shape
    size = (2 * h, 2 * w)
    a = np.fft.rfft2(predicted.astype(np.float32), s=size)
    b = np.fft.rfft2(observed.astype(np.float32), s=size)
    hits = np.fft.irfft2((np.conj(a) * b).sum(axis=0), s=size)  # hits[dy, dx] = Σ P(p) O(p + d)
    if window is None:
        inside = np.full(size, float(np.count_nonzero(predicted)))
    else:  # inside[dy, dx] = Σ P(p) W(p + d)
        c = np.fft.rfft2(window.astype(np.float32), s=size)
        inside = np.fft.irfft2(np.conj(a).sum(axis=0) * c, s=size)
    scores = hits / np.maximum(inside + UNEXPLAINED_WEIGHT * (np.count_nonzero(observed) - hits), 1e-9)
    dy, dx = np.unravel_index(int(np.argmax(scores)), scores.shape)
    return float(scores[dy, dx]), int(dx if dx < w else dx - 2 * w), int(dy if dy < h else dy - 2 * h)


def panned(pose: np.ndarray, dx: float, dy: float, K: np.ndarray) -> np.ndarray:  # noqa: N803
    """``pose`` turned so that what it sees moves ``dx`` pixels right and ``dy`` down."""
    pan = axis_angle_to_mat(np.array([0.0, -np.arctan2(dx, K[0, 0]), 0.0]))
    tilt = axis_angle_to_mat(np.array([np.arctan2(dy, K[1, 1]), 0.0, 0.0]))
    return pose @ pose_matrix(pan @ tilt, np.zeros(3))


def _canvas(small: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``small [T,h,w]`` in the middle of a canvas three times as wide and high, and the window
    it fills there: the picture a wider camera would take, so that a robot off the centre of the
    real one is still drawn whole."""
    t, h, w = small.shape
    padded = np.zeros((t, 3 * h, 3 * w), dtype=bool)
    padded[:, h : 2 * h, w : 2 * w] = small
    window = np.zeros((3 * h, 3 * w), dtype=bool)
    window[h : 2 * h, w : 2 * w] = True
    return padded, window


def _shift_scored(view, observed, joints, poses, K, width, height, scale):  # noqa: N803
    """Each ``(pose, focal scale)`` of ``poses`` rendered at 1/``scale`` size over ``joints``,
    panned and tilted to its best image shift against ``observed``: ``(overlap, pose, focal)``."""
    w, h = width // scale, height // scale
    padded, window = _canvas(shrink(observed, scale))
    out = []
    for focal in sorted({f for _, f in poses}):
        k = scaled_intrinsics(K, scale)
        k[:2, :2] *= focal
        wide = k.copy()
        wide[:2, 2] += np.array([w, h])
        with view.mask_renderer(wide, 3 * w, 3 * h) as render:
            for pose, f in poses:
                if f != focal:
                    continue
                changes = predicted_changes(np.stack([render(row, pose) for row in joints]))
                if changes.any():
                    iou, dx, dy = best_shift(changes, padded, window)
                    out.append((iou, panned(pose, dx, dy, k), focal))
    return out


def _coarse(view, observed, joints, K, width, height, config):  # noqa: N803
    """Grid poses (and focal scales) scored on small renders of the arm at ``joints``, each
    panned and tilted to its best image shift, then finer grids searched around the best;
    best first."""
    points = robot_surface_points(view, joints, 50)
    center = np.mean([p.mean(axis=0) for p in points], axis=0)

    def scored(poses):
        return _shift_scored(view, observed, joints, poses, K, width, height, config.coarse_scale)

    found = scored([(p, f) for f in config.focal_scales for p in look_at_grid(center, config)])
    for fraction in config.local_fractions:
        found.sort(key=lambda item: -item[0])
        best = found[: config.local_candidates]
        found += scored([(p, f) for _, pose, f in best for p in neighbours(pose, center, config, fraction)])
    found.sort(key=lambda item: -item[0])
    return found


def distinct(candidates: list, count: int, tolerance: float = 1e-4) -> list:
    """The first ``count`` of ``(score, pose, focal)`` ``candidates`` whose poses differ (the
    finer grids revisit poses)."""
    out: list = []
    for candidate in candidates:
        if len(out) == count:
            break
        if not any(c[2] == candidate[2] and np.abs(c[1] - candidate[1]).max() < tolerance for c in out):
            out.append(candidate)
    return out


def calibrate_static_camera(
    view, name: str, rgb: np.ndarray, K: np.ndarray, joints: np.ndarray, config=None, guessed_k: bool = False
) -> CameraCalibration:  # noqa: N803
    """The pose of a camera that did not move, from the arm's silhouettes over the episode:
    a coarse grid and finer ones around its best on small renders, the best re-scored on larger
    renders over more frames, the best few refined and the winner polished."""
    config = config or RobotCalibrationConfig()
    joints = np.asarray(joints, dtype=float)
    if len(joints) < 2 or np.ptp(joints, axis=0).max() < config.min_motion_rad:
        motion = np.degrees(np.ptp(joints, axis=0).max()) if len(joints) else 0.0
        raise RobotCalibrationError(
            f"camera {name!r}: the arm hardly moves (largest joint range {motion:.1f}°), "
            "too little motion to calibrate from"
        )
    K = np.asarray(K, dtype=float)  # noqa: N806
    height, width = rgb.shape[1:3]
    if guessed_k:
        config = _with_focal_search(config)
    coarse_frames = motion_frames(joints, config.coarse_frames)
    observed = change_masks(rgb[coarse_frames], config.change_threshold)
    coarse = _coarse(view, observed, joints[coarse_frames], K, width, height, config)
    frames = motion_frames(joints, config.frames)
    observed = change_masks(rgb[frames], config.change_threshold)
    best_coarse = [(pose, focal) for _, pose, focal in distinct(coarse, config.rescore)]
    starts = _shift_scored(view, observed, joints[frames], best_coarse, K, width, height, 2)
    starts.sort(key=lambda item: -item[0])
    if not starts or starts[0][0] < config.min_iou:
        raise RobotCalibrationError(
            f"camera {name!r}: the arm is never in view (best silhouette overlap "
            f"{starts[0][0] if starts else 0:.2f} < {config.min_iou}); it cannot be calibrated from the robot"
        )
    edges = edge_map(rgb)
    best = None
    for _, start, focal in starts[: config.refine_starts]:
        k = K.copy()
        k[:2, :2] *= focal
        pose, score = _refine(view, observed, joints[frames], k, start, width, height, config, edges=edges)
        if best is None or score > best[2]:
            best = (pose, k, score)
    pose, k, _ = best
    pose, fit = _polish(view, rgb, joints, k, pose, config)
    with view.mask_renderer(k, width, height) as render:
        masks = np.stack([render(row, pose) for row in joints[frames]])
    iou = silhouette_iou(predicted_changes(masks), observed, 1.0)
    extra = {"arm_silhouette_fit": round(fit, 4)} | ({"focal_estimated": True} if guessed_k else {})
    return CameraCalibration(name, pose, k, "robot silhouette", iou, extra=extra)


def _with_focal_search(config: RobotCalibrationConfig) -> RobotCalibrationConfig:
    import dataclasses

    return dataclasses.replace(config, focal_scales=(0.6, 0.75, 0.9, 1.1, 1.35, 1.7))


def soft_fit(predicted: np.ndarray, to_observed: np.ndarray, observed: np.ndarray, sigma: float) -> float:
    """A smooth :func:`overlap`: each predicted pixel scores ``exp(-d²/2σ²)`` by its distance to
    the nearest observed change (``to_observed``, from :func:`distances`), each observed change by
    its distance to the nearest predicted pixel, the latter weighted as unexplained changes are."""
    if not predicted.any() or not observed.any():
        return 0.0
    near = np.exp(-0.5 * (to_observed[predicted] / sigma) ** 2).mean()
    covered = np.exp(-0.5 * (distances(predicted)[observed] / sigma) ** 2).mean()
    return float((near + UNEXPLAINED_WEIGHT * covered) / (1.0 + UNEXPLAINED_WEIGHT))


def distances(masks: np.ndarray) -> np.ndarray:
    """Per frame, each pixel's distance (pixels) to the nearest set pixel of ``masks [T,H,W]``."""
    out = np.empty(masks.shape, dtype=np.float32)
    for i, mask in enumerate(masks):
        out[i] = distance_transform_edt(~mask) if mask.any() else 1e6
    return out


def orbited(pose: np.ndarray, delta: np.ndarray, pivot: np.ndarray) -> np.ndarray:
    """``pose`` turned by the rotation vector ``delta[:3]`` about ``pivot`` (a point in the camera's
    frame: the robot it looks at), then moved by ``delta[3:]`` (m) along its own axes. Turning
    about what the camera sees keeps the picture roughly in place, so the six numbers are nearly
    independent, which Nelder–Mead needs."""
    rotation = axis_angle_to_mat(delta[:3])
    step = pose_matrix(rotation, pivot - rotation @ pivot + delta[3:])
    return pose @ step


def _pivot(view, joints, pose) -> np.ndarray:
    """The robot's mean surface point over ``joints``, in the camera's frame."""
    points = robot_surface_points(view, joints[:: max(1, len(joints) // 4)], 50)
    centre = np.mean([p.mean(axis=0) for p in points], axis=0)
    inv = np.linalg.inv(pose)
    return inv[:3, :3] @ centre + inv[:3, 3]


def _refine(view, observed, joints, K, start, width, height, config, edges=None):  # noqa: N803
    """Nelder–Mead over the pose's six degrees of freedom on rendered silhouettes, in rounds from
    wide, blurred comparisons to sharp ones; returns (pose, final score)."""
    pose = start
    pivot = _pivot(view, joints, pose)
    to_observed = distances(observed)
    to_edges = None if edges is None else distances(edges[None])[0]
    with view.mask_renderer(K, width, height) as render:

        def score(delta, sigma):
            candidate = orbited(pose, delta, pivot)
            masks = np.stack([render(row, candidate) for row in joints])
            fit = soft_fit(predicted_changes(masks), to_observed, observed, sigma)
            if to_edges is None:
                return fit
            most = masks.mean(axis=0) > 0.5
            outline = most & ~binary_erosion(most)
            on_edges = np.exp(-0.5 * (to_edges[outline] / sigma) ** 2).mean() if outline.any() else 0.0
            return fit + config.edge_weight * float(on_edges)

        evaluations = config.refine_evaluations // len(config.refine_steps)
        for step, sigma in zip(config.refine_steps, config.refine_sigmas, strict=True):
            simplex = np.vstack([np.zeros(6), np.diag([step] * 6)])
            options = {"initial_simplex": simplex, "maxfev": evaluations, "xatol": 1e-4}
            result = minimize(
                lambda d, s=sigma: -score(d, s), np.zeros(6), method="Nelder-Mead", options=options
            )
            pose = orbited(pose, result.x, pivot)
        final = score(np.zeros(6), config.refine_sigmas[-1])
    return pose, final


def background(rgb: np.ndarray, arm: np.ndarray, margin: int) -> tuple[np.ndarray, np.ndarray]:
    """A still camera's view without the robot: per pixel, the median of the frames ``rgb [T,H,W,3]``
    where the arm (``arm [T,H,W]``, grown by ``margin`` pixels) is not; and where some frame saw it."""
    grown = binary_dilation(arm, np.ones((1, 2 * margin + 1, 2 * margin + 1), dtype=bool))
    stack = np.where(grown[..., None], np.nan, np.asarray(rgb, dtype=np.float32))
    with warnings.catch_warnings():  # pixels the arm covers in every frame stay unknown
        warnings.simplefilter("ignore", RuntimeWarning)
        median = np.nanmedian(stack, axis=0)
    known = ~np.isnan(median[..., 0])
    return np.nan_to_num(median), known


def arm_silhouettes(rgb: np.ndarray, backdrop: np.ndarray, known: np.ndarray, threshold: float) -> np.ndarray:
    """Bool ``[T,H,W]``: the pixels of ``rgb`` unlike the ``backdrop`` by more than ``threshold``
    (0..255) in some channel, where the backdrop is known, specks removed."""
    changed = (np.abs(np.asarray(rgb, dtype=np.float32) - backdrop).max(axis=-1) > threshold) & known
    return binary_opening(changed, np.ones((1, 2, 2), dtype=bool))


def _polish(view, rgb, joints, K, pose, config):  # noqa: N803
    """The pose refined on the arm's own silhouettes (sharper than the changes against the median
    that found it), the background re-estimated from the latest pose before each round; returns
    (pose, soft fit of the last round)."""
    height, width = rgb.shape[1:3]
    every = np.unique(np.round(np.linspace(0, len(joints) - 1, config.background_frames)).astype(int))
    frames = motion_frames(joints, config.polish_frames)
    pivot = _pivot(view, joints, pose)
    fit = 0.0
    with view.mask_renderer(K, width, height) as render:
        for step, sigma in zip(config.polish_steps, config.polish_sigmas, strict=True):
            arm = np.stack([render(joints[i], pose) for i in every])
            backdrop, known = background(rgb[every], arm, config.background_margin)
            seen = arm_silhouettes(rgb[frames], backdrop, known, config.change_threshold)
            to_seen = distances(seen)

            def score(delta, sigma=sigma, start=pose, seen=seen, to_seen=to_seen, known=known):
                masks = np.stack([render(row, orbited(start, delta, pivot)) for row in joints[frames]])
                return soft_fit(masks & known, to_seen, seen, sigma)

            simplex = np.vstack([np.zeros(6), np.diag([step] * 6)])
            options = {"initial_simplex": simplex, "maxfev": config.polish_evaluations, "xatol": 1e-5}
            result = minimize(lambda d, f=score: -f(d), np.zeros(6), method="Nelder-Mead", options=options)
            pose, fit = orbited(pose, result.x, pivot), float(-result.fun)
    return pose, fit


# -- the wrist camera ----------------------------------------------------------------------------
def hand_poses(view, joints: np.ndarray) -> np.ndarray:
    """``T_world_hand [T,4,4]`` from forward kinematics for every row of ``joints``."""
    body = view.model.body(HAND_BODY).id
    out = []
    for row in np.asarray(joints):
        view.pose(row)
        out.append(pose_matrix(view.data.xmat[body].reshape(3, 3), view.data.xpos[body]))
    return np.stack(out)


def steady_grip(joints: np.ndarray, fingers: list[int], tolerance: float = 0.002) -> np.ndarray:
    """The frames where the fingers stand within ``tolerance`` (m) of their most common opening
    (all frames when the states have no fingers)."""
    if not fingers:
        return np.arange(len(joints))
    opening = np.asarray(joints, dtype=float)[:, fingers].mean(axis=1)
    counts = [(np.abs(opening - o) <= tolerance).sum() for o in opening]
    return np.flatnonzero(np.abs(opening - opening[int(np.argmax(counts))]) <= tolerance)


def default_wrist_mount() -> np.ndarray:
    """``T_hand_camera`` (OpenCV axes) of the wrist camera as on a DROID Franka."""
    from twin.scene.robot import WRIST_MOUNT_POS, WRIST_MOUNT_QUAT
    from twin.transforms import MUJOCO_TO_OPENCV

    return pose_matrix(quat_to_mat(WRIST_MOUNT_QUAT) @ MUJOCO_TO_OPENCV, WRIST_MOUNT_POS)


def calibrate_wrist_camera(
    view,
    name: str,
    rgb: np.ndarray,
    K: np.ndarray,  # noqa: N803
    joints: np.ndarray,
    config=None,
    mount=None,
    hand_eye=None,
) -> CameraCalibration:
    """The wrist camera's per-frame poses: the hand's (forward kinematics) times its mount, and how
    well that fits: the rendered hand and fingers against the pixels that stay still in its video
    over the frames where the gripper holds its most common opening.

    The mount is ``mount`` where given; otherwise hand–eye calibration from the video's own motion
    (:mod:`twin.hand_eye`, settings ``hand_eye``, the still pixels left out) estimates it, and the
    estimate replaces the robot's default only when it is well constrained, clearly different and
    within 5 cm and 15° of it (the decision and the residuals go into ``extra``). The mount is not
    refined on the silhouette fit: the fingers sit at the picture's edge, where a shift along the
    view and a tilt look alike, and a refinement wandered centimetres off (tray_pick)."""
    from twin.hand_eye import choose_mount, estimate_mount

    config = config or RobotCalibrationConfig()
    joints = np.asarray(joints, dtype=float)
    height, width = rgb.shape[1:3]
    hands = hand_poses(view, joints)
    held = steady_grip(joints, view.finger_columns)
    observed = still_masks(rgb[held], config.still_threshold)
    frames = held[motion_frames(joints[held], 4)]
    extra: dict = {}
    if mount is not None:
        mount, method = np.asarray(mount, dtype=float), "given mount"
    else:
        default = default_wrist_mount()
        fingers = binary_dilation(observed, iterations=3)
        estimate, reason = estimate_mount(rgb, K, hands, default, fingers, hand_eye)
        mount, extra = choose_mount(default, estimate, reason, hand_eye)
        method = "hand-eye from motion" if extra["mount_decision"] == "estimate used" else "default mount"
    with view.mask_renderer(K, width, height) as render:
        hand = np.stack([render(joints[i], hands[i] @ mount) for i in frames]).all(axis=0)
    iou = silhouette_iou(hand, observed)
    return CameraCalibration(name, hands @ mount, np.asarray(K, float), method, iou, mount=mount, extra=extra)


# -- a whole log -------------------------------------------------------------------------------------
def calibration_entry(calibration: CameraCalibration, width: int, height: int) -> dict:
    """calibration.json's entry for one camera: K, size, ``T_world_camera`` (per frame for the
    wrist camera, with its ``T_hand_camera`` mount) and how the pose was found."""
    return {
        "K": np.asarray(calibration.K).tolist(),
        "width": int(width),
        "height": int(height),
        "T_world_camera": np.round(calibration.T_world_camera, 6).tolist(),
    } | {k: v for k, v in calibration.summary().items() if k != "K"}


def calibrate_log(demo, config: RobotCalibrationConfig | None = None, on_camera=None) -> dict:
    """Every camera of a robot log (:class:`twin.demonstration.Demonstration`), calibrated from its
    robot: the wrist camera (:attr:`~twin.demonstration.Demonstration.wrist_camera`) on the hand,
    every other camera as a static one, the static ones side by side in worker processes (see
    :attr:`RobotCalibrationConfig.workers`). Returns ``{name: CameraCalibration}`` in the world
    frame of the log (the robot's base frame where ``base_pose`` is absent)."""
    from twin.scene.robot_view import RobotView, RobotViewError

    config = config or RobotCalibrationConfig()
    robot = demo.robot
    if robot is None or "joint_positions" not in robot.arrays:
        raise RobotCalibrationError("the log has no robot joint positions to calibrate its cameras from")
    base = np.eye(4) if robot.base_pose is None else np.asarray(robot.base_pose, dtype=float)
    try:
        view = RobotView(robot.name, base, robot.joint_names)
    except RobotViewError as err:
        raise RobotCalibrationError(f"cannot pose the robot: {err}") from None
    joints = np.asarray(robot.arrays["joint_positions"], dtype=float)
    for name, cam in demo.cameras.items():
        if len(cam.rgb) != len(joints):
            raise RobotCalibrationError(
                f"camera {name!r} has {len(cam.rgb)} frames for {len(joints)} joint states"
            )
    guessed = demo.extra.get("intrinsics_guessed") or []
    static = {
        name: (name, cam.rgb, cam.K, joints, config, guessed is True or name in guessed)
        for name, cam in demo.cameras.items()
        if name != demo.wrist_camera
    }
    out = {}
    with _static_pool(len(static), config.workers) as pool:
        robot_args = (robot.name, base, robot.joint_names)
        jobs = (
            {}
            if pool is None
            else {n: pool.submit(_calibrate_static, robot_args, a) for n, a in static.items()}
        )
        for name, cam in demo.cameras.items():
            if on_camera:
                on_camera(name)
            if name == demo.wrist_camera:
                out[name] = calibrate_wrist_camera(view, name, cam.rgb, cam.K, joints, config)
            elif name in jobs:
                out[name] = jobs[name].result()
            else:
                *args, guess = static[name]
                out[name] = calibrate_static_camera(view, *args, guessed_k=guess)
    return out


@contextmanager
def _static_pool(cameras: int, workers: int | None):
    """Worker processes for ``cameras`` static cameras (None: calibrate them here, one by one).
    Fresh interpreters, not forks: the caller may have threads (a GL context, a video decoder)."""
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    count = min(cameras, len(os.sched_getaffinity(0)) if workers is None else workers)
    if count < 2:
        yield None
        return
    pool = ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("spawn"))
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _calibrate_static(robot_args: tuple, args: tuple) -> CameraCalibration:
    """:func:`calibrate_static_camera` in a worker process, with its own view of the robot."""
    from twin.scene.robot_view import RobotView

    *camera_args, guess = args
    return calibrate_static_camera(RobotView(*robot_args), *camera_args, guessed_k=guess)
