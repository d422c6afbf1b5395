"""Zones (flat marks on the table) as splat layers of their own: the split on synthetic splats, and a
block_push twin whose yellow square, moved by a perturbation, is drawn at its new place while its
old place reads as table."""

from __future__ import annotations

import numpy as np
import pytest

from twin.appearance import (
    AppearanceConfig,
    ObjectBox,
    around_zone,
    flat_coloured,
    median_colour,
    on_zone,
    split_splats,
    split_zones,
)
from twin.splats.gaussians import Splats
from twin.transforms import pose_matrix, yaw_quat

TABLE_RGB = np.array([0.55, 0.55, 0.6])
ZONE_RGB = np.array([0.95, 0.85, 0.1])
CONFIG = AppearanceConfig()


def _zone(name="zone", xy=(0.05, -0.03), yaw=0.5, half=(0.04, 0.03), top=0.0) -> ObjectBox:
    from twin.transforms import quat_to_mat

    hz = 0.0008
    return ObjectBox(name, pose_matrix(quat_to_mat(yaw_quat(yaw)), [*xy, top + hz]), np.array([*half, hz]))


def _body_xy(points, box: ObjectBox) -> np.ndarray:
    return ((points - box.pose[:3, 3]) @ box.pose[:3, :3])[:, :2]


def _table_with_zone(box: ObjectBox, seed: int = 0, spacing: float = 0.004):
    """Table splats on a grid (z within ±1 mm of 0, greyish), yellow where they lie on ``box``'s
    footprint; returns the splats and which of them are on the zone."""
    rng = np.random.default_rng(seed)
    g = np.arange(-0.2, 0.2, spacing)
    xy = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    points = np.c_[xy, rng.uniform(-0.001, 0.001, len(xy))]
    inside = np.all(np.abs(_body_xy(points, box)) <= box.half_extents[:2], axis=1)
    colours = np.where(inside[:, None], ZONE_RGB, TABLE_RGB) + rng.normal(0, 0.02, (len(xy), 3))
    splats = Splats.from_points(points, colours, 0.003, opacity=0.9, sh_degree=1)
    sh = splats.sh.copy()
    sh[:, 1:] = rng.normal(0, 0.1, sh[:, 1:].shape)  # some view-dependent colour, as a fit leaves
    return Splats(splats.means, splats.quats, splats.log_scales, splats.opacity_logits, sh), inside


# -- the pure functions ------------------------------------------------------------------------------
def test_on_zone_takes_the_footprint_in_a_thin_band_about_the_table():
    box = _zone()
    body = np.array(
        [
            [0.0, 0.0, 0.0],  # centre, on the table
            [0.04 + 0.002, 0.0, 0.0],  # just outside the footprint, inside the margin
            [0.04 + 0.006, 0.0, 0.0],  # outside the margin
            [0.0, 0.03 + 0.002, 0.004],  # margin, 4 mm above the table
            [0.0, 0.0, 0.012],  # above the band (a solid standing on the zone)
            [0.0, 0.0, -0.012],  # below the band (under the table top)
            [0.03, -0.02, -0.006],  # inside, within the band's lower half
        ]
    )
    world = (body + [0, 0, -box.half_extents[2]]) @ box.pose[:3, :3].T + box.pose[:3, 3]
    mask = on_zone(world, box, margin=0.003, band=0.015)
    assert mask.tolist() == [True, True, False, True, False, False, True]
    ring = around_zone(world, box, inner=0.005, width=0.02, band=0.015)
    assert ring.tolist() == [False, False, True, False, False, False, False]


def test_flat_coloured_and_median_colour():
    splats, _ = _table_with_zone(_zone())
    flat = flat_coloured(splats, [0.2, 0.4, 0.6])
    assert np.allclose(flat.base_colors, [0.2, 0.4, 0.6], atol=1e-6)
    assert not flat.sh[:, 1:].any() and splats.sh[:, 1:].any()
    assert np.array_equal(flat.means, splats.means) and np.array_equal(
        flat.opacity_logits, splats.opacity_logits
    )
    assert median_colour(splats.subset(np.array([], dtype=int))) is None
    assert np.allclose(median_colour(flat), [0.2, 0.4, 0.6], atol=1e-6)


