"""Heightfield solids are closed and measure the right volume; convex parts keep concave shapes."""

import numpy as np
import pytest
from scipy.spatial import Delaunay

from twin import meshes

CELL = 0.002


def tray_heights():
    """A 16 × 20 cm tray: 8 mm floor, 5 cm walls 8 mm thick, on a 2 mm grid."""
    h = np.full((80, 100), 0.008)
    h[:4], h[-4:], h[:, :4], h[:, -4:] = 0.05, 0.05, 0.05, 0.05
    return h


TRAY_VOLUME = 0.16 * 0.2 * 0.008 + (0.16 * 0.2 - 0.144 * 0.184) * 0.042


def inside_any(parts, probes):
    return np.array([[Delaunay(v).find_simplex(p) >= 0 for p in probes] for v, _ in parts]).any(axis=0)


def test_box_is_twelve_triangles_with_its_volume():
    h = np.full((20, 15), 0.04)
    v, f = meshes.heightfield_solid(h, CELL, (-0.02, -0.015))
    assert meshes.is_watertight(f) and len(f) == 12
    assert meshes.mesh_volume(v, f) == pytest.approx(0.04 * 0.03 * 0.04, rel=1e-9)
    np.testing.assert_allclose(v.min(axis=0), [-0.02, -0.015, 0.0])
    np.testing.assert_allclose(v.max(axis=0), [0.02, 0.015, 0.04])


def test_tray_stays_concave_and_closed():
    v, f = meshes.heightfield_solid(tray_heights(), CELL, (-0.08, -0.1), smooth=False)
    assert meshes.is_watertight(f)
    assert meshes.mesh_volume(v, f) == pytest.approx(TRAY_VOLUME, rel=1e-9)
    assert len(f) < 200
    smoothed_v, smoothed_f = meshes.heightfield_solid(tray_heights(), CELL, (-0.08, -0.1))
    assert meshes.is_watertight(smoothed_f)
    assert meshes.mesh_volume(smoothed_v, smoothed_f) == pytest.approx(TRAY_VOLUME, rel=0.01)


def test_ragged_heights_with_holes_and_saddles_stay_watertight():
    rng = np.random.default_rng(0)
    h = rng.uniform(-0.01, 0.03, (30, 25))
    h[rng.random(h.shape) < 0.2] = np.nan
    h[:2, :2] = [[0.01, np.nan], [np.nan, 0.02]]  # a diagonal pair: a saddle around their corner
    v, f = meshes.heightfield_solid(h, 0.0025, (0.1, 0.2), smooth=False)
    assert meshes.is_watertight(f)
    levels, base = meshes._levels(h, 0.002)
    expected = np.where(levels > 0, base + levels * 0.002, 0).sum() * 0.0025**2
    assert meshes.mesh_volume(v, f) == pytest.approx(expected, rel=1e-9)
    assert meshes.mesh_volume(v, f) > 0.9 * np.nansum(np.clip(h, 0, None)) * 0.0025**2


def test_noisy_top_is_decimated():
    rng = np.random.default_rng(1)
    cube = 0.04 + rng.normal(0, 0.0007, (16, 16))
    v, f = meshes.heightfield_solid(cube, 0.0025, (0, 0))
    assert meshes.is_watertight(f) and len(f) <= 100
    tray = np.full((64, 80), 0.008)  # the tray on 2.5 mm cells, walls three cells thick, noisy
    tray[:3], tray[-3:], tray[:, :3], tray[:, -3:] = 0.05, 0.05, 0.05, 0.05
    v, f = meshes.heightfield_solid(tray + rng.normal(0, 0.0007, tray.shape), 0.0025, (0, 0))
    assert meshes.is_watertight(f) and len(f) < 3000


def test_empty_and_broken_meshes():
    v, f = meshes.heightfield_solid(np.full((3, 3), np.nan), CELL, (0, 0))
    assert v.shape == (0, 3) and f.shape == (0, 3)
    v, f = meshes.heightfield_solid(np.full((2, 2), 0.01), CELL, (0, 0))
    assert meshes.is_watertight(f)
    assert not meshes.is_watertight(f[1:])  # a hole
    flipped = f.copy()
    flipped[0] = flipped[0, ::-1]
    assert not meshes.is_watertight(flipped)
    assert meshes.mass_from_volume(0.001) == pytest.approx(meshes.DENSITY_PRIOR * 0.001)


def test_convex_parts_of_a_box_is_its_hull():
    v, f = meshes.heightfield_solid(np.full((10, 10), 0.03), CELL, (0, 0))
    parts = meshes.convex_parts(v, f)
    assert len(parts) == 1
    assert meshes.is_watertight(parts[0][1])
    assert meshes.mesh_volume(*parts[0]) == pytest.approx(0.02 * 0.02 * 0.03, rel=1e-9)


def test_convex_parts_of_a_tray_keep_it_hollow():
    v, f = meshes.heightfield_solid(tray_heights(), CELL, (-0.08, -0.1))
    parts = meshes.convex_parts(v, f)
    assert 2 <= len(parts) <= meshes.ConvexConfig().max_convex_hull
    assert all(meshes.is_watertight(pf) for _, pf in parts)
    union = sum(meshes.mesh_volume(*p) for p in parts)  # an upper bound: parts may overlap
    assert TRAY_VOLUME * 0.95 < union < TRAY_VOLUME * 1.25
    cavity = np.array([[0.0, 0.0, 0.03], [0.05, 0.07, 0.03], [-0.05, -0.07, 0.04]])
    material = np.array([[0.0, 0.0, 0.004], [-0.078, 0.0, 0.04], [0.0, 0.098, 0.02]])
    assert not inside_any(parts, cavity).any()
    assert inside_any(parts, material).all()
