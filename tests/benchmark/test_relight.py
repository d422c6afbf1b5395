"""Relighting from depth: normals of synthetic planes, and Lambert ratio shading that follows the light."""

from __future__ import annotations

import numpy as np
import pytest

from twin.scene.relight import RATIO_RANGE, normals_from_depth, relight
from twin.splats.camera import intrinsics

W, H = 64, 48
K = intrinsics(W, H, 60.0)
R_DOWN = np.diag([1.0, -1.0, -1.0])  # camera 1 m above the origin looking straight down: x = world x
THETA = np.deg2rad(30.0)


def _rays():
    v, u = np.mgrid[0:H, 0:W] + 0.5
    return (u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1]


def _roof_depth() -> np.ndarray:
    """Depth of the roof z = -tan(θ)·|x| seen from (0, 0, 1): the image's right half (world x > 0)
    faces +x, the left half faces -x."""
    x, _ = _rays()
    return 1.0 / (1.0 - np.tan(THETA) * np.abs(x))


def _roof_normals_world():
    x, _ = _rays()
    side = np.sign(x)
    return np.stack([side * np.sin(THETA), np.zeros_like(x), np.full_like(x, np.cos(THETA))], axis=-1)


def _away_from_ridge():
    x, _ = _rays()
    return np.abs(x) > 3.0 / K[0, 0]


def test_normals_of_a_tilted_plane():
    n = normals_from_depth(_roof_depth(), K)
    ok = _away_from_ridge()
    expected_camera = _roof_normals_world() @ R_DOWN  # R^T n, row-wise
    np.testing.assert_allclose(n[ok], expected_camera[ok], atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(n, axis=-1), 1.0, atol=1e-9)
    assert np.all(n[..., 2] < 0)  # facing the camera


def test_normals_are_zero_without_depth_and_when_isolated():
    depth = np.full((H, W), 1.0)
    depth[10:20, 10:20] = 0.0  # a hole
    depth[30, 40] = 0.5  # an isolated spike: no neighbour on its surface
    depth[:, 50:] = 2.0  # a step: its edge pixels use the side they belong to
    n = normals_from_depth(depth, K)
    assert np.all(n[10:20, 10:20] == 0)
    assert np.all(n[30, 40] == 0)
    flat = np.ones((H, W), bool)
    flat[10:20, 10:20] = False
    flat[30, 40] = False
    np.testing.assert_allclose(n[flat], np.tile([0.0, 0.0, -1.0], (flat.sum(), 1)), atol=1e-9)


def test_relight_brightens_faces_turned_to_the_new_light_and_darkens_the_others():
    rgb = np.full((H, W, 3), 0.5, dtype=np.float32)
    down = np.array([0.0, 0.0, -1.0])
    from_plus_x = np.array([-1.0, 0.0, -1.0])  # travelling towards -x: lights the +x-facing half
    out = relight(rgb, _roof_depth(), K, R_DOWN, down, from_plus_x)
    assert out.dtype == np.float32
    x, _ = _rays()
    ok = _away_from_ridge()
    right, left = ok & (x > 0), ok & (x < 0)

    def shade(n_dot):
        return 0.4 + 0.6 * max(0.0, n_dot)

    lit = shade((np.sin(THETA) + np.cos(THETA)) / np.sqrt(2)) / shade(np.cos(THETA))
    unlit = shade((np.cos(THETA) - np.sin(THETA)) / np.sqrt(2)) / shade(np.cos(THETA))
    np.testing.assert_allclose(out[right], 0.5 * lit, atol=1e-5)
    np.testing.assert_allclose(out[left], 0.5 * unlit, atol=1e-5)
    assert lit > 1.05 and unlit < 0.7
    # the mirrored light does the opposite
    mirrored = relight(rgb, _roof_depth(), K, R_DOWN, down, [1.0, 0.0, -1.0])
    assert mirrored[left].mean() > 0.5 > mirrored[right].mean()


def test_relight_identity_no_depth_and_clipping():
    rng = np.random.default_rng(0)
    rgb = rng.uniform(0, 1, size=(H, W, 3))
    depth = _roof_depth()
    same = relight(rgb, depth, K, R_DOWN, [0.2, 0.1, -1.0], [0.4, 0.2, -2.0])  # same direction
    assert same.dtype == rgb.dtype and np.array_equal(same, rgb) and same is not rgb
    depth[:, :8] = 0.0
    bright = np.full((H, W, 3), 0.95)
    out = relight(bright, depth, K, R_DOWN, [0.0, 0.0, -1.0], [-1.0, 0.0, -1.0])
    assert np.array_equal(out[:, :8], bright[:, :8])  # no depth: unchanged
    assert out.max() <= 1.0 and out[:, 40:].min() == 1.0  # brightened past 1 and clipped


def test_relight_ratio_is_clipped():
    rgb = np.full((H, W, 3), 0.1)
    depth = np.full((H, W), 1.0)  # a floor facing up
    # old light grazing from below (no direct light), new light from above, no ambient
    out = relight(rgb, depth, K, R_DOWN, [0.0, 0.0, 1.0], [0.0, 0.0, -1.0], ambient=0.0)
    np.testing.assert_allclose(out, 0.1 * RATIO_RANGE[1])
    dark = relight(rgb, depth, K, R_DOWN, [0.0, 0.0, -1.0], [0.0, 0.0, 1.0], ambient=0.0)
    np.testing.assert_allclose(dark, 0.1 * RATIO_RANGE[0])


def test_relight_rejects_bad_arguments():
    rgb = np.zeros((H, W, 3))
    depth = np.ones((H, W))
    with pytest.raises(ValueError, match="rgb"):
        relight(rgb.astype(np.uint8), depth, K, R_DOWN, [0, 0, -1], [1, 0, -1])
    with pytest.raises(ValueError, match="depth"):
        relight(rgb, np.ones((H, W + 1)), K, R_DOWN, [0, 0, -1], [1, 0, -1])
    with pytest.raises(ValueError, match="new_dir"):
        relight(rgb, depth, K, R_DOWN, [0, 0, -1], [0, 0, 0])
    with pytest.raises(ValueError, match="R_world_camera"):
        relight(rgb, depth, K, 2 * R_DOWN, [0, 0, -1], [1, 0, -1])
    with pytest.raises(ValueError, match="ambient"):
        relight(rgb, depth, K, R_DOWN, [0, 0, -1], [1, 0, -1], ambient=1.5)
    with pytest.raises(ValueError, match="K"):
        normals_from_depth(depth, np.eye(2))
