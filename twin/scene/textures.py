"""Procedural textures: pure functions from a small description and a seed to an RGB image.

Every texture the project uses is generated here, so scenes ship no image files and a texture is
reproducible from its description alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KINDS = ("flat", "checker", "noise", "wood", "brick", "stripes", "speckle", "terrazzo", "cloth", "tiles")


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
    if spec.kind == "speckle":  # stone: a soft mottle with fine dark grains
        grains = rng.random((size, size)) < 0.04 * min(scale, 8) / 8 + 0.01
        return np.where(grains, 1.0, 0.35 * value_noise(size, scale, rng))
    if spec.kind == "terrazzo":  # chips of stone, a few pixels to a few percent across, in a plain ground
        out = np.zeros((size, size))
        count = int(scale * scale * 1.5)
        centres, radii = rng.random((count, 2)) * size, rng.uniform(0.25, 1.0, count) * size / scale / 6
        shades = rng.uniform(0.35, 1.0, count)
        for (cx, cy), r, shade in zip(centres, radii, shades, strict=True):
            du = np.minimum(np.abs(u * size - cx), size - np.abs(u * size - cx))  # tileable
            dv = np.minimum(np.abs(v * size - cy), size - np.abs(v * size - cy))
            out = np.where(du**2 + dv**2 <= r**2, shade, out)
        return out
    if spec.kind == "cloth":  # a woven grid of warp and weft threads with slub noise
        warp = 0.5 + 0.5 * np.sin(u * scale * 2 * np.pi)
        weft = 0.5 + 0.5 * np.sin(v * scale * 2 * np.pi)
        return np.clip(0.5 * warp * weft + 0.3 * value_noise(size, scale / 4, rng), 0, 1)
    if spec.kind == "tiles":  # square tiles with grout lines and a faint shade per tile
        tile = (np.floor(u * scale) + 7 * np.floor(v * scale)).astype(int) % 17
        shade = 0.12 * rng.random(17)[tile]
        fu, fv = (u * scale) % 1.0, (v * scale) % 1.0
        grout = (np.minimum(fu, 1 - fu) < 0.04) | (np.minimum(fv, 1 - fv) < 0.04)
        return np.where(grout, 1.0, shade)
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
