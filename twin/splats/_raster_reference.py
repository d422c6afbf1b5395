"""Slow, obviously-correct float64 reference for the ``cpu`` backend (tests only).

Plain torch, written for reading rather than speed: the projection follows the formulas one by one
on whole arrays, and compositing visits the splats of each camera in depth order, updating every
pixel of the image at once (no tiles, no boxes, no early exits beyond gsplat's rules).  Autograd
through it gives the reference gradients.
"""

from __future__ import annotations

import torch

from twin.splats._sh import sh_to_rgb

ALPHA_MIN = 1.0 / 255.0
ALPHA_MAX = 0.999
T_MIN = 1e-4


def quat_to_rotmat(quats: torch.Tensor) -> torch.Tensor:
    """Rotation matrices ``[N,3,3]`` of quaternions (w, x, y, z), normalised first."""
    w, x, y, z = (quats / quats.norm(dim=-1, keepdim=True)).unbind(-1)
    rows = [
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    ]  # fmt: skip
    return torch.stack(rows, dim=-1).reshape(-1, 3, 3)


def project_reference(
    means, quats, scales, opacities, viewmat, k, width, height, eps2d, near, far, antialiased
):
    """One camera: ``means2d [N,2]``, ``conics [N,3]``, ``depths [N]``, ``comps [N]``, ``radii [N,2]``."""
    rot = quat_to_rotmat(quats)
    cov = rot @ torch.diag_embed(scales * scales) @ rot.transpose(1, 2)
    w, t = viewmat[:3, :3], viewmat[:3, 3]
    mean_c = means @ w.T + t
    cov_c = w @ cov @ w.T
    x, y, z = mean_c.unbind(-1)
    fx, fy, cx, cy = k[0, 0], k[1, 1], k[0, 2], k[1, 2]
    tan_x, tan_y = 0.5 * width / fx, 0.5 * height / fy
    tx = z * torch.clamp(x / z, min=-(cx / fx + 0.3 * tan_x), max=(width - cx) / fx + 0.3 * tan_x)
    ty = z * torch.clamp(y / z, min=-(cy / fy + 0.3 * tan_y), max=(height - cy) / fy + 0.3 * tan_y)
    zero = torch.zeros_like(z)
    jac = torch.stack([fx / z, zero, -fx * tx / z**2, zero, fy / z, -fy * ty / z**2], -1).reshape(-1, 2, 3)
    cov2d = jac @ cov_c @ jac.transpose(1, 2)
    det_orig = cov2d[:, 0, 0] * cov2d[:, 1, 1] - cov2d[:, 0, 1] * cov2d[:, 1, 0]
    cov2d = cov2d + eps2d * torch.eye(2, dtype=cov2d.dtype)
    det = cov2d[:, 0, 0] * cov2d[:, 1, 1] - cov2d[:, 0, 1] * cov2d[:, 1, 0]
    comps = torch.sqrt(torch.clamp(det_orig / det, min=0.0)) if antialiased else torch.ones_like(det)
    inv = torch.linalg.inv(cov2d)
    conics = torch.stack([inv[:, 0, 0], inv[:, 0, 1], inv[:, 1, 1]], dim=-1)
    means2d = torch.stack([fx * x / z + cx, fy * y / z + cy], dim=-1)
    opac = (opacities * comps).detach()
    extend = torch.clamp(torch.sqrt(2.0 * torch.log(torch.clamp(opac / ALPHA_MIN, min=1.0))), max=3.33)
    radii = torch.stack(
        [torch.ceil(extend * cov2d[:, 0, 0].sqrt()), torch.ceil(extend * cov2d[:, 1, 1].sqrt())], -1
    ).detach()
    m = means2d.detach()
    valid = (
        (z >= near) & (z <= far) & (det > 0) & (opac >= ALPHA_MIN) & ((radii[:, 0] > 0) | (radii[:, 1] > 0))
        & (m[:, 0] + radii[:, 0] > 0) & (m[:, 0] - radii[:, 0] < width)
        & (m[:, 1] + radii[:, 1] > 0) & (m[:, 1] - radii[:, 1] < height)
    )  # fmt: skip
    radii = torch.where(valid[:, None], radii, torch.zeros_like(radii)).to(torch.int32)
    return means2d, conics, z, comps, radii


def composite_reference(means2d, conics, opacities, feats, depths, radii, width, height):
    """One camera, front to back over all pixels: features ``[H,W,K]`` and alpha ``[H,W,1]``."""
    ys, xs = torch.meshgrid(
        torch.arange(height, dtype=means2d.dtype) + 0.5,
        torch.arange(width, dtype=means2d.dtype) + 0.5,
        indexing="ij",
    )
    px, py = xs.reshape(-1), ys.reshape(-1)
    trans = torch.ones_like(px)
    done = torch.zeros_like(px, dtype=torch.bool)
    out = torch.zeros(px.shape[0], feats.shape[1], dtype=means2d.dtype)
    visible = torch.nonzero((radii[:, 0] > 0) | (radii[:, 1] > 0)).flatten()
    order = visible[torch.argsort(depths.detach()[visible], stable=True)]
    for g in order.tolist():
        dx, dy = means2d[g, 0] - px, means2d[g, 1] - py
        a, b, c = conics[g]
        sigma = 0.5 * (a * dx * dx + c * dy * dy) + b * dx * dy
        alpha = torch.clamp(opacities[g] * torch.exp(-sigma), max=ALPHA_MAX)
        takes = (sigma >= 0) & (alpha >= ALPHA_MIN) & ~done
        next_trans = trans * (1.0 - alpha)
        stops = takes & (next_trans <= T_MIN)
        done = done | stops
        takes = takes & ~stops
        out = out + torch.where(takes, alpha * trans, 0.0)[:, None] * feats[g][None, :]
        trans = torch.where(takes, next_trans, trans)
    return out.reshape(height, width, -1), (1.0 - trans).reshape(height, width, 1)


def render_reference(
    means,
    quats,
    scales,
    opacities,
    colors,
    viewmats,
    ks,
    width,
    height,
    sh_degree=None,
    backgrounds=None,
    eps2d=0.3,
    near=0.01,
    far=1e10,
    antialiased=False,
):
    """Same contract as ``rasterization`` (rgb, expected depth, alpha), without tiles or kernels."""
    rgbs, dep, alps = [], [], []
    for c in range(viewmats.shape[0]):
        means2d, conics, depths, comps, radii = project_reference(
            means, quats, scales, opacities, viewmats[c], ks[c], width, height, eps2d, near, far, antialiased
        )
        if sh_degree is None:
            col = colors if colors.dim() == 2 else colors[c]
        else:
            campos = -viewmats[c, :3, :3].T @ viewmats[c, :3, 3]
            coeffs = colors if colors.dim() == 3 else colors[c]
            col = sh_to_rgb(sh_degree, means, coeffs, campos[None])[0]
        feats = torch.cat([col, depths[:, None]], dim=-1)
        img, alpha = composite_reference(
            means2d, conics, opacities * comps, feats, depths, radii, width, height
        )
        rgb = img[..., :-1]
        if backgrounds is not None:
            bg = backgrounds if backgrounds.dim() == 1 else backgrounds[c]
            rgb = rgb + (1.0 - alpha) * bg
        rgbs.append(rgb)
        dep.append(img[..., -1:] / alpha.clamp_min(1e-10))
        alps.append(alpha)
    return torch.stack(rgbs), torch.stack(dep), torch.stack(alps)
