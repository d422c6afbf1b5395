"""The ``cpu`` backend: torch autograd functions around the numba projection and compositing kernels.

Two functions, like gsplat's fused projection and ``rasterize_to_pixels``, so the projected means
are a real tensor in the graph (``retain_grad()`` on them gives the screen-space gradient that
densification uses).  Inputs are copied to float64 numpy once; outputs come back in the input dtype.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from twin.splats._projection import project_backward, project_forward
from twin.splats._raster_cpu import bin_tiles, interleaved_tile_order, raster_backward, raster_forward


@dataclass(frozen=True)
class ProjectionSettings:
    """What the projection needs besides the splats and cameras."""

    width: int
    height: int
    eps2d: float
    near_plane: float
    far_plane: float
    antialiased: bool
    radius_clip: float


def _f64(x: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(x.detach().cpu().numpy(), dtype=np.float64)


class _Project(torch.autograd.Function):
    @staticmethod
    def forward(ctx, means, quats, scales, opacities, viewmats, ks, settings: ProjectionSettings):
        s = settings
        arrays = tuple(_f64(x) for x in (means, quats, scales, opacities, viewmats, ks))
        m2d, conics, depths, comps, radii = project_forward(
            *arrays, s.width, s.height, s.eps2d, s.near_plane, s.far_plane, s.antialiased, s.radius_clip
        )
        ctx.arrays, ctx.radii, ctx.settings, ctx.dtype = arrays, radii, s, means.dtype
        out = [torch.from_numpy(a).to(means.dtype) for a in (m2d, conics, depths, comps)]
        radii_t = torch.from_numpy(radii)
        ctx.mark_non_differentiable(radii_t)
        return (*out, radii_t)

    @staticmethod
    def backward(ctx, v_m2d, v_conics, v_depths, v_comps, _v_radii):
        s = ctx.settings
        means, quats, scales, opac, viewmats, ks = ctx.arrays
        c, n = viewmats.shape[0], means.shape[0]

        def grad(v, shape):
            return np.zeros(shape) if v is None else _f64(v)

        v_means, v_quats, v_scales = project_backward(
            means,
            quats,
            scales,
            opac,
            viewmats,
            ks,
            s.width,
            s.height,
            s.eps2d,
            s.antialiased,
            ctx.radii,
            grad(v_m2d, (c, n, 2)),
            grad(v_conics, (c, n, 3)),
            grad(v_depths, (c, n)),
            grad(v_comps, (c, n)),
        )
        dt = ctx.dtype
        return (
            torch.from_numpy(v_means).to(dt),
            torch.from_numpy(v_quats).to(dt),
            torch.from_numpy(v_scales).to(dt),
            None,
            None,
            None,
            None,
        )


def limit_torch_threads() -> None:
    """Run torch single-threaded: numba's worker threads and torch's OpenMP pool spin against each
    other on few cores (measured 4-30x slower torch ops on 2 cores); numba does the parallel work."""
    if torch.get_num_threads() > 1:
        torch.set_num_threads(1)


def project(means, quats, scales, opacities, viewmats, ks, settings: ProjectionSettings):
    """Differentiable projection: ``means2d, conics, depths, compensations, radii`` (per camera)."""
    limit_torch_threads()
    return _Project.apply(means, quats, scales, opacities, viewmats, ks, settings)


class _Rasterize(torch.autograd.Function):
    @staticmethod
    def forward(ctx, means2d, conics, opacities, feats, radii, depths, width, height, tile):
        n_cam = means2d.shape[0]
        params = np.concatenate([_f64(means2d), _f64(conics), _f64(opacities)[..., None]], axis=-1)
        feats_np = _f64(feats)
        radii_np = radii.cpu().numpy()
        depths_np = _f64(depths)
        order_tiles = interleaved_tile_order(width, height, tile)
        images, alphas, saved = [], [], []
        for c in range(n_cam):
            valid = np.flatnonzero((radii_np[c, :, 0] > 0) | (radii_np[c, :, 1] > 0))
            order = valid[np.argsort(depths_np[c, valid], kind="stable")]
            boxes, offsets, ids = bin_tiles(params[c, :, :2], radii_np[c], order, width, height, tile)
            img, trans, last = raster_forward(
                params[c], feats_np[c], boxes, offsets, ids, order_tiles, width, height, tile
            )
            images.append(img)
            alphas.append(1.0 - trans)
            saved.append((boxes, offsets, ids, trans, last))
        ctx.params, ctx.feats, ctx.saved = params, feats_np, saved
        ctx.geometry = (width, height, tile, order_tiles)
        ctx.dtype = means2d.dtype
        img_t = torch.from_numpy(np.stack(images)).to(means2d.dtype)
        alpha_t = torch.from_numpy(np.stack(alphas)[..., None]).to(means2d.dtype)
        return img_t, alpha_t

    @staticmethod
    def backward(ctx, v_img, v_alpha):
        width, height, tile, order_tiles = ctx.geometry
        n_cam, n, k_ch = ctx.feats.shape
        v_img_np = np.zeros((n_cam, height, width, k_ch)) if v_img is None else _f64(v_img)
        v_alpha_np = np.zeros((n_cam, height, width)) if v_alpha is None else _f64(v_alpha)[..., 0]
        v_params = np.zeros((n_cam, n, 6))
        v_feats = np.zeros((n_cam, n, k_ch))
        for c in range(n_cam):
            boxes, offsets, ids, trans, last = ctx.saved[c]
            v_params[c], v_feats[c] = raster_backward(
                ctx.params[c],
                ctx.feats[c],
                boxes,
                offsets,
                ids,
                order_tiles,
                width,
                height,
                tile,
                trans,
                last,
                v_img_np[c],
                v_alpha_np[c],
            )
        dt = ctx.dtype
        v_params_t = torch.from_numpy(v_params).to(dt)
        return (
            v_params_t[..., :2],
            v_params_t[..., 2:5],
            v_params_t[..., 5],
            torch.from_numpy(v_feats).to(dt),
            None,
            None,
            None,
            None,
            None,
        )


def rasterize(means2d, conics, opacities, feats, radii, depths, width: int, height: int, tile: int):
    """Differentiable compositing: premultiplied features ``[C, H, W, K]`` and alpha ``[C, H, W, 1]``."""
    return _Rasterize.apply(means2d, conics, opacities, feats, radii, depths.detach(), width, height, tile)
