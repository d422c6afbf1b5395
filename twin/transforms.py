"""Rigid transforms and pinhole cameras: small pure numpy functions.

Conventions: quaternions are (w, x, y, z) like MuJoCo; poses are 4×4 homogeneous matrices;
camera poses ``T_world_camera`` use the OpenCV camera frame (x right, y down, z forward).
MuJoCo cameras look down their -z axis with y up, so they differ from OpenCV by a flip of y and z.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

MUJOCO_TO_OPENCV = np.diag([1.0, -1.0, -1.0])


def quat_to_mat(q: np.ndarray) -> np.ndarray:
    """Rotation matrix of a unit quaternion (w, x, y, z)."""
    w, x, y, z = np.asarray(q, dtype=float) / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def mat_to_quat(m: np.ndarray) -> np.ndarray:
    """Unit quaternion (w, x, y, z) with w ≥ 0 of a rotation matrix."""
    m = np.asarray(m, dtype=float)
    trace = np.trace(m)
    if trace > 0:
        s = 2.0 * np.sqrt(trace + 1.0)
        q = np.array([0.25 * s, (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s])
    else:
        i = int(np.argmax(np.diag(m)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = 2.0 * np.sqrt(1.0 + m[i, i] - m[j, j] - m[k, k])
        q = np.empty(4)
        q[0] = (m[k, j] - m[j, k]) / s
        q[1 + i] = 0.25 * s
        q[1 + j] = (m[j, i] + m[i, j]) / s
        q[1 + k] = (m[k, i] + m[i, k]) / s
    q = np.asarray(q) / np.linalg.norm(q)
    return q if q[0] >= 0 else -q


def yaw_quat(yaw: float) -> np.ndarray:
    """Quaternion of a rotation by ``yaw`` radians about +z."""
    return np.array([np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)])


def rotate_xy(xy: np.ndarray, angle: float) -> np.ndarray:
    """2-D points (one ``(2,)`` or rows ``[N, 2]``) turned counter-clockwise by ``angle`` radians."""
    c, s = np.cos(angle), np.sin(angle)
    return np.asarray(xy, dtype=float) @ np.array([[c, s], [-s, c]])


def mat_yaw(m: np.ndarray) -> float:
    """Heading of a rotation matrix's x axis (3×3, or its 9 numbers) in the xy plane, in radians."""
    m = np.asarray(m, dtype=float).reshape(3, 3)
    return float(np.arctan2(m[1, 0], m[0, 0]))


def quat_yaw(q: np.ndarray) -> float:
    """Heading of the rotated x axis in the xy plane, in radians."""
    return mat_yaw(quat_to_mat(q))


def axis_angle_to_mat(v: np.ndarray) -> np.ndarray:
    """Rotation matrix of a rotation vector (axis × angle in radians), by Rodrigues' formula."""
    v = np.asarray(v, dtype=float)
    angle = np.linalg.norm(v)
    if angle < 1e-12:
        return np.eye(3)
    k = v / angle
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(angle) * kx + (1 - np.cos(angle)) * kx @ kx


def mat_to_axis_angle(m: np.ndarray) -> np.ndarray:
    """Rotation vector of a rotation matrix."""
    q = mat_to_quat(m)
    sin_half = np.linalg.norm(q[1:])
    if sin_half < 1e-12:
        return np.zeros(3)
    angle = 2 * np.arctan2(sin_half, q[0])
    return q[1:] / sin_half * angle


def rotation_error(current: np.ndarray, target: np.ndarray) -> np.ndarray:
    """World-frame rotation vector that turns ``current`` into ``target`` (both 3×3)."""
    return mat_to_axis_angle(target @ current.T)


def pose_error(estimated: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """Position (m) and rotation (degrees) error of the 4×4 pose ``estimated`` against ``truth``."""
    delta = np.linalg.inv(truth) @ estimated
    return float(np.linalg.norm(estimated[:3, 3] - truth[:3, 3])), float(
        np.degrees(np.linalg.norm(mat_to_axis_angle(delta[:3, :3])))
    )


def pose_matrix(rotation: np.ndarray, translation: np.ndarray) -> np.ndarray:
    """4×4 pose from a 3×3 rotation and a translation."""
    out = np.eye(4)
    out[:3, :3] = rotation
    out[:3, 3] = translation
    return out


RIGID_TOLERANCE = 1e-3  # how far RᵀR may stray from I, and the last row from 0 0 0 1 (rounding)


def rigid_problem(pose: ArrayLike) -> str | None:
    """Why ``pose`` (finite 4×4, or a stack of them) is not a rigid transform: its last row is not
    0 0 0 1, or its rotation part is not orthonormal with determinant 1. None when it is."""
    stack = np.asarray(pose, dtype=float).reshape(-1, 4, 4)
    several = np.ndim(pose) == 3
    for i, m in enumerate(stack):
        at = f"pose {i}: " if several else ""
        if np.abs(m[3] - (0.0, 0.0, 0.0, 1.0)).max() > RIGID_TOLERANCE:
            return f"{at}last row {np.round(m[3], 6).tolist()}, expected [0, 0, 0, 1]"
        rotation = m[:3, :3]
        error = float(np.abs(rotation.T @ rotation - np.eye(3)).max())
        if error > RIGID_TOLERANCE:
            return f"{at}the rotation part is scaled or sheared (RᵀR differs from I by {error:.3g})"
        det = float(np.linalg.det(rotation))
        if abs(det - 1.0) > RIGID_TOLERANCE:
            return f"{at}the rotation part has determinant {det:.3g}, expected 1 (a reflection)"
    return None


def look_at_rotation(
    eye: ArrayLike, target: ArrayLike, up: tuple[float, float, float] | np.ndarray = (0.0, 0.0, 1.0)
) -> np.ndarray:
    """OpenCV camera-to-world rotation for a camera at ``eye`` looking at ``target``."""
    forward = np.asarray(target, float) - np.asarray(eye, float)
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, up)
    if np.linalg.norm(right) < 1e-9:  # looking straight up or down
        right = np.cross(forward, (0.0, 1.0, 0.0))
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    return np.stack([right, down, forward], axis=1)


def mujoco_quat_from_opencv(rotation: np.ndarray) -> np.ndarray:
    """MuJoCo camera quaternion (x right, y up, looking down -z) of an OpenCV camera rotation."""
    return mat_to_quat(np.asarray(rotation, dtype=float) @ MUJOCO_TO_OPENCV)


def mujoco_camera_quat(eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    """MuJoCo camera quaternion (camera frame: x right, y up, looking down -z) for a look-at."""
    return mujoco_quat_from_opencv(look_at_rotation(eye, target))


def opencv_pose_from_mujoco(cam_xpos: np.ndarray, cam_xmat: np.ndarray) -> np.ndarray:
    """``T_world_camera`` (OpenCV frame) from MuJoCo's camera position and 3×3 orientation."""
    return pose_matrix(np.asarray(cam_xmat).reshape(3, 3) @ MUJOCO_TO_OPENCV, cam_xpos)


def intrinsics_from_fovy(fovy_deg: float, width: int, height: int) -> np.ndarray:
    """Pinhole K (square pixels, centred principal point) of a vertical field of view in degrees."""
    focal = 0.5 * height / np.tan(np.radians(fovy_deg) / 2)
    return np.array([[focal, 0.0, width / 2], [0.0, focal, height / 2], [0.0, 0.0, 1.0]])


def fovy_from_intrinsics(K: np.ndarray, height: int) -> float:
    """Vertical field of view in degrees of an intrinsics matrix."""
    return float(np.degrees(2 * np.arctan(0.5 * height / K[1, 1])))
