"""Camera sensing corruptions: noise, blur and JPEG on uint8 images."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.perturbations.sensing import add_noise, gaussian_blur, jpeg_roundtrip
from twin.scene.textures import TextureSpec, render_texture


def _image() -> np.ndarray:
    """A natural-ish test image: a brick texture with a coloured gradient and some fine detail."""
    tex = render_texture(TextureSpec(kind="brick", rgb1=(0.7, 0.3, 0.2), rgb2=(0.9, 0.9, 0.85), size=96))
    img = tex[:72].astype(np.float64)
    img[..., 2] += np.linspace(0, 60, 96)[None, :]
    img[::4, ::4] = 255 - img[::4, ::4]  # high-frequency dots
    return np.clip(img, 0, 255).astype(np.uint8)


def _high_frequency_energy(img: np.ndarray) -> float:
    f = img.astype(np.float64)
    return float(np.mean(np.diff(f, axis=0) ** 2) + np.mean(np.diff(f, axis=1) ** 2))


def test_zero_strength_returns_an_unchanged_copy():
    img = _image()
    for out in (add_noise(img, 0.0, np.random.default_rng(0)), gaussian_blur(img, 0.0)):
        assert out.dtype == np.uint8 and np.array_equal(out, img) and not np.shares_memory(out, img)


def test_noise_has_the_requested_strength_and_is_deterministic():
    img = np.full((64, 64, 3), 128, dtype=np.uint8)
    out = add_noise(img, 10.0, np.random.default_rng(3))
    assert out.dtype == np.uint8 and out.shape == img.shape
    assert abs(np.std(out.astype(np.float64) - 128) - 10.0) < 0.5
    assert np.array_equal(out, add_noise(img, 10.0, np.random.default_rng(3)))
    assert not np.array_equal(out, add_noise(img, 10.0, np.random.default_rng(4)))
    saturated = add_noise(np.full((8, 8, 3), 250, np.uint8), 50.0, np.random.default_rng(0))
    assert saturated.max() == 255  # clipped, not wrapped around


def test_blur_removes_high_frequencies_more_as_sigma_grows():
    img = _image()
    energies = [_high_frequency_energy(gaussian_blur(img, s)) for s in (0.0, 0.5, 1.5, 3.0)]
    assert energies[0] > 2 * energies[1] and energies[1] > energies[2] > energies[3]
    blurred = gaussian_blur(img, 1.5)
    assert abs(blurred.astype(np.float64).mean() - img.astype(np.float64).mean()) < 1.0  # mean kept
    flat = np.full((16, 16, 3), 77, np.uint8)
    assert np.array_equal(gaussian_blur(flat, 2.0), flat)


def test_jpeg_loses_more_at_low_quality():
    img = _image()
    err = {q: np.abs(jpeg_roundtrip(img, q).astype(np.float64) - img).mean() for q in (5, 50, 95)}
    assert err[5] > 3 * err[95] and err[5] > err[50] > err[95]
    out = jpeg_roundtrip(img, 95)
    assert out.dtype == np.uint8 and out.shape == img.shape
    assert np.array_equal(out, jpeg_roundtrip(img, 95))


def test_corruptions_name_their_bad_arguments():
    img = _image()
    with pytest.raises(ValueError, match="image"):
        gaussian_blur(img.astype(np.float32), 1.0)
    with pytest.raises(ValueError, match="image"):
        jpeg_roundtrip(img[..., 0], 50)
    with pytest.raises(ValueError, match="quality"):
        jpeg_roundtrip(img, 0)
    with pytest.raises(ValueError, match="sigma"):
        add_noise(img, -1.0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="sigma"):
        gaussian_blur(img, float("nan"))
    with pytest.raises(TypeError, match="rng"):
        add_noise(img, 1.0, 0)