def test_split_zones_moves_the_mark_and_leaves_table_coloured_copies():
    box = _zone()
    splats, inside = _table_with_zone(box)
    background, zones = split_zones(splats, [box], CONFIG)
    taken = on_zone(splats.means, box, CONFIG.zone_margin, CONFIG.zone_band)
    mark = zones["zone"]
    assert len(mark) == taken.sum() and taken.sum() >= inside.sum() > 50
    # the mark is in the body frame, lifted along +z: posed back, it sits zone_lift above where it was
    world = mark.means @ box.pose[:3, :3].T + box.pose[:3, 3]
    assert np.allclose(world, splats.means[taken] + [0, 0, CONFIG.zone_lift], atol=1e-6)
    assert np.all(np.abs(mark.means[:, :2]) <= box.half_extents[:2] + CONFIG.zone_margin + 1e-6)
    assert np.allclose(median_colour(mark), ZONE_RGB, atol=0.05)
    # the background: untouched splats bit for bit, then one table-coloured copy per taken splat
    assert len(background) == len(splats)
    kept = int((~taken).sum())
    assert np.array_equal(background.means[:kept], splats.means[~taken])
    assert np.array_equal(background.sh[:kept], splats.sh[~taken])
    fill = background.subset(np.arange(kept, len(background)))
    assert np.array_equal(fill.means, splats.means[taken])
    assert np.array_equal(fill.opacity_logits, splats.opacity_logits[taken])
    assert np.allclose(fill.base_colors, TABLE_RGB, atol=0.02) and not fill.sh[:, 1:].any()


def test_solids_split_first_keep_their_splats_off_the_zone():
    """A block standing on the zone: its splats (even those within the zone's band) stay the block's."""
    box = _zone()
    table, _ = _table_with_zone(box)
    rng = np.random.default_rng(1)
    block_pts = np.c_[rng.uniform(-0.02, 0.02, (300, 2)) + [0.05, -0.03], rng.uniform(0.003, 0.04, 300)]
    block = Splats.from_points(block_pts, np.tile([0.1, 0.7, 0.2], (300, 1)), 0.003, sh_degree=1)
    solid = ObjectBox("block", pose_matrix(np.eye(3), [0.05, -0.03, 0.02]), np.array([0.02, 0.02, 0.02]))
    rest, objects = split_splats(Splats.concat([table, block]), [solid], CONFIG.object_margin)
    assert len(objects["block"]) >= 300
    background, zones = split_zones(rest, [box], CONFIG)
    assert np.allclose(median_colour(zones["zone"]), ZONE_RGB, atol=0.05)
    assert not np.any(np.all(np.isclose(zones["zone"].base_colors, [0.1, 0.7, 0.2], atol=0.01), axis=1))


def test_overlapping_zones_first_wins_and_both_leave_table_coloured_copies():
    a = _zone("a", xy=(-0.05, 0.0), yaw=0.0, half=(0.04, 0.04))
    b = _zone("b", xy=(0.03, 0.0), yaw=0.0, half=(0.04, 0.04))  # its margin overlaps a's, its body a's ring
    splats, _ = _table_with_zone(a)
    on_b = np.all(np.abs(_body_xy(splats.means, b)) <= b.half_extents[:2], axis=1)
    splats = Splats.concat(
        [splats.subset(np.flatnonzero(~on_b)), flat_coloured(splats.subset(on_b), [0.9, 0.1, 0.1])]
    )
    background, zones = split_zones(splats, [a, b], CONFIG)
    mine_a, mine_b = (on_zone(splats.means, z, CONFIG.zone_margin, CONFIG.zone_band) for z in (a, b))
    assert (mine_a & mine_b).any()
    assert len(zones["a"]) == mine_a.sum() and len(zones["b"]) == (mine_b & ~mine_a).sum()
    assert len(background) == len(splats)
    fill = background.subset(np.arange(len(background) - len(zones["a"]) - len(zones["b"]), len(background)))
    assert np.allclose(fill.base_colors, TABLE_RGB, atol=0.03)  # neither yellow nor red


def test_a_zone_without_table_around_it_still_gets_a_table_colour():
    box = _zone(half=(0.04, 0.03))
    splats, _ = _table_with_zone(box)
    local = _body_xy(splats.means, box)
    reach = np.max(np.abs(local) - box.half_extents[:2], axis=1)
    keep = np.flatnonzero((reach <= CONFIG.zone_margin) | (reach > 0.05))  # a bare ring around it
    background, zones = split_zones(splats.subset(keep), [box], CONFIG)
    fill = background.subset(np.arange(len(background) - len(zones["zone"]), len(background)))
    assert len(fill) and np.allclose(fill.base_colors, TABLE_RGB, atol=0.03)


def test_no_zones_leaves_the_background_alone():
    splats, _ = _table_with_zone(_zone())
    background, zones = split_zones(splats, [], CONFIG)
    assert zones == {} and np.array_equal(background.sh, splats.sh) and len(background) == len(splats)


