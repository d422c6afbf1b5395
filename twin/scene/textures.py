"""Procedural textures: pure functions from a small description and a seed to an RGB image.

Every texture the project uses is generated here, so scenes ship no image files and a texture is
reproducible from its description alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KINDS = ("flat", "checker", "noise", "wood", "brick", "stripes")


@dataclass(frozen=True)
class TextureSpec:
    """A procedural texture: ``kind`` with two colours (RGB in [0, 1]) and a feature ``scale``.

    ``scale`` is the number of features (checks, planks, bricks, noise cells) across the image.
    """

    kind: str = "flat"
    rgb1: tuple[float, float, float] = (0.6, 0.6, 0.6)
    rgb2: tuple[float, float, float] = (0.4, 0.4, 0.4)
    scale: float = 8.0
    seed: int = 0
    size: int = 256

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown texture kind {self.kind!r}; expected one of {', '.join(KINDS)}")
        if not (8 <= self.size <= 2048):
            raise ValueError(f"texture size must be in [8, 2048] pixels, got {self.size}")
        if self.scale <= 0:
            raise ValueError(f"texture scale must be positive, got {self.scale}")


def value_noise(size: int, cells: float, rng: np.random.Generator, octaves: int = 4) -> np.ndarray:
    """Tileable fractal value noise in [0, 1], shape (size, size)."""
    out = np.zeros((size, size))
    amplitude, total = 1.0, 0.0
    for octave in range(octaves):
        n = max(2, int(round(cells * 2**octave)))
        grid = rng.random((n, n))
        coords = np.arange(size) * n / size
        i0 = np.floor(coords).astype(int) % n
        i1 = (i0 + 1) % n
        t = coords - np.floor(coords)
        t = t * t * (3 - 2 * t)  # smoothstep
        rows = grid[i0][:, i0] * (1 - t)[None, :] + grid[i0][:, i1] * t[None, :]
        rows_next = grid[i1][:, i0] * (1 - t)[None, :] + grid[i1][:, i1] * t[None, :]
        out += amplitude * (rows * (1 - t)[:, None] + rows_next * t[:, None])
        total += amplitude
        amplitude *= 0.5
    return out / total


def _pattern(spec: TextureSpec, rng: np.random.Generator) -> np.ndarray:
    """The mixing weight in [0, 1] between ``rgb1`` (0) and ``rgb2`` (1)."""
    size, scale = spec.size, spec.scale
    v, u = np.mgrid[0:size, 0:size] / size
    if spec.kind == "flat":
        return np.zeros((size, size))
    if spec.kind == "checker":
        return ((np.floor(u * scale) + np.floor(v * scale)) % 2).astype(float)
    if spec.kind == "stripes":
        return (np.floor(u * scale) % 2).astype(float)
    if spec.kind == "noise":
        return value_noise(size, scale, rng)
    if spec.kind == "wood":
        plank = np.floor(v * scale)
        offsets = rng.random(int(scale) + 1)[plank.astype(int) % (int(scale) + 1)]
        grain = np.sin((u * 3 + offsets * 7 + 0.3 * value_noise(size, 4, rng)) * 2 * np.pi * 6)
        seams = (np.abs(v * scale - np.round(v * scale)) < 0.03).astype(float)
        return np.clip(0.35 + 0.25 * grain + 0.3 * offsets + seams, 0, 1)
    # brick: staggered rows with mortar lines
    row = np.floor(v * scale)
    shifted = u * scale / 2 + 0.5 * (row % 2)
    mortar = (np.abs(v * scale - np.round(v * scale)) < 0.06) | (np.abs(shifted - np.round(shifted)) < 0.03)
    return np.where(mortar, 1.0, 0.15 * value_noise(size, scale, rng))


def render_texture(spec: TextureSpec) -> np.ndarray:
    """The texture as an (size, size, 3) uint8 image; the same spec always gives the same pixels."""
    rng = np.random.default_rng(spec.seed)
    weight = _pattern(spec, rng)[..., None]
    rgb = (1 - weight) * np.asarray(spec.rgb1) + weight * np.asarray(spec.rgb2)
    return np.clip(np.round(rgb * 255), 0, 255).astype(np.uint8)
