"""Per-object splats under poses, composited in one pass."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from twin.splats.camera import Cameras, intrinsics, look_at
from twin.splats.errors import SplatInputError
from twin.splats.gaussians import Splats
from twin.splats.rendering import rasterization
from twin.splats.rigid import render_rigid, transform_splats


def _object(seed, degree=2, n=60, centre=(0.0, 0.0, 0.0), size=0.15):
    rng = np.random.default_rng(seed)
    return Splats(
        means=rng.uniform(-size, size, size=(n, 3)) + np.asarray(centre),
        quats=rng.normal(size=(n, 4)),
        log_scales=np.log(rng.uniform(0.02, 0.06, size=(n, 3))),
        opacity_logits=rng.normal(1.0, 1.0, size=n),
        sh=rng.normal(0, 0.4, size=(n, (degree + 1) ** 2, 3)),
    )


def _pose(yaw, t):
    c, s = np.cos(yaw), np.sin(yaw)
    pose = np.eye(4)
    pose[:3, :3] = [[c, -s, 0], [s, c, 0], [0, 0, 1]]
    pose[:3, 3] = t
    return pose


def _cams(n=2, w=48, h=36):
    poses = np.stack(
        [look_at([1.2 * np.cos(a), 1.2 * np.sin(a), 0.6], [0, 0, 0]) for a in np.linspace(0, 2, n)]
    )
    return Cameras.from_poses(intrinsics(w, h, 55.0), poses, w, h)


def test_identity_pose_equals_plain_render():
    obj, cams = _object(0), _cams()
    p = obj.activated()
    plain = rasterization(
        p["means"],
        p["quats"],
        p["scales"],
        p["opacities"],
        p["colors"],
        cams.viewmats,
        cams.Ks,
        cams.width,
        cams.height,
        sh_degree=2,
        backend="cpu",
    )
    posed = render_rigid([(obj, np.eye(4))], cams, backend="cpu")
    assert float((plain.rgb - posed.rgb).abs().max()) < 1e-5
    assert float((plain.alpha - posed.alpha).abs().max()) < 1e-5


def test_moving_the_object_equals_moving_the_camera():
    """Pose P with camera V renders exactly like the body-frame object seen by camera V·P,
    view-dependent (SH degree 2) colour included."""
    obj, cams = _object(1), _cams()
    pose = _pose(0.7, [0.1, -0.05, 0.02])
    posed = render_rigid([(obj, pose)], cams, backend="cpu")
    moved_cams = Cameras(
        cams.viewmats @ torch.tensor(pose, dtype=torch.float32), cams.Ks, cams.width, cams.height
    )
    body = render_rigid([(obj, np.eye(4))], moved_cams, backend="cpu")
    assert posed.alpha.max() > 0.5
    assert float((posed.rgb - body.rgb).abs().max()) < 2e-4
    assert float((posed.depth - body.depth).abs().max()) < 2e-4


def test_objects_occlude_each_other_by_depth():
    red = Splats.from_points(
        np.random.default_rng(0).uniform(-0.08, 0.08, (400, 3)),
        np.tile([1.0, 0, 0], (400, 1)),
        scale=0.03,
        opacity=0.99,
    )
    blue = Splats.from_points(red.means, np.tile([0, 0, 1.0], (400, 1)), scale=0.03, opacity=0.99)
    w, h = 40, 30
    cam = Cameras.from_poses(intrinsics(w, h, 50.0), look_at([0, -1.5, 0.0], [0, 0, 0])[None], w, h)
    near, far = _pose(0.0, [0, -0.4, 0]), _pose(0.3, [0, 0.4, 0])
    centre = (h // 2, w // 2)
    a = render_rigid([(red, near), (blue, far)], cam, backend="cpu").rgb[0][centre]
    b = render_rigid([(red, far), (blue, near)], cam, backend="cpu").rgb[0][centre]
    assert a[0] > 0.9 and a[2] < 0.05
    assert b[2] > 0.9 and b[0] < 0.05
    one_pass = render_rigid([(blue, far), (red, near)], cam, backend="cpu").rgb[0][centre]
    assert torch.allclose(one_pass, a, atol=1e-6)  # order of the list does not matter, depth does


@pytest.mark.parametrize("degree", [0, 1])
def test_transform_matches_posed_render(degree):
    obj, cams = _object(2, degree=degree), _cams(1)
    pose = _pose(-1.1, [0.05, 0.1, 0.0])
    moved = transform_splats(obj, pose)
    a = render_rigid([(obj, pose)], cams, backend="cpu")
    b = render_rigid([(moved, np.eye(4))], cams, backend="cpu")
    assert float((a.rgb - b.rgb).abs().max()) < 1e-4


def test_bad_poses_are_rejected():
    obj, cams = _object(0), _cams(1)
    with pytest.raises(SplatInputError, match="4×4"):
        render_rigid([(obj, np.eye(3))], cams)
    with pytest.raises(SplatInputError, match="rotation"):
        render_rigid([(obj, np.diag([2.0, 1, 1, 1]))], cams)
    with pytest.raises(SplatInputError, match="at least one"):
        render_rigid([], cams)
