"""A camera's own response: exposure, white balance, read noise and depth noise.

A reference world used as "proxy-real" (:mod:`benchmark.validity.reference`) films through a
fixed :class:`SensorModel`, in its recordings and in every episode run in it, so a twin built from
those recordings sees the camera's look only as a real twin would: baked into its pixels, never as
a parameter it can read. A twin package names its sensor in ``twin.json`` (``"sensor"``), and
:class:`benchmark.episodes.env.TwinEnv` applies it to every rendered image before any perturbation's own
sensing corruption.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

GAMMA = 2.2  # exposure and white balance act on linear intensity


@dataclass(frozen=True)
class SensorModel:
    """``exposure``: linear gain on scene intensity; ``white_balance``: per-channel linear gains;
    ``noise_sigma``: Gaussian read noise in intensity levels (0–255); ``depth_noise``: Gaussian
    depth noise, metres per metre of depth (a stereo sensor's error grows with range)."""

    exposure: float = 1.0
    white_balance: tuple[float, float, float] = (1.0, 1.0, 1.0)
    noise_sigma: float = 0.0
    depth_noise: float = 0.0

    def __post_init__(self):
        wb = tuple(float(v) for v in self.white_balance)
        values = (self.exposure, *wb, self.noise_sigma, self.depth_noise)
        if len(wb) != 3 or not all(np.isfinite(v) and v >= 0 for v in values) or self.exposure == 0:
            raise ValueError(
                f"sensor model: finite non-negative values and exposure > 0 expected, got {self}"
            )
        object.__setattr__(self, "white_balance", wb)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "white_balance": list(self.white_balance)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SensorModel:
        known = {"exposure", "white_balance", "noise_sigma", "depth_noise"}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"sensor model: unknown keys {sorted(unknown)} (known: {sorted(known)})")
        return cls(**{k: tuple(v) if k == "white_balance" else float(v) for k, v in data.items()})

    def rgb(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """``image`` (uint8 H×W×3) as this camera records it: gains on linear intensity, then
        read noise, rounded and clipped to uint8."""
        gains = self.exposure * np.asarray(self.white_balance)
        out = np.asarray(image, dtype=np.float64)
        if not np.allclose(gains, 1.0):
            out = 255.0 * np.clip((out / 255.0) ** GAMMA * gains, 0.0, 1.0) ** (1.0 / GAMMA)
        if self.noise_sigma > 0:
            out = out + rng.normal(0.0, self.noise_sigma, size=out.shape)
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)

    def depth(self, depth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Depth (metres) with range-proportional Gaussian noise; invalid (≤ 0) pixels stay as they are."""
        depth = np.asarray(depth)
        if self.depth_noise == 0:
            return depth
        noisy = depth * (1.0 + rng.normal(0.0, self.depth_noise, size=depth.shape))
        return np.where(depth > 0, noisy, depth).astype(depth.dtype)
