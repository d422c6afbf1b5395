"""No ghost where a solid stood: a background's footprint under and around a solid turns to table
(twin.footprints), on made-up splats, and the metric that measures it (twin.fidelity.ghost_level)."""

from __future__ import annotations

import numpy as np

from twin.appearance import ObjectBox
from twin.fidelity import ghost_level
from twin.footprints import clear_footprints
from twin.splats.edits import splat_colours
from twin.splats.gaussians import Splats

TABLE = np.array([0.6, 0.5, 0.4])


def _scene():
    """A 60 × 60 cm table of splats 5 mm apart (a hole where a 4 cm cube stands at the origin),
    the cube's green sides standing beside it, its dark contact shadow, a shadow cast 6 cm off
    and specks of floor under the table."""
    rng = np.random.default_rng(0)
    g = np.arange(-0.3, 0.3, 0.005)
    xy = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    table = xy[np.abs(xy).max(axis=1) > 0.02]
    colours = np.clip(TABLE + rng.normal(0, 0.02, (len(table), 3)), 0, 1)
    shadow = (np.abs(table[:, 0] - 0.06) < 0.015) & (np.abs(table[:, 1]) < 0.015)
    contact = np.abs(table).max(axis=1) < 0.03
    colours[shadow | contact] *= 0.4
    sides = np.c_[rng.uniform(-0.027, 0.027, (200, 2)), rng.uniform(0.0, 0.04, 200)]
    floor = np.c_[rng.uniform(-0.08, 0.08, (50, 2)), np.full(50, -0.7)]
    points = np.vstack([np.c_[table, np.zeros(len(table))], sides, floor])
    rgb = np.vstack([colours, np.tile([0.1, 0.7, 0.2], (200, 1)), np.tile([0.05, 0.05, 0.05], (50, 1))])
    return Splats.from_points(points, rgb, 0.004, opacity=0.9), shadow


def test_a_footprint_is_tiled_with_table_and_shadows_and_specks_go():
    background, _ = _scene()
    cube = ObjectBox(
        "cube",
        np.eye(4) @ np.diag([1, 1, 1, 1.0]) + np.c_[np.zeros((4, 3)), [0, 0, 0.02, 0]],
        np.full(3, 0.02),
    )
    cleared = clear_footprints(background, [cube])
    colours, means = splat_colours(cleared), cleared.means
    near = np.abs(means[:, :2]).max(axis=1) < 0.035
    assert near.sum() > 150  # the footprint and its margin are covered again
    assert np.all(means[near, 2] < 0.01)  # no side remnant stands there
    assert np.abs(colours[near].mean(axis=0) - TABLE).max() < 0.05  # table-coloured, not green or dark
    assert means[:, 2].min() > -0.1  # the floor specks under the table near it are gone
    cast = (np.abs(means[:, 0] - 0.06) < 0.015) & (np.abs(means[:, 1]) < 0.015)
    assert colours[cast].mean() > 0.8 * TABLE.mean()  # the cast shadow took lit table colours
    far = np.abs(means[:, :2]).min(axis=1) > 0.15
    before = np.abs(background.means[:, :2]).min(axis=1) > 0.15
    assert far.sum() == before.sum()  # the table away from the solid is untouched
    assert clear_footprints(background, []) is background
    again = clear_footprints(background, [cube])
    assert np.array_equal(again.means, cleared.means)  # seeded: the same background every build


def test_ghost_level_is_the_colour_step_between_footprint_and_ring():
    image = np.full((20, 20, 3), 120, np.uint8)
    footprint = np.zeros((20, 20), bool)
    footprint[8:12, 8:12] = True
    ring = np.zeros((20, 20), bool)
    ring[4:16, 4:16] = True
    ring &= ~footprint
    assert ghost_level(image, footprint, ring) == 0.0
    image[footprint] = (60, 150, 60)  # a green smudge
    assert ghost_level(image, footprint, ring) == 50.0  # (60 + 30 + 60) / 3
    assert np.isnan(ghost_level(image, footprint, np.zeros_like(ring)))
