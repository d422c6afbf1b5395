"""Bad input fails early with an error that names the input and the problem."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from twin.splats import _gsplat_backend
from twin.splats.camera import Cameras
from twin.splats.errors import BackendUnavailableError, PlyFormatError, SplatInputError
from twin.splats.fit import FitConfig, fit_splats
from twin.splats.gaussians import Splats
from twin.splats.ply import read_ply, write_ply
from twin.splats.rendering import rasterization


def _splats(n=4):
    rng = np.random.default_rng(0)
    return Splats(
        rng.normal(size=(n, 3)),
        rng.normal(size=(n, 4)),
        rng.normal(size=(n, 3)),
        rng.normal(size=n),
        rng.normal(size=(n, 4, 3)),
    )


def _drop_property(path, name):
    raw = path.read_bytes()
    head, body = raw.split(b"end_header\n", 1)
    lines = head.decode().splitlines()
    names = [ln.split()[-1] for ln in lines if ln.startswith("property")]
    n = int(next(ln for ln in lines if ln.startswith("element vertex")).split()[-1])
    data = np.frombuffer(body, dtype=[(nm, "<f4") for nm in names], count=n)
    keep = [nm for nm in names if nm != name]
    out = np.empty(n, dtype=[(nm, "<f4") for nm in keep])
    for nm in keep:
        out[nm] = data[nm]
    lines = [ln for ln in lines if ln != f"property float {name}"]
    path.write_bytes(("\n".join(lines) + "\nend_header\n").encode() + out.tobytes())


@pytest.mark.parametrize("field", ["opacity", "rot_2", "f_dc_1", "scale_0", "x"])
def test_ply_missing_field_is_named(tmp_path, field):
    path = tmp_path / "s.ply"
    write_ply(path, _splats())
    _drop_property(path, field)
    with pytest.raises(PlyFormatError, match=field):
        read_ply(path)


def test_ply_with_partial_sh_rest_is_rejected(tmp_path):
    path = tmp_path / "s.ply"
    write_ply(path, _splats())  # degree 1: f_rest_0..8
    _drop_property(path, "f_rest_8")
    with pytest.raises(PlyFormatError, match="f_rest"):
        read_ply(path)


def test_ply_truncated_and_not_ply(tmp_path):
    path = tmp_path / "s.ply"
    write_ply(path, _splats())
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(PlyFormatError, match="truncated"):
        read_ply(path)
    path.write_bytes(b"hello world")
    with pytest.raises(PlyFormatError, match="not a PLY"):
        read_ply(path)


def test_ply_with_nan_is_rejected(tmp_path):
    s = _splats()
    s.means[2, 1] = np.nan
    write_ply(tmp_path / "nan.ply", s)
    with pytest.raises(PlyFormatError, match="means"):
        read_ply(tmp_path / "nan.ply")


def _args(scene_factory):
    return scene_factory(n=8, n_cams=1)


@pytest.mark.parametrize(
    "index,name",
    [(0, "means"), (1, "quats"), (2, "scales"), (3, "opacities"), (4, "colors"), (5, "viewmats"), (6, "Ks")],
)
def test_nan_parameters_are_named(scene_factory, index, name):
    args = _args(scene_factory)
    args[index] = args[index].clone()
    args[index].view(-1)[0] = float("nan")
    with pytest.raises(SplatInputError, match=f"{name} contains NaN"):
        rasterization(*args, backend="cpu")


@pytest.mark.parametrize("width,height", [(0, 10), (10, 0), (-3, 4)])
def test_zero_size_images_are_rejected(scene_factory, width, height):
    args = _args(scene_factory)
    args[7], args[8] = width, height
    with pytest.raises(SplatInputError, match="zero-size"):
        rasterization(*args, backend="cpu")


def test_wrong_shapes_and_values_are_named(scene_factory):
    args = _args(scene_factory)
    bad = list(args)
    bad[1] = bad[1][:, :3]
    with pytest.raises(SplatInputError, match="quats must have shape"):
        rasterization(*bad)
    bad = list(args)
    bad[3] = bad[3] * 0 - 1
    with pytest.raises(SplatInputError, match="opacities"):
        rasterization(*bad)
    bad = list(args)
    bad[1] = torch.zeros_like(bad[1])
    with pytest.raises(SplatInputError, match="zero-length"):
        rasterization(*bad)
    with pytest.raises(SplatInputError, match="sh_degree"):
        rasterization(*args, sh_degree=5)
    with pytest.raises(SplatInputError, match="backend"):
        rasterization(*args, backend="opengl")
    with pytest.raises(SplatInputError, match="backgrounds"):
        rasterization(*args, backgrounds=torch.zeros(4, dtype=torch.float64), backend="cpu")


def test_gsplat_backend_without_cuda_says_why(scene_factory):
    ok, reason = _gsplat_backend.gsplat_status()
    if ok:
        pytest.skip("a CUDA GPU with gsplat is present; the unavailable path cannot be exercised")
    with pytest.raises(BackendUnavailableError, match="cannot run"):
        rasterization(*_args(scene_factory), backend="gsplat")
    assert reason


def test_fit_rejects_bad_frames_and_points():
    cams = Cameras(torch.eye(4)[None].repeat(2, 1, 1), torch.eye(3)[None].repeat(2, 1, 1) * 10, 8, 6)
    pts = (np.zeros((3, 3)), np.zeros((3, 3)))
    cfg = FitConfig(max_steps=1)
    with pytest.raises(SplatInputError, match="non-empty"):
        fit_splats(np.zeros((2, 0, 8, 3), np.uint8), cams, pts, config=cfg)
    with pytest.raises(SplatInputError, match="do not match"):
        fit_splats(np.zeros((3, 6, 8, 3), np.uint8), cams, pts, config=cfg)
    frames = np.zeros((2, 6, 8, 3), np.float32)
    frames[0, 0, 0, 0] = np.nan
    with pytest.raises(SplatInputError, match="NaN"):
        fit_splats(frames, cams, pts, config=cfg)
    with pytest.raises(SplatInputError, match="init_points"):
        fit_splats(
            np.zeros((2, 6, 8, 3), np.uint8), cams, (np.full((3, 3), np.nan), np.zeros((3, 3))), config=cfg
        )
    with pytest.raises(SplatInputError, match="image size"):
        Cameras(torch.eye(4)[None], torch.eye(3)[None], 0, 6)


def test_splats_container_checks_shapes():
    with pytest.raises(SplatInputError, match="sh"):
        Splats(np.zeros((2, 3)), np.zeros((2, 4)), np.zeros((2, 3)), np.zeros(2), np.zeros((2, 5, 3)))
    with pytest.raises(SplatInputError, match="quats"):
        Splats(np.zeros((2, 3)), np.zeros((3, 4)), np.zeros((2, 3)), np.zeros(2), np.zeros((2, 1, 3)))
