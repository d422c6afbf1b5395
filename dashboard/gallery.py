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


# fidelity.json's keys as people read them: label (with its unit), factor from the stored unit, digits
FIDELITY_LABELS: dict[str, tuple[str, float, int]] = {
    "psnr_db": ("PSNR of held-out frames (dB)", 1.0, 1),
    "ssim": ("SSIM of held-out frames (0–1)", 1.0, 3),
    "depth_error_m": ("mean depth error (mm)", 1000.0, 1),
    "robot_pixels_excluded": ("robot pixels left out of the comparison", 1.0, 0),
    "splats.count": ("Gaussian splats", 1.0, 0),
    "splats.steps": ("splat optimisation steps", 1.0, 0),
    "ground_truth.matched": ("objects matched to the ground truth", 1.0, 0),
    "ground_truth.truth_objects": ("objects in the ground truth", 1.0, 0),
    "ground_truth.twin_objects": ("objects in the twin", 1.0, 0),
    "ground_truth.max_position_error_m": ("largest object position error (mm)", 1000.0, 1),
    "ground_truth.max_size_error": ("largest object size error (relative)", 1.0, 3),
}


def fidelity_rows(fidelity: dict[str, Any]) -> list[dict[str, str]]:
    """``fidelity.json``'s figures as ``{"metric": label with unit, "value": text}``: the known keys
    in :data:`FIDELITY_LABELS`' order with their units converted, unknown ones after them with
    their key made readable; ``authored`` is left out (the page says it in words)."""
    metrics = {k: v for k, v in fidelity_metrics(fidelity) if k != "authored"}
    known = [k for k in FIDELITY_LABELS if k in metrics]
    rows = []
    for key in known + [k for k in metrics if k not in FIDELITY_LABELS]:
        label, factor, digits = FIDELITY_LABELS.get(key, (key.replace("_", " ").replace(".", ": "), 1.0, 4))
        rows.append({"metric": label, "value": _figure(metrics[key], factor, digits)})
    return rows


def _figure(value, factor: float, digits: int) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) and factor == 1.0:
        return f"{value:,}"
    if isinstance(value, (int, float)):
        return f"{value * factor:,.{digits}f}"
    return str(value)


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