def test_marks_are_laid_on_the_background_despite_its_depth_noise():
    """A mark a few centimetres behind the background's (noisy) depth is drawn over it; one far
    behind it (background standing in front) is not; empty mark pixels show the background."""
    from twin.scene.render import MARK_TOLERANCE, marks_on

    shape = (1, 4)
    background = (np.full((*shape, 3), 0.5), np.full(shape, 1.0), np.ones(shape))
    behind = np.array([[0.9, 1.0 + 0.6 * MARK_TOLERANCE, 1.0 + 2 * MARK_TOLERANCE, 1.0]])
    marks = (np.tile([1.0, 1.0, 0.0], (*shape, 1)), behind, np.array([[1.0, 1.0, 1.0, 0.0]]))
    rgb, depth, alpha = marks_on(background, marks)
    assert np.allclose(rgb[0, :2], [1.0, 1.0, 0.0]) and np.allclose(rgb[0, 2:], 0.5)
    assert np.allclose(depth[0], [0.9, behind[0, 1], 1.0, 1.0]) and np.allclose(alpha, 1.0)


# -- a block_push twin ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def block_push(tmp_path_factory):
    """(demonstration, twin folder): block_push recorded with a 12-frame scan, built quickly."""
    from benchmark.scenes.recording import RecordConfig, record
    from benchmark.scenes.registry import load_scene
    from twin.build import BuildConfig, build_twin

    root = tmp_path_factory.mktemp("zone_twin")
    record(load_scene("block_push"), root / "demo", episodes=1, seed=3, config=RecordConfig(scan_frames=12))
    demo = root / "demo" / "episode_000000"
    config = BuildConfig(max_scan_frames=12, appearance=AppearanceConfig(steps=30))
    build_twin(demo, root / "twin", config)
    return demo, root / "twin"


def _zone_of(twin):
    return next(o for o in twin.objects if o.kind == "zone")


def footprint_mask(K, T_world_camera, pose, half_xy, size, shrink=0.7) -> np.ndarray:  # noqa: N803
    """Pixels of a ``width×height`` image inside the projected table-level footprint (shrunk by
    ``shrink`` about its centre) of a zone at ``pose`` (4×4)."""
    from PIL import Image, ImageDraw

    hx, hy = np.asarray(half_xy) * shrink
    corners = (
        np.array([[-hx, -hy, 0], [hx, -hy, 0], [hx, hy, 0], [-hx, hy, 0]]) @ pose[:3, :3].T + pose[:3, 3]
    )
    cam = (corners - T_world_camera[:3, 3]) @ T_world_camera[:3, :3]
    uv = cam @ np.asarray(K).T
    uv = uv[:, :2] / uv[:, 2:]
    image = Image.new("L", size, 0)
    ImageDraw.Draw(image).polygon([tuple(p) for p in uv], fill=1)
    return np.asarray(image, dtype=bool)


def ring_mask(K, T_world_camera, pose, half_xy, size) -> np.ndarray:  # noqa: N803
    """Pixels of the table just around a zone's footprint (between 1.3× and 1.7× its half extents)."""
    outer = footprint_mask(K, T_world_camera, pose, half_xy, size, shrink=1.7)
    return outer & ~footprint_mask(K, T_world_camera, pose, half_xy, size, shrink=1.3)


def test_a_built_twin_gives_its_zone_a_splat_layer(block_push):
    from benchmark.scenes.twins import check_package
    from twin.package import read_twin
    from twin.splats.ply import read_ply

    _, folder = block_push
    twin = read_twin(folder)
    zone = _zone_of(twin)
    assert zone.splats == f"objects/{zone.name}.ply" and zone.mesh is None
    mark = read_ply(folder / zone.splats)
    assert len(mark) > 20
    assert np.all(np.abs(mark.means[:, :2]) <= zone.half_extents[:2] + CONFIG.zone_margin + 1e-6)
    assert median_colour(mark)[2] < 0.5 < median_colour(mark)[1]  # yellow: red and green high, blue low
    assert check_package(folder) == []


