"""Edits of splat sets for appearance perturbations: recolouring, texturing, scaling, primitives.

Pure functions: each returns a new :class:`~twin.splats.gaussians.Splats` and never mutates its
input. Colours here are the view-independent part of a splat's colour, ``0.5 + C0 · DC``, kept
unclipped so that edits are linear and invertible; the higher SH bands (view-dependent part) are
scaled along with the edit so the result stays consistent. Splats outside a ``mask`` keep their
values bit for bit.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from twin.scene.spec import SIZE_LENGTHS
from twin.splats._sh import SH_C0
from twin.splats.gaussians import Splats

PRIMITIVES = ("box", "cylinder", "sphere")
OPACITY = 0.99
_TANGENT_SIGMA = 0.7  # in-plane std of a surface splat, in units of the spacing between splats
_EDGE_INSET = 0.75  # distance of the outermost splats from an edge, in cells
_NORMAL_SIGMA = 0.05  # std along the surface normal, in units of the spacing


# ----------------------------------------------------------------------------- helpers


def _replace(s: Splats, **changes) -> Splats:
    """A copy of ``s`` with some fields replaced (the others copied, so nothing is shared)."""
    values = {
        "means": s.means,
        "quats": s.quats,
        "log_scales": s.log_scales,
        "opacity_logits": s.opacity_logits,
        "sh": s.sh,
        "normals": s.normals,
    }
    values.update(changes)
    return Splats(**{k: None if v is None else np.array(v, copy=True) for k, v in values.items()})


def _check_mask(s: Splats, mask) -> np.ndarray:
    """``mask`` as a bool [N] array (all True for None)."""
    if mask is None:
        return np.ones(len(s), dtype=bool)
    m = np.asarray(mask)
    if m.dtype != np.bool_ or m.shape != (len(s),):
        raise ValueError(f"mask must be a bool array of shape ({len(s)},), got {m.dtype} {m.shape}")
    return m


def _check_weight(weight: float) -> float:
    w = float(weight)
    if not 0.0 <= w <= 1.0:
        raise ValueError(f"weight must be in [0, 1], got {weight!r}")
    return w


def _with_colours(s: Splats, mask: np.ndarray, colour: np.ndarray, higher_gain: np.ndarray) -> Splats:
    """``s`` with the masked splats' colour set to ``colour [M,3]`` and their higher SH bands
    multiplied by ``higher_gain`` (broadcast to ``[M,1,3]``)."""
    sh_m = s.sh[mask].astype(np.float64)
    sh_m[:, 0] = (colour - 0.5) / SH_C0
    sh_m[:, 1:] *= higher_gain
    out = s.sh.copy()
    out[mask] = sh_m
    return _replace(s, sh=out)


def _quats_from_frames(frames: np.ndarray) -> np.ndarray:
    """Quaternions (w, x, y, z) of rotation matrices ``[N,3,3]`` (columns = rotated axes)."""
    xyzw = Rotation.from_matrix(frames).as_quat()
    return np.concatenate([xyzw[:, 3:], xyzw[:, :3]], axis=1)


def _frames_from_quats(quats: np.ndarray) -> np.ndarray:
    wxyz = np.asarray(quats, dtype=np.float64)
    return Rotation.from_quat(np.concatenate([wxyz[:, 1:], wxyz[:, :1]], axis=1)).as_matrix()


# ----------------------------------------------------------------------------- colour edits


def splat_colours(s: Splats) -> np.ndarray:
    """View-independent colour ``[N,3]`` (float64) of each splat, ``0.5 + C0 · DC``, not clipped."""
    return 0.5 + SH_C0 * s.sh[:, 0].astype(np.float64)


def blend_colour(s: Splats, target_rgb, weight: float, mask=None) -> Splats:
    """Blend the masked splats' colour towards ``target_rgb`` (RGB in [0, 1]) by ``weight``.

    colour ← (1 - w)·colour + w·target and the higher SH bands are scaled by (1 - w), so at w = 1 the
    splats show the flat target colour from every side. ``weight`` 0 returns an identical copy."""
    w = _check_weight(weight)
    target = np.asarray(target_rgb, dtype=np.float64)
    if target.shape != (3,) or not np.all(np.isfinite(target)):
        raise ValueError(f"target_rgb must be 3 finite values, got {target_rgb!r}")
    m = _check_mask(s, mask)
    if w == 0.0:
        return _replace(s)
    colour = (1.0 - w) * splat_colours(s)[m] + w * target
    return _with_colours(s, m, colour, np.float64(1.0 - w))


def sample_texture(image: np.ndarray, uv) -> np.ndarray:
    """Bilinear samples ``[N,3]`` in [0, 1] of a uint8 ``image [H,W,3]`` at ``uv [N,2]``.

    ``u`` runs along image columns and ``v`` along rows, in image repeats: (0, 0) is the top-left
    corner, 1 a full image width; coordinates wrap around (the texture tiles)."""
    img = np.asarray(image)
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3 or min(img.shape[:2]) < 1:
        raise ValueError(f"image must be a uint8 array [H,W,3], got {img.dtype} {img.shape}")
    uv = np.asarray(uv, dtype=np.float64)
    if uv.ndim != 2 or uv.shape[1] != 2 or not np.all(np.isfinite(uv)):
        raise ValueError(f"uv must be finite texture coordinates of shape [N, 2], got {uv.shape}")
    h, w = img.shape[:2]
    x = np.mod(uv[:, 0], 1.0) * w - 0.5  # pixel centres at integer + 0.5
    y = np.mod(uv[:, 1], 1.0) * h - 0.5
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    c0, r0 = x0.astype(np.int64) % w, y0.astype(np.int64) % h
    c1, r1 = (c0 + 1) % w, (r0 + 1) % h
    f = img.astype(np.float64) / 255.0
    top = f[r0, c0] * (1 - fx) + f[r0, c1] * fx
    bottom = f[r1, c0] * (1 - fx) + f[r1, c1] * fx
    return top * (1 - fy) + bottom * fy


def apply_texture(s: Splats, image: np.ndarray, uv, weight: float, mask=None) -> Splats:
    """Blend the masked splats' colour towards a texture: colour ← (1 - w)·colour + w·image(uv).

    ``image`` is uint8 ``[S,S,3]`` (any ``[H,W,3]`` works), ``uv [N,2]`` one texture coordinate per
    splat in image repeats (wrapping, bilinear; see :func:`sample_texture`). Higher SH bands are
    scaled by (1 - w) as in :func:`blend_colour`; ``weight`` 0 returns an identical copy."""
    w = _check_weight(weight)
    m = _check_mask(s, mask)
    uv = np.asarray(uv)
    if uv.shape != (len(s), 2):
        raise ValueError(f"uv must have shape ({len(s)}, 2), one coordinate per splat, got {uv.shape}")
    texel = sample_texture(image, uv[m])
    if w == 0.0:
        return _replace(s)
    colour = (1.0 - w) * splat_colours(s)[m] + w * texel
    return _with_colours(s, m, colour, np.float64(1.0 - w))


def modulate(s: Splats, gain, mask=None) -> Splats:
    """Multiply the masked splats' colour by ``gain`` (``[3]`` or ``[N,3]``, ≥ 0), view-dependent
    part included: the DC term is set so the DC colour becomes gain·colour and the higher bands are
    multiplied by the gain. A gain of exactly 1 leaves a channel bit for bit unchanged."""
    m = _check_mask(s, mask)
    g = np.asarray(gain, dtype=np.float64)
    if g.shape not in ((3,), (len(s), 3)):
        raise ValueError(f"gain must have shape (3,) or ({len(s)}, 3), got {g.shape}")
    if not np.all(np.isfinite(g)) or np.any(g < 0):
        raise ValueError("gain must be finite and non-negative")
    g_m = np.broadcast_to(g, (len(s), 3))[m]
    colour = g_m * splat_colours(s)[m]
    edited = _with_colours(s, m, colour, g_m[:, None, :])
    keep = np.zeros((len(s), 3), dtype=bool)
    keep[m] = g_m == 1.0
    sh = np.where(keep[:, None, :], s.sh, edited.sh)
    return _replace(s, sh=sh)


# ----------------------------------------------------------------------------- geometry edits


def scale_splats(s: Splats, factor) -> Splats:
    """The splat set scaled about its body origin by ``factor`` (a scalar or per-axis ``[3]``, > 0).

    Uniform scaling is exact: means·f and log_scales + log f. Per-axis scaling D = diag(f) maps
    each Gaussian's covariance R·S²·Rᵀ to D·R·S²·Rᵀ·D, which is generally no longer aligned with
    the splat's axes; it is re-factorised exactly (eigen-decomposition gives new rotations and
    scales). What is approximate is the colour: view-dependent SH bands are kept as they are, and
    normals are mapped by D⁻¹ and renormalised."""
    f = np.asarray(factor, dtype=np.float64)
    if f.shape not in ((), (3,)) or not np.all(np.isfinite(f)) or np.any(f <= 0):
        raise ValueError(f"factor must be a positive scalar or 3 positive values, got {factor!r}")
    f3 = np.broadcast_to(f, (3,))
    means = s.means.astype(np.float64) * f3
    if np.all(f3 == f3[0]):
        return _replace(s, means=means, log_scales=s.log_scales.astype(np.float64) + np.log(f3[0]))
    rot = _frames_from_quats(s.quats)
    scale2 = np.exp(2.0 * s.log_scales.astype(np.float64))
    cov = np.einsum("nij,nj,nkj->nik", rot, scale2, rot)
    cov = cov * f3[None, :, None] * f3[None, None, :]
    eigval, eigvec = np.linalg.eigh(cov)
    eigvec[np.linalg.det(eigvec) < 0, :, 2] *= -1.0  # a proper rotation
    log_scales = 0.5 * np.log(np.maximum(eigval, 1e-30))
    normals = None
    if s.normals is not None:
        n = s.normals.astype(np.float64) / f3
        length = np.linalg.norm(n, axis=1, keepdims=True)
        normals = np.divide(n, length, out=np.zeros_like(n), where=length > 0)
    return _replace(s, means=means, quats=_quats_from_frames(eigvec), log_scales=log_scales, normals=normals)


def table_mask(
    s: Splats, top_z: float, center_xy, half_extents_xy, yaw: float = 0.0, tolerance: float = 0.01
) -> np.ndarray:
    """Bool ``[N]``: splats on a table top, i.e. whose means lie inside the rectangle centred at
    ``center_xy`` with ``half_extents_xy``, rotated by ``yaw`` about z, and within ``tolerance`` of
    the plane ``z = top_z`` (strictly)."""
    centre = np.asarray(center_xy, dtype=np.float64)
    half = np.asarray(half_extents_xy, dtype=np.float64)
    if centre.shape != (2,) or half.shape != (2,) or np.any(half < 0):
        raise ValueError(
            f"center_xy and half_extents_xy must be 2 values each (extents ≥ 0), got {center_xy!r}, "
            f"{half_extents_xy!r}"
        )
    if not tolerance > 0:
        raise ValueError(f"tolerance must be positive, got {tolerance!r}")
    d = s.means[:, :2].astype(np.float64) - centre
    c, sn = np.cos(yaw), np.sin(yaw)
    local = np.stack([c * d[:, 0] + sn * d[:, 1], -sn * d[:, 0] + c * d[:, 1]], axis=1)  # R(-yaw)·d
    inside = np.all(np.abs(local) <= half, axis=1)
    return inside & (np.abs(s.means[:, 2].astype(np.float64) - top_z) < tolerance)


# ----------------------------------------------------------------------------- primitives


def _grid(lo: float, hi: float, spacing: float) -> tuple[np.ndarray, float]:
    """Points at most ``spacing`` apart covering [lo, hi], and the cell length they stand for.

    The outermost points sit ``_EDGE_INSET`` cells inside the ends, so the Gaussian falloff of the
    splats along an edge does not make the object look larger than it is."""
    n = max(int(np.ceil((hi - lo) / spacing - 1e-9)), 1)
    step = (hi - lo) / n
    if n == 1:
        return np.array([0.5 * (lo + hi)]), step
    inset = _EDGE_INSET * step
    return np.linspace(lo + inset, hi - inset, n), step


def _box_surface(hx: float, hy: float, hz: float, spacing: float):
    half = np.array([hx, hy, hz])
    pts, frames, sigmas = [], [], []
    for axis in range(3):
        a, b = [i for i in range(3) if i != axis]
        ga, step_a = _grid(-half[a], half[a], spacing)
        gb, step_b = _grid(-half[b], half[b], spacing)
        aa, bb = (v.ravel() for v in np.meshgrid(ga, gb, indexing="ij"))
        for side in (-1.0, 1.0):
            p = np.zeros((aa.size, 3))
            p[:, a], p[:, b], p[:, axis] = aa, bb, side * half[axis]
            normal = np.zeros(3)
            normal[axis] = side
            t1 = np.zeros(3)
            t1[a] = 1.0
            t2 = np.cross(normal, t1)
            pts.append(p)
            frames.append(np.broadcast_to(np.stack([t1, t2, normal], axis=1), (aa.size, 3, 3)))
            sigmas.append(np.broadcast_to([step_a, step_b], (aa.size, 2)))  # t2 = ±e_b
    return np.concatenate(pts), np.concatenate(frames), np.concatenate(sigmas)


def _disk(radius: float, z: float, normal_sign: float, spacing: float):
    """Points on concentric rings covering a disk of ``radius`` at height ``z``."""
    rings, _ = _grid(0.0, radius, spacing)
    pts = []
    for k, r in enumerate(rings):
        n = max(int(np.ceil(2 * np.pi * r / spacing)), 3)
        ang = 2 * np.pi * (np.arange(n) + 0.5 * (k % 2)) / n
        pts.append(np.stack([r * np.cos(ang), r * np.sin(ang)], axis=1))
    xy = np.concatenate(pts)
    p = np.concatenate([xy, np.full((len(xy), 1), z)], axis=1)
    normal = np.array([0.0, 0.0, normal_sign])
    t1 = np.array([1.0, 0.0, 0.0])
    frame = np.stack([t1, np.cross(normal, t1), normal], axis=1)
    return p, np.broadcast_to(frame, (len(p), 3, 3)), np.full((len(p), 2), spacing)


def _cylinder_surface(radius: float, half_height: float, spacing: float):
    n_ang = max(int(np.ceil(2 * np.pi * radius / spacing)), 8)
    ang = 2 * np.pi * np.arange(n_ang) / n_ang
    zs, step_z = _grid(-half_height, half_height, spacing)
    aa, zz = (v.ravel() for v in np.meshgrid(ang, zs, indexing="ij"))
    normal = np.stack([np.cos(aa), np.sin(aa), np.zeros_like(aa)], axis=1)
    side = np.concatenate([radius * normal[:, :2], zz[:, None]], axis=1)
    tangent = np.stack([-np.sin(aa), np.cos(aa), np.zeros_like(aa)], axis=1)
    up = np.broadcast_to([0.0, 0.0, 1.0], tangent.shape)
    side_frames = np.stack([tangent, up, normal], axis=2)
    side_sigmas = np.broadcast_to([2 * np.pi * radius / n_ang, step_z], (len(side), 2))
    top = _disk(radius, half_height, 1.0, spacing)
    bottom = _disk(radius, -half_height, -1.0, spacing)
    return (
        np.concatenate([side, top[0], bottom[0]]),
        np.concatenate([side_frames, top[1], bottom[1]]),
        np.concatenate([side_sigmas, top[2], bottom[2]]),
    )


def _sphere_surface(radius: float, spacing: float):
    n = max(int(np.ceil(4 * np.pi * radius**2 / spacing**2)), 12)
    i = np.arange(n) + 0.5
    z = 1.0 - 2.0 * i / n
    phi = np.pi * (3.0 - np.sqrt(5.0)) * i  # Fibonacci lattice: about equal area per point
    r = np.sqrt(1.0 - z * z)
    normal = np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1)
    helper = np.where(np.abs(normal[:, 2:3]) < 0.9, [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]])
    t1 = np.cross(helper, normal)
    t1 /= np.linalg.norm(t1, axis=1, keepdims=True)
    t2 = np.cross(normal, t1)
    step = np.sqrt(4 * np.pi * radius**2 / n)
    return radius * normal, np.stack([t1, t2, normal], axis=2), np.full((n, 2), step)


def primitive_splats(shape: str, size, rgba, spacing: float = 0.004, sh_degree: int = 1) -> Splats:
    """An opaque splat set covering the surface of a primitive, in its body frame.

    ``shape`` "box" with ``size`` (hx, hy, hz) half-extents, "cylinder" (radius, half_height) along
    z, or "sphere" (radius,). Splats are flat Gaussians tangent to the surface (std 0.7 × their
    spacing in the plane, 0.05 × ``spacing`` along the normal), at most ``spacing`` apart and the
    outermost 0.75 spacings inside edges (so the object does not look larger), with opacity 0.99,
    colour ``rgba[:3]`` (alpha is ignored: the object is opaque), zero higher SH bands of degree
    ``sh_degree``, and outward ``normals``."""
    if shape not in PRIMITIVES:
        raise ValueError(f"unknown primitive shape {shape!r}; expected one of {', '.join(PRIMITIVES)}")
    dims = np.asarray(size, dtype=np.float64).reshape(-1)
    if dims.size != SIZE_LENGTHS[shape] or not np.all(np.isfinite(dims)) or np.any(dims <= 0):
        raise ValueError(f"size of a {shape} must be {SIZE_LENGTHS[shape]} positive values, got {size!r}")
    colour = np.asarray(rgba, dtype=np.float64).reshape(-1)
    if colour.size not in (3, 4) or not np.all((colour >= 0) & (colour <= 1)):
        raise ValueError(f"rgba must be 3 or 4 values in [0, 1], got {rgba!r}")
    if not (np.isfinite(spacing) and spacing > 0):
        raise ValueError(f"spacing must be positive, got {spacing!r}")
    if sh_degree not in (0, 1, 2, 3):
        raise ValueError(f"sh_degree must be 0, 1, 2 or 3, got {sh_degree!r}")
    if shape == "box":
        means, frames, steps = _box_surface(*dims, spacing)
    elif shape == "cylinder":
        means, frames, steps = _cylinder_surface(*dims, spacing)
    else:
        means, frames, steps = _sphere_surface(dims[0], spacing)
    n = len(means)
    sigmas = np.concatenate(
        [_TANGENT_SIGMA * np.asarray(steps), np.full((n, 1), _NORMAL_SIGMA * spacing)], axis=1
    )
    sh = np.zeros((n, (sh_degree + 1) ** 2, 3))
    sh[:, 0] = (colour[:3] - 0.5) / SH_C0
    return Splats(
        means=means,
        quats=_quats_from_frames(np.ascontiguousarray(frames)),
        log_scales=np.log(sigmas),
        opacity_logits=np.full(n, np.log(OPACITY / (1.0 - OPACITY))),
        sh=sh,
        normals=frames[:, :, 2],
    )
