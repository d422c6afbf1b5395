"""Fixtures for the splat tests: float64 scenes small enough for the slow reference renderer."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # effective only if torch is not imported yet


def make_scene(
    n: int = 40,
    n_cams: int = 2,
    width: int = 37,
    height: int = 23,
    sh_degree: int | None = None,
    seed: int = 0,
    dense: bool = False,
    per_camera_colors: bool = False,
    spread: float = 1.0,
    dtype=torch.float64,
):
    """Random splats in front of ``n_cams`` cameras, some partly off screen; ``dense`` makes them
    large and opaque so pixels saturate and terminate early; ``spread`` > 1 puts many off screen."""
    from twin.splats.camera import intrinsics, look_at

    g = torch.Generator().manual_seed(seed)
    means = (torch.rand(n, 3, generator=g) - 0.5) * torch.tensor([2.4, 1.6, 1.0]) * spread
    quats = torch.randn(n, 4, generator=g)
    scales = torch.rand(n, 3, generator=g) * (0.25 if dense else 0.12) + 0.01
    opac = torch.rand(n, generator=g) * 0.5 + (0.5 if dense else 0.05)
    if dense:
        opac[: n // 4] = 1.0  # hits the 0.999 alpha clamp
    if sh_degree is None:
        colors = torch.rand(n_cams, n, 3, generator=g) if per_camera_colors else torch.rand(n, 3, generator=g)
    else:
        lead = (n_cams, n) if per_camera_colors else (n,)
        colors = torch.randn(*lead, (sh_degree + 1) ** 2, 3, generator=g) * 0.4
    poses = [look_at([0.4 * i - 0.3, -2.2 - 0.3 * i, 0.8], [0.05 * i, 0.0, 0.0]) for i in range(n_cams)]
    viewmats = torch.tensor(np.stack([np.linalg.inv(p) for p in poses]))
    ks = torch.tensor(np.stack([intrinsics(width, height, 50.0 + 5 * i) for i in range(n_cams)]))
    ks[:, 0, 2] += 0.7  # principal point off centre
    return [t.to(dtype) for t in (means, quats, scales, opac, colors, viewmats, ks)] + [width, height]


@pytest.fixture
def scene_factory():
    return make_scene


@pytest.fixture(scope="session")
def robot_log(tmp_path_factory):
    """A block_push robot log (exterior and wrist cameras, RGB only, no poses) with ground truth."""
    import json

    from fuzzing import run_cli

    out = tmp_path_factory.mktemp("robot_log") / "logs"
    result = run_cli("record", "--scene", "block_push", "--style", "robot-log", "-o", str(out), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["success"]
    return out / "episode_000000"
