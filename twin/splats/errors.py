"""Errors raised by ``twin.splats``; each message names the offending input and what is wrong."""

from __future__ import annotations


class SplatInputError(ValueError):
    """Splat parameters, cameras or images that cannot be rendered or fitted (shape, NaN, size)."""


class PlyFormatError(ValueError):
    """A PLY file that is not in the 3DGS layout (missing fields, bad header, truncated data)."""


class BackendUnavailableError(RuntimeError):
    """The requested rasterization backend cannot run here (e.g. gsplat without a CUDA GPU)."""