def test_moving_the_zone_moves_its_mark_and_leaves_table_behind(block_push):
    """object_placement moves the zone: its colour is seen at the new place, table at the old one."""
    from benchmark.episodes.env import EnvConfig, TwinEnv
    from twin.package import read_twin
    from twin.transforms import quat_to_mat

    _, folder = block_push
    twin = read_twin(folder)
    zone = _zone_of(twin)
    cam_name, cam = next(iter(twin.calibration["cameras"].items()))
    size = (int(cam["width"]), int(cam["height"]))
    still = TwinEnv(twin, EnvConfig(image_size=size))
    still.reset(seed=0)
    before, _ = still.scenario.renderer.render(cam_name, *size)
    K, T = still.scenario.world.camera_view(cam_name, *size)  # noqa: N806
    still.close()
    old_pose = pose_matrix(quat_to_mat(zone.quat), zone.pos)
    moved = TwinEnv(twin, EnvConfig(image_size=size, perturbations=("object_placement=1.0",)))
    moved.reset(seed=1)
    offset = moved.scenario.edits.object_offset[zone.name]
    assert np.any(np.abs(offset) > 2 * zone.half_extents[:2] + 0.01)  # the footprints do not overlap
    after, _ = moved.scenario.renderer.render(cam_name, *size)
    p = moved.scenario.world.object_poses()[zone.name]
    new_pose = pose_matrix(quat_to_mat(p.quat), p.pos)
    assert np.allclose(new_pose[:2, 3], old_pose[:2, 3] + offset, atol=1e-6)
    moved.close()

    def median(image, mask):
        assert mask.sum() > 30
        return np.median(image[mask].astype(float), axis=0)

    old_spot = footprint_mask(K, T, old_pose, zone.half_extents[:2], size)
    new_spot = footprint_mask(K, T, new_pose, zone.half_extents[:2], size)
    zone_colour = median(before, old_spot)
    table_colour = median(before, ring_mask(K, T, old_pose, zone.half_extents[:2], size))
    contrast = np.linalg.norm(zone_colour - table_colour)
    assert contrast > 80 and zone_colour[2] < 100  # the twin shows a yellow square on a grey table
    old_now, new_now = median(after, old_spot), median(after, new_spot)
    assert np.linalg.norm(old_now - table_colour) < 0.25 * contrast, (old_now, table_colour)
    assert old_now.min() > 0.5 * table_colour.min()  # table, not a dark hole
    assert np.linalg.norm(new_now - zone_colour) < 0.25 * contrast, (new_now, zone_colour)

    def share_nearer(image, mask, colour, other):  # the share of pixels nearer ``colour`` than ``other``
        px = image[mask].astype(float)
        return np.mean(np.linalg.norm(px - colour, axis=1) < np.linalg.norm(px - other, axis=1))

    assert share_nearer(after, new_spot, zone_colour, table_colour) > 0.95  # the whole mark is drawn
    assert share_nearer(after, old_spot, table_colour, zone_colour) > 0.95


def test_edit_splats_recolours_a_zone_mark_not_with_the_table(block_push):
    """An object_colour edit recolours the zone's mark; a table_colour edit leaves the mark alone
    and recolours the table-coloured copy under it."""
    from benchmark.perturbations.axes import Edits
    from benchmark.perturbations.scene import edit_splats
    from twin.package import read_twin
    from twin.scene.render import twin_splats
    from twin.scene.twin_world import twin_scene

    _, folder = block_push
    twin = read_twin(folder)
    zone = _zone_of(twin)
    background, objects = twin_splats(twin)
    scene = twin_scene(twin)
    red = np.array([0.9, 0.1, 0.1])
    _, recoloured = edit_splats(
        background, objects, scene, Edits(object_colour={zone.name: (red, 1.0)}), twin.manifest["table"]
    )
    assert np.allclose(recoloured[zone.name].base_colors, red, atol=1e-4)
    blue = np.array([0.1, 0.2, 0.9])
    table_edit = Edits(table_colour=(blue, 1.0))
    new_background, same = edit_splats(background, objects, scene, table_edit, twin.manifest["table"])
    assert np.array_equal(same[zone.name].sh, objects[zone.name].sh)
    n = len(objects[zone.name])
    assert np.allclose(new_background.base_colors[-n:], blue, atol=1e-4)  # the copies are table


def test_geometry_hybrid_keeps_the_zone_mark_where_it_was_seen(block_push, tmp_path):
    """The ablation's geometry hybrid re-expresses the zone's splats in the reference zone's frame:
    posed at the new body pose, they land where the twin drew them."""
    from benchmark.scenes.twins import check_package
    from benchmark.validity.ablation import hybrid_package
    from benchmark.validity.sources import reference_source
    from benchmark.validity.study import reference_world
    from twin.package import read_twin
    from twin.splats.ply import read_ply
    from twin.transforms import quat_to_mat

    demo, folder = block_push
    reference = reference_world(demo, reference_source("block_push"), tmp_path / "reference")
    hybrid = hybrid_package("geometry", folder, reference, tmp_path / "geometry")
    assert check_package(hybrid) == []
    tw, hy = _zone_of(read_twin(folder)), _zone_of(read_twin(hybrid))
    ref = _zone_of(read_twin(reference))
    assert np.allclose(hy.pos, ref.pos) and hy.splats == tw.splats

    def world(pkg, obj):
        means = read_ply(pkg / obj.splats).means.astype(float)
        return means @ quat_to_mat(obj.quat).T + obj.pos

    assert np.allclose(world(hybrid, hy), world(folder, tw), atol=1e-5)
    look = read_twin(hybrid_package("appearance", folder, reference, tmp_path / "appearance"))
    assert _zone_of(look).splats is None and not (look.root / tw.splats).exists()
