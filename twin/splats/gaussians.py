"""``Splats``: a set of 3D Gaussians stored as in the 3DGS PLY layout (raw, pre-activation, float32).

Keeping the file's own quantities (log-scales, opacity logits, SH coefficients) makes a PLY round
trip exact; ``activated()`` gives what ``rasterization`` takes.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import torch

from twin.splats._sh import SH_C0, sh_degree_of
from twin.splats.errors import SplatInputError


@dataclass(frozen=True)
class Splats:
    """``means [N,3]``, ``quats [N,4]`` (w, x, y, z; any length > 0), ``log_scales [N,3]``,
    ``opacity_logits [N]``, ``sh [N,K,3]`` with ``K = (d+1)^2``, ``sh[:, 0]`` the DC term, and
    ``normals [N,3]`` (unused by rendering, kept for files that carry them)."""

    means: np.ndarray
    quats: np.ndarray
    log_scales: np.ndarray
    opacity_logits: np.ndarray
    sh: np.ndarray
    normals: np.ndarray | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            if isinstance(value, torch.Tensor):
                value = value.detach().cpu().numpy()
            object.__setattr__(self, f.name, np.ascontiguousarray(value, dtype=np.float32))
        n = self.means.shape[0] if self.means.ndim == 2 else -1
        shapes = {"means": (n, 3), "quats": (n, 4), "log_scales": (n, 3), "opacity_logits": (n,)}
        if self.normals is not None:
            shapes["normals"] = (n, 3)
        for name, shape in shapes.items():
            if getattr(self, name).shape != shape or n < 0:
                raise SplatInputError(
                    f"Splats.{name} must have shape {shape}, got {getattr(self, name).shape}"
                )
        if self.sh.ndim != 3 or self.sh.shape[0] != n or self.sh.shape[2] != 3:
            raise SplatInputError(f"Splats.sh must have shape [N, K, 3], got {self.sh.shape}")
        try:
            sh_degree_of(self.sh.shape[1])
        except ValueError as err:
            raise SplatInputError(f"Splats.sh: {err}") from None

    def __len__(self) -> int:
        return self.means.shape[0]

    @property
    def sh_degree(self) -> int:
        return sh_degree_of(self.sh.shape[1])

    @property
    def base_colors(self) -> np.ndarray:
        """View-independent RGB ``[N,3]`` (the DC term), clipped to [0, 1]."""
        return np.clip(self.sh[:, 0] * SH_C0 + 0.5, 0.0, 1.0)

    def activated(self, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
        """Tensors for ``rasterization``: means, quats, scales, opacities and colors (SH coefficients)."""

        def t(x):
            return torch.as_tensor(x, device=device)

        return {
            "means": t(self.means),
            "quats": t(self.quats),
            "scales": torch.exp(t(self.log_scales)),
            "opacities": torch.sigmoid(t(self.opacity_logits)),
            "colors": t(self.sh),
        }

    def subset(self, index) -> Splats:
        """The splats selected by a boolean mask or index array."""
        normals = None if self.normals is None else self.normals[index]
        return Splats(
            self.means[index],
            self.quats[index],
            self.log_scales[index],
            self.opacity_logits[index],
            self.sh[index],
            normals,
        )

    @classmethod
    def from_points(
        cls, points, colors, scale: float | np.ndarray, opacity: float = 0.5, sh_degree: int = 0
    ) -> Splats:
        """Isotropic splats at ``points [N,3]`` with RGB ``colors [N,3]`` in [0,1] and radius ``scale``
        (one value or one per point)."""
        points = np.asarray(points, dtype=np.float64)
        n = points.shape[0]
        sh = np.zeros((n, (sh_degree + 1) ** 2, 3))
        sh[:, 0] = (np.asarray(colors, dtype=np.float64) - 0.5) / SH_C0
        log_s = np.broadcast_to(np.log(np.asarray(scale, dtype=np.float64)).reshape(-1, 1), (n, 3))
        quats = np.tile([1.0, 0.0, 0.0, 0.0], (n, 1))
        logit = np.full(n, np.log(opacity / (1.0 - opacity)))
        return cls(points, quats, log_s, logit, sh)

    @staticmethod
    def concat(sets: list[Splats]) -> Splats:
        """One set holding all splats of ``sets`` (SH padded with zeros to the highest degree)."""
        k = max(s.sh.shape[1] for s in sets)
        sh = [np.pad(s.sh, ((0, 0), (0, k - s.sh.shape[1]), (0, 0))) for s in sets]
        normals = None
        if any(s.normals is not None for s in sets):
            normals = np.concatenate(
                [np.zeros((len(s), 3)) if s.normals is None else s.normals for s in sets]
            )
        return Splats(
            np.concatenate([s.means for s in sets]),
            np.concatenate([s.quats for s in sets]),
            np.concatenate([s.log_scales for s in sets]),
            np.concatenate([s.opacity_logits for s in sets]),
            np.concatenate(sh),
            normals,
        )
