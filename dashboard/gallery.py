"""What the twins gallery shows of a twin package: its fidelity figures, its calibration and its
pictures (the real frame, the twin's render of the same view and their difference)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

PANELS = 3  # preview.png of a reconstructed twin: real | twin render | difference


@dataclass(frozen=True)
class Pictures:
    """``real`` is None for an authored twin (nothing was filmed): ``render`` is then its preview."""

    real: np.ndarray | None
    render: np.ndarray | None
    difference: np.ndarray | None


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object, or None when the file is missing or is not one."""
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def fidelity_metrics(fidelity: dict[str, Any], prefix: str = "") -> list[tuple[str, float | bool | str]]:
    """The scalar figures of ``fidelity.json``, nested ones as ``ground_truth.max_position_error_m``;
    per-frame lists are left out."""
    out = []
    for key, value in fidelity.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out += fidelity_metrics(value, f"{name}.")
        elif isinstance(value, (bool, int, float, str)) and value is not None:
            out.append((name, value))
    return out


def cameras(calibration: dict[str, Any] | None) -> list[str]:
    """``name W×H`` of each calibrated camera."""
    found = (calibration or {}).get("cameras") or {}
    return [f"{name} {cam.get('width', '?')}×{cam.get('height', '?')}" for name, cam in found.items()]


def pictures(folder: Path) -> Pictures:
    """The real frame (``reference.png``) beside the twin's render and their difference, cut from
    ``preview.png``; an authored twin has no real frame and its preview is the render alone."""
    from PIL import Image

    def load(path: Path) -> np.ndarray | None:
        try:
            with Image.open(path) as image:
                return np.asarray(image.convert("RGB"))
        except OSError:
            return None

    real, preview = load(folder / "reference.png"), load(folder / "preview.png")
    if real is None or preview is None or preview.shape[1] < PANELS * real.shape[1] - PANELS:
        return Pictures(None, preview, None)
    width = preview.shape[1] // PANELS
    return Pictures(real, preview[:, width : 2 * width], preview[:, 2 * width : 3 * width])
