"""EWA projection of 3D Gaussians to 2D conics, forward and analytic backward, in numba.

Per splat and camera: covariance ``R S S^T R^T`` from the (normalised) quaternion and scales,
world→camera, the pinhole Jacobian with gsplat's 30 % off-screen clamp, a ``eps2d`` blur on the
2D covariance, its inverse (the conic), the antialiasing compensation ``sqrt(det / det_blurred)``
and an opacity-aware box radius ``ceil(min(3.33, sqrt(2 ln(255 o))) * sigma)``.  Culled splats
(behind the near plane, too faint, off screen) get radius 0 and zero outputs.

Everything is float64 scalar code on tuples, parallel over splats (cameras in the inner loop, so
no two threads write the same gradient row).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

ALPHA_MIN = 1.0 / 255.0
MAX_EXTEND = 3.33


@njit(cache=True)
def _rotmat(qw, qx, qy, qz):
    n = math.sqrt(qw * qw + qx * qx + qy * qy + qz * qz)
    w, x, y, z = qw / n, qx / n, qy / n, qz / n
    return (
        1.0 - 2.0 * (y * y + z * z),
        2.0 * (x * y - w * z),
        2.0 * (x * z + w * y),
        2.0 * (x * y + w * z),
        1.0 - 2.0 * (x * x + z * z),
        2.0 * (y * z - w * x),
        2.0 * (x * z - w * y),
        2.0 * (y * z + w * x),
        1.0 - 2.0 * (x * x + y * y),
    )


@njit(cache=True)
def _mm(a, b):
    """3×3 times 3×3, row-major 9-tuples."""
    return (
        a[0] * b[0] + a[1] * b[3] + a[2] * b[6],
        a[0] * b[1] + a[1] * b[4] + a[2] * b[7],
        a[0] * b[2] + a[1] * b[5] + a[2] * b[8],
        a[3] * b[0] + a[4] * b[3] + a[5] * b[6],
        a[3] * b[1] + a[4] * b[4] + a[5] * b[7],
        a[3] * b[2] + a[4] * b[5] + a[5] * b[8],
        a[6] * b[0] + a[7] * b[3] + a[8] * b[6],
        a[6] * b[1] + a[7] * b[4] + a[8] * b[7],
        a[6] * b[2] + a[7] * b[5] + a[8] * b[8],
    )


@njit(cache=True)
def _t(a):
    return (a[0], a[3], a[6], a[1], a[4], a[7], a[2], a[5], a[8])


@njit(cache=True)
def _covar_world(q, s):
    """World covariance (9-tuple) and the rotation used to build it."""
    r = _rotmat(q[0], q[1], q[2], q[3])
    m = (
        r[0] * s[0], r[1] * s[1], r[2] * s[2],
        r[3] * s[0], r[4] * s[1], r[5] * s[2],
        r[6] * s[0], r[7] * s[1], r[8] * s[2],
    )  # fmt: skip
    return _mm(m, _t(m)), r, m


@njit(cache=True)
def _view(viewmat):
    w = (
        viewmat[0, 0], viewmat[0, 1], viewmat[0, 2],
        viewmat[1, 0], viewmat[1, 1], viewmat[1, 2],
        viewmat[2, 0], viewmat[2, 1], viewmat[2, 2],
    )  # fmt: skip
    return w, (viewmat[0, 3], viewmat[1, 3], viewmat[2, 3])


@njit(cache=True)
def _limits(k, width, height):
    fx, fy, cx, cy = k[0, 0], k[1, 1], k[0, 2], k[1, 2]
    tan_x = 0.5 * width / fx
    tan_y = 0.5 * height / fy
    return (
        (width - cx) / fx + 0.3 * tan_x,
        cx / fx + 0.3 * tan_x,
        (height - cy) / fy + 0.3 * tan_y,
        cy / fy + 0.3 * tan_y,
    )


@njit(cache=True, parallel=True)
def project_forward(
    means, quats, scales, opacities, viewmats, ks, width, height, eps2d, near, far, antialiased, radius_clip
):
    """Project ``N`` splats into ``C`` cameras.

    Returns ``means2d [C,N,2]``, ``conics [C,N,3]`` (a, b, c of ``[[a,b],[b,c]]``), ``depths [C,N]``,
    ``comps [C,N]`` (1 unless antialiased) and integer ``radii [C,N,2]`` (0 = culled).
    """
    n_cam = viewmats.shape[0]
    n = means.shape[0]
    means2d = np.zeros((n_cam, n, 2))
    conics = np.zeros((n_cam, n, 3))
    depths = np.zeros((n_cam, n))
    comps = np.zeros((n_cam, n))
    radii = np.zeros((n_cam, n, 2), dtype=np.int32)
    for i in prange(n):
        cov, _, _ = _covar_world(quats[i], scales[i])
        for c in range(n_cam):
            w, t = _view(viewmats[c])
            mx = w[0] * means[i, 0] + w[1] * means[i, 1] + w[2] * means[i, 2] + t[0]
            my = w[3] * means[i, 0] + w[4] * means[i, 1] + w[5] * means[i, 2] + t[1]
            mz = w[6] * means[i, 0] + w[7] * means[i, 1] + w[8] * means[i, 2] + t[2]
            if mz < near or mz > far:
                continue
            cc = _mm(_mm(w, cov), _t(w))
            k = ks[c]
            fx, fy, cx, cy = k[0, 0], k[1, 1], k[0, 2], k[1, 2]
            lxp, lxn, lyp, lyn = _limits(k, width, height)
            rz = 1.0 / mz
            tx = mz * min(lxp, max(-lxn, mx * rz))
            ty = mz * min(lyp, max(-lyn, my * rz))
            j00, j02 = fx * rz, -fx * tx * rz * rz
            j11, j12 = fy * rz, -fy * ty * rz * rz
            # cov2d = J cc J^T with J = [[j00, 0, j02], [0, j11, j12]]
            p = j00 * (j00 * cc[0] + j02 * cc[2]) + j02 * (j00 * cc[6] + j02 * cc[8])
            q = j00 * (j11 * cc[1] + j12 * cc[2]) + j02 * (j11 * cc[7] + j12 * cc[8])
            r = j11 * (j11 * cc[4] + j12 * cc[5]) + j12 * (j11 * cc[7] + j12 * cc[8])
            det_orig = p * r - q * q
            pb, rb = p + eps2d, r + eps2d
            det = pb * rb - q * q
            if det <= 0.0:
                continue
            comp = 1.0
            if antialiased:
                comp = math.sqrt(max(0.0, det_orig / det))
            opac = opacities[i] * comp
            if opac < ALPHA_MIN:
                continue
            extend = min(MAX_EXTEND, math.sqrt(2.0 * math.log(opac / ALPHA_MIN)))
            rx = math.ceil(extend * math.sqrt(pb))
            ry = math.ceil(extend * math.sqrt(rb))
            if rx <= radius_clip and ry <= radius_clip:
                continue
            u = fx * mx * rz + cx
            v = fy * my * rz + cy
            if u + rx <= 0 or u - rx >= width or v + ry <= 0 or v - ry >= height:
                continue
            means2d[c, i, 0] = u
            means2d[c, i, 1] = v
            conics[c, i, 0] = rb / det
            conics[c, i, 1] = -q / det
            conics[c, i, 2] = pb / det
            depths[c, i] = mz
            comps[c, i] = comp
            radii[c, i, 0] = int(rx)
            radii[c, i, 1] = int(ry)
    return means2d, conics, depths, comps, radii


@njit(cache=True)
def _quat_vjp(q, vr):
    """Gradient w.r.t. the raw quaternion ``q`` given the gradient ``vr`` of its rotation matrix."""
    n = math.sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3])
    w, x, y, z = q[0] / n, q[1] / n, q[2] / n, q[3] / n
    gw = 2.0 * (-z * vr[1] + y * vr[2] + z * vr[3] - x * vr[5] - y * vr[6] + x * vr[7])
    gx = 2.0 * (y * vr[1] + z * vr[2] + y * vr[3] - 2.0 * x * vr[4] - w * vr[5] + z * vr[6] + w * vr[7]
                - 2.0 * x * vr[8])  # fmt: skip
    gy = 2.0 * (-2.0 * y * vr[0] + x * vr[1] + w * vr[2] + x * vr[3] + z * vr[5] - w * vr[6] + z * vr[7]
                - 2.0 * y * vr[8])  # fmt: skip
    gz = 2.0 * (-2.0 * z * vr[0] - w * vr[1] + x * vr[2] + w * vr[3] - 2.0 * z * vr[4] + y * vr[5] + x * vr[6]
                + y * vr[7])  # fmt: skip
    dot = w * gw + x * gx + y * gy + z * gz
    return ((gw - w * dot) / n, (gx - x * dot) / n, (gy - y * dot) / n, (gz - z * dot) / n)


@njit(cache=True, parallel=True)
def project_backward(
    means,
    quats,
    scales,
    opacities,
    viewmats,
    ks,
    width,
    height,
    eps2d,
    antialiased,
    radii,
    v_means2d,
    v_conics,
    v_depths,
    v_comps,
):
    """Vector-Jacobian product of ``project_forward``: gradients for means, quats and scales."""
    n_cam = viewmats.shape[0]
    n = means.shape[0]
    v_means = np.zeros((n, 3))
    v_quats = np.zeros((n, 4))
    v_scales = np.zeros((n, 3))
    for i in prange(n):
        cov, rot, m = _covar_world(quats[i], scales[i])
        vc = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)  # gradient of the world covariance
        vmx, vmy, vmz = 0.0, 0.0, 0.0
        for c in range(n_cam):
            if radii[c, i, 0] <= 0 and radii[c, i, 1] <= 0:
                continue
            w, t = _view(viewmats[c])
            mx = w[0] * means[i, 0] + w[1] * means[i, 1] + w[2] * means[i, 2] + t[0]
            my = w[3] * means[i, 0] + w[4] * means[i, 1] + w[5] * means[i, 2] + t[1]
            mz = w[6] * means[i, 0] + w[7] * means[i, 1] + w[8] * means[i, 2] + t[2]
            cc = _mm(_mm(w, cov), _t(w))
            k = ks[c]
            fx, fy = k[0, 0], k[1, 1]
            lxp, lxn, lyp, lyn = _limits(k, width, height)
            rz = 1.0 / mz
            rz2 = rz * rz
            clip_x = mx * rz < -lxn or mx * rz > lxp
            clip_y = my * rz < -lyn or my * rz > lyp
            tx = mz * min(lxp, max(-lxn, mx * rz))
            ty = mz * min(lyp, max(-lyn, my * rz))
            j00, j02 = fx * rz, -fx * tx * rz2
            j11, j12 = fy * rz, -fy * ty * rz2
            p = j00 * (j00 * cc[0] + j02 * cc[2]) + j02 * (j00 * cc[6] + j02 * cc[8])
            q = j00 * (j11 * cc[1] + j12 * cc[2]) + j02 * (j11 * cc[7] + j12 * cc[8])
            r = j11 * (j11 * cc[4] + j12 * cc[5]) + j12 * (j11 * cc[7] + j12 * cc[8])
            pb, rb = p + eps2d, r + eps2d
            det = pb * rb - q * q
            ca, cb, ccc = rb / det, -q / det, pb / det
            # conic = inverse(cov2d_blur): dL/dcov = -Q G Q with G the symmetric gradient matrix
            ga, gb, gc = v_conics[c, i, 0], 0.5 * v_conics[c, i, 1], v_conics[c, i, 2]
            t00, t01 = ca * ga + cb * gb, ca * gb + cb * gc
            t10, t11 = cb * ga + ccc * gb, cb * gb + ccc * gc
            vp = -(t00 * ca + t01 * cb)
            vq = -(t00 * cb + t01 * ccc)
            vr_ = -(t10 * cb + t11 * ccc)
            if antialiased and v_comps[c, i] != 0.0:
                det_orig = p * r - q * q
                comp2 = det_orig / det
                if comp2 > 0.0:
                    g = v_comps[c, i] * 0.5 / math.sqrt(comp2)
                    vp += g * (r - comp2 * rb) / det
                    vr_ += g * (p - comp2 * pb) / det
                    vq += g * (-q + comp2 * q) / det
            # cov2d = J cc J^T: v_cc = J^T V J, v_J = 2 V J cc (V symmetric [[vp, vq], [vq, vr_]])
            a0, a2 = vp * j00, vp * j02  # row 0 of V J: (vp*j00, vq*j11, vp*j02 + vq*j12)
            b0 = vq * j00
            row0 = (a0, vq * j11, a2 + vq * j12)
            row1 = (b0, vr_ * j11, vq * j02 + vr_ * j12)
            v_cc = (
                j00 * row0[0], j00 * row0[1], j00 * row0[2],
                j11 * row1[0], j11 * row1[1], j11 * row1[2],
                j02 * row0[0] + j12 * row1[0], j02 * row0[1] + j12 * row1[1], j02 * row0[2] + j12 * row1[2],
            )  # fmt: skip
            # v_J = 2 (V J) cc ; only entries 00, 02, 11, 12 of J are variables
            vj00 = 2.0 * (row0[0] * cc[0] + row0[1] * cc[3] + row0[2] * cc[6])
            vj02 = 2.0 * (row0[0] * cc[2] + row0[1] * cc[5] + row0[2] * cc[8])
            vj11 = 2.0 * (row1[0] * cc[1] + row1[1] * cc[4] + row1[2] * cc[7])
            vj12 = 2.0 * (row1[0] * cc[2] + row1[1] * cc[5] + row1[2] * cc[8])
            vu, vv = v_means2d[c, i, 0], v_means2d[c, i, 1]
            gx = fx * rz * vu
            gy = fy * rz * vv
            gz = -(fx * mx * vu + fy * my * vv) * rz2 + v_depths[c, i]
            gz += -fx * rz2 * vj00 - fy * rz2 * vj11
            if clip_x:
                gz += fx * tx * rz2 * rz * vj02
            else:
                gx += -fx * rz2 * vj02
                gz += 2.0 * fx * mx * rz2 * rz * vj02
            if clip_y:
                gz += fy * ty * rz2 * rz * vj12
            else:
                gy += -fy * rz2 * vj12
                gz += 2.0 * fy * my * rz2 * rz * vj12
            vmx += w[0] * gx + w[3] * gy + w[6] * gz
            vmy += w[1] * gx + w[4] * gy + w[7] * gz
            vmz += w[2] * gx + w[5] * gy + w[8] * gz
            add = _mm(_mm(_t(w), v_cc), w)
            vc = (
                vc[0] + add[0], vc[1] + add[1], vc[2] + add[2],
                vc[3] + add[3], vc[4] + add[4], vc[5] + add[5],
                vc[6] + add[6], vc[7] + add[7], vc[8] + add[8],
            )  # fmt: skip
        v_means[i, 0], v_means[i, 1], v_means[i, 2] = vmx, vmy, vmz
        # cov = M M^T: v_M = (vc + vc^T) M
        vs = (
            vc[0] + vc[0], vc[1] + vc[3], vc[2] + vc[6],
            vc[3] + vc[1], vc[4] + vc[4], vc[5] + vc[7],
            vc[6] + vc[2], vc[7] + vc[5], vc[8] + vc[8],
        )  # fmt: skip
        vm = _mm(vs, m)
        s = scales[i]
        v_scales[i, 0] = vm[0] * rot[0] + vm[3] * rot[3] + vm[6] * rot[6]
        v_scales[i, 1] = vm[1] * rot[1] + vm[4] * rot[4] + vm[7] * rot[7]
        v_scales[i, 2] = vm[2] * rot[2] + vm[5] * rot[5] + vm[8] * rot[8]
        vrot = (
            vm[0] * s[0], vm[1] * s[1], vm[2] * s[2],
            vm[3] * s[0], vm[4] * s[1], vm[5] * s[2],
            vm[6] * s[0], vm[7] * s[1], vm[8] * s[2],
        )  # fmt: skip
        gq = _quat_vjp(quats[i], vrot)
        v_quats[i, 0], v_quats[i, 1], v_quats[i, 2], v_quats[i, 3] = gq[0], gq[1], gq[2], gq[3]
    return v_means, v_quats, v_scales
