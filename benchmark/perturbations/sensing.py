"""Camera sensing corruptions of uint8 RGB images: sensor noise, defocus blur, JPEG compression.

Pure functions of an ``H×W×3`` uint8 image; randomness only comes from the numpy Generator passed
in, so the same image and generator state give the same pixels. Zero strength returns an unchanged
copy.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from scipy import ndimage


def _check_image(image) -> np.ndarray:
    img = np.asarray(image)
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"image must be a uint8 array [H, W, 3], got {img.dtype} {img.shape}")
    return img


def _to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def add_noise(image: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Additive Gaussian noise of standard deviation ``sigma`` intensity levels (0-255), independent
    per pixel and channel, rounded and clipped to uint8."""
    img = _check_image(image)
    if not (np.isfinite(sigma) and sigma >= 0):
        raise ValueError(f"sigma must be a finite value ≥ 0, got {sigma!r}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    if sigma == 0:
        return img.copy()
    return _to_uint8(img + rng.normal(0.0, sigma, size=img.shape))


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of standard deviation ``sigma`` pixels, per channel (image edges reflected)."""
    img = _check_image(image)
    if not (np.isfinite(sigma) and sigma >= 0):
        raise ValueError(f"sigma must be a finite value ≥ 0, got {sigma!r}")
    if sigma == 0:
        return img.copy()
    blurred = ndimage.gaussian_filter(img.astype(np.float64), sigma=(sigma, sigma, 0), mode="reflect")
    return _to_uint8(blurred)


def jpeg_roundtrip(image: np.ndarray, quality: int) -> np.ndarray:
    """The image after JPEG encoding at ``quality`` (1-100, Pillow's scale) and decoding.

    Chroma is kept at full resolution (4:4:4) so that ``quality`` alone sets the loss: with the
    usual 4:2:0 subsampling even quality 95 blurs colour edges noticeably."""
    img = _check_image(image)
    if isinstance(quality, bool) or not isinstance(quality, int | np.integer) or not 1 <= quality <= 100:
        raise ValueError(f"quality must be an int in [1, 100], got {quality!r}")
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(img)).save(
        buffer, format="JPEG", quality=int(quality), subsampling=0
    )
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return np.asarray(decoded.convert("RGB"), dtype=np.uint8).copy()
