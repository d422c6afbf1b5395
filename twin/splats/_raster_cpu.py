"""Tile-binned front-to-back compositing of 2D Gaussians, forward and analytic backward, in numba.

One camera per call.  Splats are sorted by depth once and binned into ``tile × tile`` pixel tiles
with a stable counting sort, so every tile's list is depth-ordered.  Tiles run in parallel; inside
a tile each splat visits only the pixels of its own box (the alpha ≥ 1/255 ellipse's bounding box,
cut to the tile and, row by row, to the ellipse's span), which beats walking every pixel of the
tile over the list.  Compositing follows gsplat exactly: ``alpha = min(0.999, o·exp(-σ))``,
contributions under 1/255 are skipped, and a pixel stops (exclusively) once its transmittance
would fall to 1e-4 or below.

The backward pass walks each tile's list back to front, recovers the transmittance before every
splat by dividing out ``1 - alpha`` and writes one gradient row per (tile, splat) intersection; a
serial pass sums the rows per splat.  All arithmetic is float64.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

ALPHA_MIN = 1.0 / 255.0
ALPHA_MAX = 0.999
T_MIN = 1e-4
N_PARAMS = 6  # u, v, conic a, b, c, opacity


@njit(cache=True)
def bin_tiles(means2d, radii, order, width, height, tile):
    """Pixel boxes ``[N, 4]`` (x0, x1, y0, y1 inclusive) and depth-ordered tile lists (CSR)."""
    n = means2d.shape[0]
    n_tx = (width + tile - 1) // tile
    n_ty = (height + tile - 1) // tile
    boxes = np.zeros((n, 4), dtype=np.int32)
    boxes[:, 0] = 1  # empty by default (x0 > x1)
    counts = np.zeros(n_tx * n_ty + 1, dtype=np.int64)
    for j in range(order.shape[0]):
        g = order[j]
        u, v = means2d[g, 0], means2d[g, 1]
        rx, ry = radii[g, 0], radii[g, 1]
        x0 = max(0, int(math.ceil(u - rx - 0.5)))
        x1 = min(width - 1, int(math.floor(u + rx - 0.5)))
        y0 = max(0, int(math.ceil(v - ry - 0.5)))
        y1 = min(height - 1, int(math.floor(v + ry - 0.5)))
        if x0 > x1 or y0 > y1:
            continue
        boxes[g, 0], boxes[g, 1], boxes[g, 2], boxes[g, 3] = x0, x1, y0, y1
        for ty in range(y0 // tile, y1 // tile + 1):
            for tx in range(x0 // tile, x1 // tile + 1):
                counts[ty * n_tx + tx + 1] += 1
    offsets = np.cumsum(counts)
    fill = offsets[:-1].copy()
    ids = np.empty(offsets[-1], dtype=np.int32)
    for j in range(order.shape[0]):
        g = order[j]
        x0, x1, y0, y1 = boxes[g, 0], boxes[g, 1], boxes[g, 2], boxes[g, 3]
        if x0 > x1:
            continue
        for ty in range(y0 // tile, y1 // tile + 1):
            for tx in range(x0 // tile, x1 // tile + 1):
                t = ty * n_tx + tx
                ids[fill[t]] = g
                fill[t] += 1
    return boxes, offsets, ids


@njit(cache=True)
def _level(o):
    """Twice the Mahalanobis level σ at which ``o·exp(-σ)`` falls to 1/255 (negative: never visible)."""
    return 2.0 * math.log(o / ALPHA_MIN) if o > 0.0 else -1.0


@njit(cache=True)
def _row_span(a, b, c, lim, u, dy, x0, x1):
    """Pixel columns of one row whose centres lie in the ellipse ``σ ≤ lim / 2`` (widened by 1e-6 px
    against rounding; the caller still tests alpha), cut to [x0, x1]."""
    disc = (b * dy) * (b * dy) - a * (c * dy * dy - lim)
    if disc < 0.0:
        return x0, x0 - 1
    root = math.sqrt(disc)
    # dx = u - px lies in [(-b dy - root) / a, (-b dy + root) / a]; px = x + 0.5
    lo = u - (-b * dy + root) / a - 0.5
    hi = u - (-b * dy - root) / a - 0.5
    return max(x0, int(math.ceil(lo - 1e-6))), min(x1, int(math.floor(hi + 1e-6)))


@njit(cache=True, parallel=True)
def raster_forward(params, feats, boxes, offsets, ids, tile_order, width, height, tile):
    """Composite one camera: returns features ``[H, W, K]``, final transmittance ``[H, W]`` and the
    index (into ``ids``) of the last splat each pixel took, -1 for none."""
    k_ch = feats.shape[1]
    n_tx = (width + tile - 1) // tile
    out = np.zeros((height, width, k_ch))
    trans = np.ones((height, width))
    last = np.full((height, width), -1, dtype=np.int64)
    done = np.zeros((height, width), dtype=np.bool_)
    for it in prange(tile_order.shape[0]):
        t = tile_order[it]
        px0 = (t % n_tx) * tile
        py0 = (t // n_tx) * tile
        px1 = min(width, px0 + tile) - 1
        py1 = min(height, py0 + tile) - 1
        n_pix = (px1 - px0 + 1) * (py1 - py0 + 1)
        n_done = 0
        for k in range(offsets[t], offsets[t + 1]):
            if n_done == n_pix:
                break
            g = ids[k]
            u, v, a, b, c, o = (
                params[g, 0],
                params[g, 1],
                params[g, 2],
                params[g, 3],
                params[g, 4],
                params[g, 5],
            )
            bx0, bx1 = max(boxes[g, 0], px0), min(boxes[g, 1], px1)
            by0, by1 = max(boxes[g, 2], py0), min(boxes[g, 3], py1)
            lim = _level(o)
            for y in range(by0, by1 + 1):
                dy = v - (y + 0.5)
                x0, x1 = _row_span(a, b, c, lim, u, dy, bx0, bx1)
                for x in range(x0, x1 + 1):
                    if done[y, x]:
                        continue
                    dx = u - (x + 0.5)
                    sigma = 0.5 * (a * dx * dx + c * dy * dy) + b * dx * dy
                    if sigma < 0.0:
                        continue
                    alpha = min(ALPHA_MAX, o * math.exp(-sigma))
                    if alpha < ALPHA_MIN:
                        continue
                    t_before = trans[y, x]
                    t_after = t_before * (1.0 - alpha)
                    if t_after <= T_MIN:
                        done[y, x] = True
                        n_done += 1
                        continue
                    w = alpha * t_before
                    for ch in range(k_ch):
                        out[y, x, ch] += feats[g, ch] * w
                    trans[y, x] = t_after
                    last[y, x] = k
    return out, trans, last


@njit(cache=True, parallel=True)
def raster_backward(
    params, feats, boxes, offsets, ids, tile_order, width, height, tile, trans, last, v_out, v_alpha
):
    """Gradients ``[N, 6]`` for (u, v, a, b, c, opacity) and ``[N, K]`` for the features, given the
    forward's transmittance and last indices and the output gradients ``v_out [H, W, K]``,
    ``v_alpha [H, W]`` (alpha = 1 - transmittance)."""
    n = params.shape[0]
    k_ch = feats.shape[1]
    n_tx = (width + tile - 1) // tile
    rows = np.zeros((ids.shape[0], N_PARAMS + k_ch))
    behind = np.zeros((height, width, k_ch))  # Σ over splats behind of feature · weight
    t_cur = trans.copy()
    for it in prange(tile_order.shape[0]):
        t = tile_order[it]
        px0 = (t % n_tx) * tile
        py0 = (t // n_tx) * tile
        px1 = min(width, px0 + tile) - 1
        py1 = min(height, py0 + tile) - 1
        k_end = -1
        for y in range(py0, py1 + 1):
            for x in range(px0, px1 + 1):
                k_end = max(k_end, last[y, x])
        for k in range(k_end, offsets[t] - 1, -1):
            g = ids[k]
            u, v, a, b, c, o = (
                params[g, 0],
                params[g, 1],
                params[g, 2],
                params[g, 3],
                params[g, 4],
                params[g, 5],
            )
            bx0, bx1 = max(boxes[g, 0], px0), min(boxes[g, 1], px1)
            by0, by1 = max(boxes[g, 2], py0), min(boxes[g, 3], py1)
            gu, gv, ga, gb, gc, go = 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
            lim = _level(o)
            for y in range(by0, by1 + 1):
                dy = v - (y + 0.5)
                x0, x1 = _row_span(a, b, c, lim, u, dy, bx0, bx1)
                for x in range(x0, x1 + 1):
                    if k > last[y, x]:
                        continue
                    dx = u - (x + 0.5)
                    sigma = 0.5 * (a * dx * dx + c * dy * dy) + b * dx * dy
                    if sigma < 0.0:
                        continue
                    ex = math.exp(-sigma)
                    vis = o * ex
                    alpha = min(ALPHA_MAX, vis)
                    if alpha < ALPHA_MIN:
                        continue
                    ra = 1.0 / (1.0 - alpha)
                    t_before = t_cur[y, x] * ra
                    w = alpha * t_before
                    v_a = v_alpha[y, x] * trans[y, x] * ra
                    for ch in range(k_ch):
                        vo = v_out[y, x, ch]
                        f = feats[g, ch]
                        rows[k, N_PARAMS + ch] += w * vo
                        v_a += vo * (t_before * f - behind[y, x, ch] * ra)
                        behind[y, x, ch] += f * w
                    t_cur[y, x] = t_before
                    if vis <= ALPHA_MAX:
                        go += ex * v_a
                        vs = -alpha * v_a
                        gu += vs * (a * dx + b * dy)
                        gv += vs * (b * dx + c * dy)
                        ga += 0.5 * vs * dx * dx
                        gb += vs * dx * dy
                        gc += 0.5 * vs * dy * dy
            rows[k, 0], rows[k, 1], rows[k, 2] = gu, gv, ga
            rows[k, 3], rows[k, 4], rows[k, 5] = gb, gc, go
    v_params = np.zeros((n, N_PARAMS))
    v_feats = np.zeros((n, k_ch))
    for k in range(ids.shape[0]):
        g = ids[k]
        for j in range(N_PARAMS):
            v_params[g, j] += rows[k, j]
        for ch in range(k_ch):
            v_feats[g, ch] += rows[k, N_PARAMS + ch]
    return v_params, v_feats


def interleaved_tile_order(width: int, height: int, tile: int) -> np.ndarray:
    """Tile indices reordered so that contiguous halves of the list cover the whole image.

    numba's ``prange`` hands each thread a contiguous block of iterations; interleaving keeps the
    busy parts of an image (the scene, not the sky) spread over all threads."""
    n = ((width + tile - 1) // tile) * ((height + tile - 1) // tile)
    stride = 8
    return np.concatenate([np.arange(s, n, stride) for s in range(stride)]).astype(np.int64)
