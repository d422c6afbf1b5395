"""Letterboxing: an image scaled to fit a box with its aspect kept, the rest padded black.

This is how openpi's clients feed a policy (``resize_with_pad``): a 1280×720 camera seen by a
224×224 policy is a 224×126 picture between two black bars, never a squashed one.
"""

from __future__ import annotations

import numpy as np
from PIL import Image


def fit_size(native: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """(width, height) of a ``native`` (width, height) picture scaled to fit ``box``, aspect kept."""
    (w, h), (bw, bh) = native, box
    scale = min(bw / w, bh / h)
    return max(1, min(bw, round(w * scale))), max(1, min(bh, round(h * scale)))


def pad_centred(image: np.ndarray, box: tuple[int, int]) -> np.ndarray:
    """``image`` (H×W×C) centred on a black canvas of ``box`` (width, height)."""
    bw, bh = box
    h, w = image.shape[:2]
    if (w, h) == (bw, bh):
        return image
    out = np.zeros((bh, bw, *image.shape[2:]), dtype=image.dtype)
    top, left = (bh - h) // 2, (bw - w) // 2
    out[top : top + h, left : left + w] = image
    return out


def resize_with_pad(image: np.ndarray, box: tuple[int, int]) -> np.ndarray:
    """``image`` (H×W×3 uint8) scaled to fit ``box`` (width, height) with its aspect kept (bilinear),
    then centred between black bars."""
    h, w = image.shape[:2]
    size = fit_size((w, h), box)
    if size != (w, h):
        image = np.asarray(Image.fromarray(np.ascontiguousarray(image)).resize(size, Image.BILINEAR))
    return pad_centred(image, box)
