"""Splat-set edits: colour blends, textures, gains, scaling, primitives and the table mask."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import ndimage
from scipy.spatial import ConvexHull

from twin.scene.textures import TextureSpec, render_texture
from twin.splats.camera import Cameras, intrinsics, look_at
from twin.splats.edits import (
    apply_texture,
    blend_colour,
    modulate,
    primitive_splats,
    sample_texture,
    scale_splats,
    splat_colours,
    table_mask,
)
from twin.splats.gaussians import Splats
from twin.splats.rigid import render_rigid


def _splats(n=200, degree=2, seed=0, normals=False) -> Splats:
    rng = np.random.default_rng(seed)
    sh = rng.normal(0, 0.2, size=(n, (degree + 1) ** 2, 3))
    sh[:, 0] = (rng.uniform(0.1, 0.9, size=(n, 3)) - 0.5) / 0.28209479177387814
    return Splats(
        means=rng.uniform(-0.2, 0.2, size=(n, 3)),
        quats=rng.normal(size=(n, 4)),
        log_scales=np.log(rng.uniform(0.002, 0.02, size=(n, 3))),
        opacity_logits=rng.normal(size=n),
        sh=sh,
        normals=rng.normal(size=(n, 3)) if normals else None,
    )


def _fields(s: Splats):
    return [s.means, s.quats, s.log_scales, s.opacity_logits, s.sh]


def _assert_identical(a: Splats, b: Splats):
    for x, y in zip(_fields(a), _fields(b), strict=True):
        assert x.dtype == y.dtype and np.array_equal(x, y)


def _covariances(s: Splats) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    q = s.quats.astype(np.float64)
    rot = Rotation.from_quat(np.concatenate([q[:, 1:], q[:, :1]], axis=1)).as_matrix()
    return np.einsum("nij,nj,nkj->nik", rot, np.exp(2.0 * s.log_scales.astype(np.float64)), rot)


# ------------------------------------------------------------------ colour


def test_zero_weight_is_a_bitwise_copy_and_inputs_are_not_mutated():
    s = _splats()
    before = [f.copy() for f in _fields(s)]
    tex = render_texture(TextureSpec(kind="checker", size=32))
    uv = np.random.default_rng(1).uniform(-2, 2, size=(len(s), 2))
    for out in (
        blend_colour(s, (1.0, 0.0, 0.0), 0.0),
        apply_texture(s, tex, uv, 0.0),
        modulate(s, np.ones(3)),
    ):
        _assert_identical(out, s)
        assert out.sh is not s.sh and not np.shares_memory(out.sh, s.sh)
    blend_colour(s, (1.0, 0.0, 0.0), 1.0)
    modulate(s, (0.5, 2.0, 1.0))
    for a, b in zip(before, _fields(s), strict=True):
        assert np.array_equal(a, b)


def test_full_blend_gives_the_target_everywhere_and_partial_blend_is_linear():
    s = _splats()
    full = blend_colour(s, (0.9, 0.1, 0.3), 1.0)
    np.testing.assert_allclose(splat_colours(full), np.tile([0.9, 0.1, 0.3], (len(s), 1)), atol=1e-6)
    assert np.all(full.sh[:, 1:] == 0)  # no view-dependent colour left
    half = blend_colour(s, (0.9, 0.1, 0.3), 0.5)
    expected = 0.5 * splat_colours(s) + 0.5 * np.array([0.9, 0.1, 0.3])
    np.testing.assert_allclose(splat_colours(half), expected, atol=1e-6)
    np.testing.assert_allclose(half.sh[:, 1:], 0.5 * s.sh[:, 1:], atol=1e-7)
    np.testing.assert_allclose(splat_colours(s), s.base_colors, atol=1e-6)  # colours are in [0, 1] here


def test_mask_limits_the_edit_to_the_selected_splats():
    s = _splats()
    mask = np.zeros(len(s), dtype=bool)
    mask[::3] = True
    out = blend_colour(s, (0.0, 1.0, 0.0), 0.8, mask=mask)
    assert np.array_equal(out.sh[~mask], s.sh[~mask])
    assert np.abs(splat_colours(out)[mask] - splat_colours(s)[mask]).max() > 0.1
    np.testing.assert_array_equal(out.means, s.means)


def test_texture_sampling_wraps_and_interpolates():
    image = np.zeros((4, 4, 3), dtype=np.uint8)
    image[:, 2:] = 255  # left half black, right half white
    centres = np.array([[0.125, 0.5], [0.875, 0.5], [1.875, -0.5], [0.5, 0.5], [0.0, 0.5]])
    got = sample_texture(image, centres)[:, 0]
    # pixel centres: exact; u = 1.875 wraps to 0.875; u = 0.5 is between a black and a white pixel;
    # u = 0 is between the last (white) and the first (black) pixel across the wrap
    np.testing.assert_allclose(got, [0.0, 1.0, 1.0, 0.5, 0.5], atol=1e-12)


def test_full_texture_shows_the_texture():
    s = _splats(n=400)
    tex = render_texture(TextureSpec(kind="checker", rgb1=(1, 1, 1), rgb2=(0, 0, 0), scale=4, size=64))
    uv = s.means[:, :2].astype(np.float64) * 3.0
    out = apply_texture(s, tex, uv, 1.0)
    np.testing.assert_allclose(splat_colours(out), sample_texture(tex, uv), atol=1e-6)
    assert np.std(splat_colours(out)) > 0.3  # black and white checks, not a flat colour


def test_modulate_scales_the_whole_colour_consistently():
    s = _splats()
    gain = np.array([0.5, 1.0, 1.5])
    out = modulate(s, gain)
    np.testing.assert_allclose(splat_colours(out), splat_colours(s) * gain, atol=1e-6)
    np.testing.assert_allclose(out.sh[:, 1:], s.sh[:, 1:] * gain, atol=1e-7)
    assert np.array_equal(out.sh[..., 1], s.sh[..., 1])  # gain 1 leaves the green channel untouched
    per_splat = np.random.default_rng(2).uniform(0.5, 1.5, size=(len(s), 3))
    np.testing.assert_allclose(splat_colours(modulate(s, per_splat)), splat_colours(s) * per_splat, atol=1e-6)


def test_colour_edits_name_their_bad_arguments():
    s = _splats(n=10)
    with pytest.raises(ValueError, match="weight"):
        blend_colour(s, (1, 0, 0), 1.5)
    with pytest.raises(ValueError, match="target_rgb"):
        blend_colour(s, (1, 0), 0.5)
    with pytest.raises(ValueError, match="mask"):
        blend_colour(s, (1, 0, 0), 0.5, mask=np.ones(10))
    with pytest.raises(ValueError, match="image"):
        apply_texture(s, np.zeros((8, 8, 3)), np.zeros((10, 2)), 0.5)
    with pytest.raises(ValueError, match="uv"):
        apply_texture(s, np.zeros((8, 8, 3), np.uint8), np.zeros((9, 2)), 0.5)
    with pytest.raises(ValueError, match="gain"):
        modulate(s, (1.0, -1.0, 1.0))


# ------------------------------------------------------------------ geometry


def test_uniform_scale_is_exact():
    s = _splats(normals=True)
    out = scale_splats(s, 2.0)
    np.testing.assert_allclose(out.means, 2.0 * s.means, rtol=1e-6)
    np.testing.assert_allclose(out.log_scales, s.log_scales + np.log(2.0), atol=1e-6)
    assert np.array_equal(out.quats, s.quats) and np.array_equal(out.sh, s.sh)
    _assert_identical(scale_splats(s, (1.0, 1.0, 1.0)), s)


def test_per_axis_scale_maps_every_covariance_exactly():
    s = _splats(normals=True)
    f = np.array([2.0, 0.5, 1.0])
    out = scale_splats(s, f)
    np.testing.assert_allclose(out.means, s.means * f, rtol=1e-6)
    expected = _covariances(s) * f[None, :, None] * f[None, None, :]
    got = _covariances(out)
    scale = np.abs(expected).max(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(got / scale, expected / scale, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(out.normals, axis=1), 1.0, atol=1e-6)
    with pytest.raises(ValueError, match="factor"):
        scale_splats(s, (1.0, 0.0, 1.0))


def test_table_mask_selects_the_rotated_top():
    means = np.array(
        [
            [0.0, 0.0, 0.0],  # centre
            [0.35, 0.0, 0.004],  # inside along the rotated long axis
            [0.0, 0.35, 0.0],  # inside only if not rotated
            [0.1, 0.1, 0.05],  # above the top
            [0.1, 0.1, -0.02],  # below
        ]
    )
    s = Splats.from_points(means + [0.5, 0.2, 0.7], np.full((5, 3), 0.5), 0.01)
    mask = table_mask(s, 0.7, (0.5, 0.2), (0.4, 0.15), yaw=0.0)
    assert mask.tolist() == [True, True, False, False, False]
    rotated = table_mask(s, 0.7, (0.5, 0.2), (0.4, 0.15), yaw=np.pi / 2)
    assert rotated.tolist() == [True, False, True, False, False]
    assert mask.dtype == np.bool_


# ------------------------------------------------------------------ primitives


def _render(splats: Splats, w=160, h=120, eye=(0.25, 0.18, 0.2)):
    pose = look_at(eye, (0.0, 0.0, 0.0))
    k = intrinsics(w, h, 50.0)
    cams = Cameras.from_poses(k, pose[None], w, h)
    r = render_rigid([(splats, np.eye(4))], cams, backend="cpu")
    return r.rgb[0].numpy(), r.alpha[0, ..., 0].numpy(), pose, k


def _silhouette(points: np.ndarray, pose: np.ndarray, k: np.ndarray, w: int, h: int) -> np.ndarray:
    """Pixels whose centre lies inside the projected convex hull of ``points``."""
    cam = (points - pose[:3, 3]) @ pose[:3, :3]
    uv = cam @ k.T
    hull = ConvexHull(uv[:, :2] / uv[:, 2:])
    v, u = np.mgrid[0:h, 0:w] + 0.5
    pix = np.stack([u.ravel(), v.ravel()], axis=1)
    return np.all(pix @ hull.equations[:, :2].T + hull.equations[:, 2] <= 0, axis=1).reshape(h, w)


def test_box_renders_solid_with_its_colour_and_size():
    half = np.array([0.05, 0.03, 0.02])
    rgba = (0.8, 0.2, 0.1, 1.0)
    s = primitive_splats("box", half, rgba)
    rgb, alpha, pose, k = _render(s)
    corners = np.array(list(itertools.product(*[(-x, x) for x in half])))
    sil = _silhouette(corners, pose, k, 160, 120)
    assert sil.sum() > 500
    assert alpha[sil].mean() >= 0.98  # no holes
    assert alpha[ndimage.binary_erosion(sil)].min() > 0.95
    np.testing.assert_allclose(rgb[sil].mean(0) / alpha[sil].mean(), rgba[:3], atol=0.01)
    # the splats' falloff does not grow the object by more than a pixel or so
    assert (alpha[~ndimage.binary_dilation(sil, iterations=2)] > 0.5).sum() == 0
    covered = alpha > 0.5
    assert (covered & sil).sum() / (covered | sil).sum() > 0.85


@pytest.mark.parametrize(
    ("shape", "size", "surface"),
    [
        ("cylinder", (0.03, 0.04), "cylinder"),
        ("cylinder", (0.07, 0.006), "cylinder"),
        ("sphere", (0.04,), "sphere"),
        ("box", (0.06, 0.06, 0.0008), "box"),  # thinner than the spacing
    ],
)
def test_other_primitives_render_solid(shape, size, surface):
    s = primitive_splats(shape, size, (0.1, 0.5, 0.9), spacing=0.005, sh_degree=0)
    rgb, alpha, pose, k = _render(s)
    if surface == "cylinder":
        a = np.linspace(0, 2 * np.pi, 360)
        r, hh = size
        ring = np.stack([r * np.cos(a), r * np.sin(a), np.zeros_like(a)], axis=1)
        points = np.concatenate([ring + [0, 0, -hh], ring + [0, 0, hh]])
    elif surface == "sphere":
        d = np.random.default_rng(0).normal(size=(20000, 3))
        points = size[0] * d / np.linalg.norm(d, axis=1, keepdims=True)
    else:
        points = np.array(list(itertools.product(*[(-x, x) for x in size])))
    sil = _silhouette(points, pose, k, 160, 120)
    assert alpha[sil].mean() >= 0.98
    np.testing.assert_allclose(rgb[sil].mean(0) / alpha[sil].mean(), (0.1, 0.5, 0.9), atol=0.01)


def test_primitive_splats_are_flat_tangent_and_outward():
    s = primitive_splats("cylinder", (0.03, 0.04), (0.5, 0.5, 0.5, 1.0), spacing=0.004, sh_degree=2)
    assert s.sh_degree == 2 and np.all(s.sh[:, 1:] == 0)
    np.testing.assert_allclose(1 / (1 + np.exp(-s.opacity_logits)), 0.99, atol=1e-6)
    scales = np.exp(s.log_scales)
    assert np.all(scales[:, 2] < 0.1 * scales[:, :2].min(axis=1))  # thin along the local z
    cov = _covariances(s)
    thin = np.einsum("ni,nij,nj->n", s.normals, cov, s.normals)  # variance along the normal
    np.testing.assert_allclose(np.sqrt(thin), scales[:, 2], rtol=1e-3)
    side = np.abs(s.means[:, 2]) < 0.039
    radial = s.means[side, :2] / np.linalg.norm(s.means[side, :2], axis=1, keepdims=True)
    np.testing.assert_allclose(s.normals[side, :2], radial, atol=1e-6)
    # the surface is covered at the requested density: gaps between neighbours ≤ the spacing
    box = primitive_splats("box", (0.02, 0.02, 0.02), (1, 0, 0), spacing=0.004)
    top = box.means[box.means[:, 2] > 0.0199]
    assert len(top) == 10 * 10
    assert primitive_splats("box", (0.02, 0.02, 0.02), (1, 0, 0), spacing=0.002).means.shape[0] > 3 * len(box)


def test_primitive_splats_reject_bad_arguments():
    with pytest.raises(ValueError, match="unknown primitive shape 'cone'"):
        primitive_splats("cone", (0.1, 0.1), (1, 0, 0, 1))
    with pytest.raises(ValueError, match="size"):
        primitive_splats("box", (0.1, 0.1), (1, 0, 0, 1))
    with pytest.raises(ValueError, match="rgba"):
        primitive_splats("sphere", (0.1,), (2.0, 0, 0, 1))
    with pytest.raises(ValueError, match="spacing"):
        primitive_splats("sphere", (0.1,), (1, 0, 0, 1), spacing=0.0)


def test_edits_are_deterministic():
    a = primitive_splats("sphere", (0.03,), (0.2, 0.3, 0.4, 1.0))
    b = primitive_splats("sphere", (0.03,), (0.2, 0.3, 0.4, 1.0))
    _assert_identical(a, b)
    s = _splats()
    _assert_identical(scale_splats(s, (1.5, 0.7, 1.1)), scale_splats(s, (1.5, 0.7, 1.1)))
