"""Filling what no camera saw: a twin's background continued past the scanned region.

A scan sees the table and a little of the room; a perturbed camera (moved, or with a wider field
of view) looks past it, where the background splats leave nothing. Rather than black, those
pixels get the scene's colours and depths continued from the nearest region that was seen, by
push–pull interpolation: the layer is averaged down a pyramid (each level weighted by how much of
it was seen) until every pixel has a value, then pulled back up, each level filling only what it
lacks. The result is smooth (no new edges) and exact wherever the splats are opaque.
"""

from __future__ import annotations

import numpy as np

SEEN = 0.999  # alpha above which a background pixel counts as fully seen


def upsample2(a: np.ndarray, axis: int) -> np.ndarray:
    """``a`` twice as long along ``axis``, bilinear with pixel centres aligned (edges clamped):
    fine pixel ``2k`` is ¾ of coarse ``k`` and ¼ of ``k-1``, pixel ``2k+1`` ¾ of ``k`` and ¼ of ``k+1``."""
    a = np.moveaxis(a, axis, 0)
    before = np.concatenate([a[:1], a[:-1]])
    after = np.concatenate([a[1:], a[-1:]])
    out = np.empty((2 * len(a), *a.shape[1:]), dtype=a.dtype)
    out[0::2] = 0.75 * a + 0.25 * before
    out[1::2] = 0.75 * a + 0.25 * after
    return np.moveaxis(out, 0, axis)


def push_pull(values: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``values`` (H×W×C) continued into the pixels where ``weight`` (H×W, in [0, 1]) is below 1:
    a weighted pyramid average, pulled back up so each level fills only its own gaps."""
    h, w = weight.shape
    if h <= 1 and w <= 1 or weight.max() <= 0:
        total = max(float(weight.sum()), 1e-12)
        mean = (values * weight[..., None]).sum(axis=(0, 1)) / total
        return np.broadcast_to(mean, values.shape).copy()
    ph, pw = h + h % 2, w + w % 2  # pad to even sizes with zero weight
    v = np.zeros((ph, pw, values.shape[2]), dtype=values.dtype)
    wt = np.zeros((ph, pw), dtype=weight.dtype)
    v[:h, :w], wt[:h, :w] = values * weight[..., None], weight
    wsum = wt.reshape(ph // 2, 2, pw // 2, 2).sum(axis=(1, 3))
    vsum = v.reshape(ph // 2, 2, pw // 2, 2, -1).sum(axis=(1, 3))
    coarse = push_pull(vsum / np.maximum(wsum, 1e-12)[..., None], np.minimum(wsum, 1.0))
    up = upsample2(upsample2(coarse, axis=0), axis=1)[:h, :w]
    return values * weight[..., None] + up * (1.0 - weight[..., None])


def fill_unseen(colour: np.ndarray, depth: np.ndarray, alpha: np.ndarray):
    """A background layer ``(colour, depth, alpha)`` (straight colour) with every pixel filled:
    where the splats are not opaque, colour and depth are continued from what was seen; the
    layer comes back fully opaque. Unchanged when nothing is missing."""
    if alpha.min() >= SEEN or alpha.max() <= 0:
        return colour, depth, alpha
    weight = np.clip(alpha, 0.0, 1.0).astype(np.float32)
    filled = push_pull(np.concatenate([colour, depth[..., None]], axis=2).astype(np.float32), weight)
    return np.clip(filled[..., :3], 0.0, 1.0), filled[..., 3], np.ones_like(alpha)
