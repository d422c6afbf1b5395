"""Table and object finding: synthetic point clouds with known answers, then recorded scans."""

import numpy as np
import pytest

from twin import tabletop as tt
from twin import tsdf
from twin.demonstration import read_demonstration, read_ground_truth

ROBOT = ((-0.55, 0.0, 0.2),)  # the Panda's base area in the reference scenes
BOX = ((-0.6, -0.5, -0.03), (0.6, 0.5, 0.3))


def rotate(xy, yaw):
    c, s = np.cos(yaw), np.sin(yaw)
    return xy @ np.array([[c, s], [-s, c]])


def synthetic_scene(rng, box=True, zone=True, shadow=True, table_z=0.012):
    """A checkered table (4 cm squares, two greys) sampled every 2 mm, optionally with a box
    (half extents 3 × 2 × 2.5 cm, yaw 0.3, at (0.1, 0.05)), a yellow 10 cm square patch (yaw 0.2,
    at (-0.15, -0.1)) and a dark shadow beside the box."""
    g = np.arange(-0.4, 0.4, 0.002)
    xy = np.stack(np.meshgrid(g, g[g < 0.3][g[g < 0.3] >= -0.3], indexing="ij"), -1).reshape(-1, 2)
    xy = xy + rng.uniform(-0.0005, 0.0005, xy.shape)
    checker = (np.floor(xy[:, 0] / 0.04) + np.floor(xy[:, 1] / 0.04)) % 2 == 0
    colors = np.where(checker[:, None], [0.72, 0.72, 0.70], [0.55, 0.56, 0.58])
    box_local = rotate(xy - [0.1, 0.05], -0.3)
    under_box = np.all(np.abs(box_local) <= [0.03, 0.02], axis=1)
    if zone:
        in_zone = np.all(np.abs(rotate(xy - [-0.15, -0.1], -0.2)) <= 0.05, axis=1)
        colors[in_zone] = [0.95, 0.82, 0.15]
    if shadow:
        colors[(box_local[:, 0] > 0.03) & (box_local[:, 0] < 0.1) & (np.abs(box_local[:, 1]) < 0.04)] *= 0.6
    points = np.column_stack([xy, np.full(len(xy), table_z)])
    parts, part_colors = [points[~under_box] if box else points], [colors[~under_box] if box else colors]
    if box:
        t = np.arange(-1, 1.0001, 0.05)
        top = np.stack(np.meshgrid(t * 0.03, t * 0.02, indexing="ij"), -1).reshape(-1, 2)
        z = np.arange(0, 0.0501, 0.002)
        sides = [np.column_stack([np.full(len(t), sx) * 0.03, t * 0.02]) for sx in (-1, 1)]
        sides += [np.column_stack([t * 0.03, np.full(len(t), sy) * 0.02]) for sy in (-1, 1)]
        ring = np.vstack(sides)
        wall = np.column_stack([np.repeat(ring, len(z), axis=0), np.tile(z, len(ring))])
        solid = np.vstack([np.column_stack([top, np.full(len(top), 0.05)]), wall])
        solid[:, :2] = rotate(solid[:, :2], 0.3) + [0.1, 0.05]
        solid[:, 2] += table_z
        parts.append(solid)
        part_colors.append(np.tile([0.85, 0.15, 0.12], (len(solid), 1)))
    colors = np.clip(np.vstack(part_colors) + rng.normal(0, 0.015, (sum(map(len, parts)), 3)), 0, 1)
    return np.vstack(parts), colors


def detect(points, colors, config=tt.TabletopConfig(), seed=0):  # noqa: B008
    table = tt.find_table(points, colors, config, np.random.default_rng(seed))
    heights = tt.height_map(points, colors, table, config.cell, config)
    return table, tt.detect_objects(heights, table, points, colors, config)


def test_min_area_rectangle_recovers_a_rotated_rectangle():
    rng = np.random.default_rng(0)
    for yaw in (0.0, 0.3, -0.7, 1.2):
        local = rng.uniform(-1, 1, (400, 2)) * [0.05, 0.02]
        local[:4] = [[0.05, 0.02], [-0.05, 0.02], [0.05, -0.02], [-0.05, -0.02]]
        centre, half, got = tt.min_area_rectangle(rotate(local, yaw) + [0.3, -0.2])
        np.testing.assert_allclose(centre, [0.3, -0.2], atol=1e-9)
        assert -np.pi / 4 < got <= np.pi / 4
        turns = (got - yaw) / (np.pi / 2)
        assert abs(turns - round(turns)) < 1e-6
        expected = [0.05, 0.02] if round(turns) % 2 == 0 else [0.02, 0.05]
        np.testing.assert_allclose(half, expected, atol=1e-9)


def test_synthetic_table_box_and_zone():
    points, colors = synthetic_scene(np.random.default_rng(0))
    table, found = detect(points, colors)
    assert abs(table.height - 0.012) < 1e-3
    np.testing.assert_allclose(table.half_extents_xy, [0.4, 0.3], atol=0.01)
    assert [o.kind for o in found] == ["zone", "solid"]  # sorted by x
    zone, box = found
    np.testing.assert_allclose(box.center, [0.1, 0.05, 0.012 + 0.025], atol=0.002)
    np.testing.assert_allclose(np.sort(box.half_extents[:2]), [0.02, 0.03], rtol=0.05)
    assert abs(box.half_extents[2] - 0.025) < 0.001
    assert abs(np.sin(2 * (box.yaw - 0.3))) < 0.05  # a rectangle's heading, modulo a half turn
    np.testing.assert_allclose(box.color, [0.85, 0.15, 0.12], atol=0.05)
    assert box.heights is not None and np.nanmax(box.heights) == pytest.approx(0.05, abs=0.002)
    np.testing.assert_allclose(zone.center[:2], [-0.15, -0.1], atol=0.003)
    np.testing.assert_allclose(zone.half_extents[:2], [0.05, 0.05], rtol=0.06)
    assert zone.center[2] == pytest.approx(0.012 + zone.half_extents[2], abs=1e-3)
    assert zone.color[2] < 0.4 and zone.color[0] > 0.8


@pytest.mark.parametrize("shadow", [False, True])
def test_checker_table_and_shadows_raise_no_zone(shadow):
    points, colors = synthetic_scene(np.random.default_rng(1), box=shadow, zone=False, shadow=shadow)
    _, found = detect(points, colors)
    assert [o.kind for o in found] == (["solid"] if shadow else [])


def _flat(rng, centre, half, z, n):
    xy = rng.uniform(-1, 1, (n, 2)) * half + centre
    return np.column_stack([xy, np.full(n, z) + rng.normal(0, 0.0005, n)])


def test_the_table_is_not_the_floor_or_a_box_top():
    """A big floor 0.8 m below the table (seen around the legs, three times the table's area) and
    a wide box top above it: the table is the plane at the robot's mount, and without a mount the
    highest plane of a table's size, never the largest one."""
    rng = np.random.default_rng(3)
    table_z = 0.8
    floor = _flat(rng, [0.0, 0.0], [1.2, 1.0], 0.0, 60000)
    floor = floor[(np.abs(floor[:, 0]) > 0.55) | (np.abs(floor[:, 1]) > 0.45)]  # under the table: unseen
    table = _flat(rng, [0.05, 0.0], [0.5, 0.4], table_z, 16000)
    box_top = _flat(rng, [0.2, 0.1], [0.11, 0.11], table_z + 0.12, 2000)
    points = np.vstack([floor, table, box_top])
    colors = np.full_like(points, 0.5)
    for config in (tt.TabletopConfig(mount_z=table_z + 0.02), tt.TabletopConfig()):
        found = tt.find_table(points, colors, config, np.random.default_rng(0))
        assert found.height == pytest.approx(table_z, abs=2e-3)
        np.testing.assert_allclose(found.half_extents_xy, [0.5, 0.4], atol=0.02)
    # a robot on a pedestal level with the floor: the mount picks the floor's height band
    found = tt.find_table(points, colors, tt.TabletopConfig(mount_z=0.05), np.random.default_rng(0))
    assert found.height == pytest.approx(0.0, abs=2e-3)


def test_no_table_in_view_raises():
    rng = np.random.default_rng(2)
    wall = np.column_stack([rng.uniform(-0.5, 0.5, 5000), np.zeros(5000), rng.uniform(0, 0.6, 5000)])
    with pytest.raises(tt.TabletopError, match="out of view"):
        tt.find_table(wall, np.zeros_like(wall), rng=rng)
    patch = np.column_stack([rng.uniform(0, 0.1, 500), rng.uniform(0, 0.1, 500), np.zeros(500)])
    with pytest.raises(tt.TabletopError, match="out of view"):
        tt.find_table(patch, np.zeros_like(patch), rng=rng)


def truth_box(obj):
    """Half extents of the ground-truth footprint box and half height (zones: footprint only)."""
    s, shape = obj["size"], obj["shape"]
    if shape in ("box", "tray"):
        return np.array(s[:3])
    if shape == "cylinder":
        return np.array([s[0], s[0], s[1]])
    if shape == "sphere":
        return np.array([s[0]] * 3)
    return np.array([s[0], s[0] * np.cos(np.pi / s[2]), s[1]])  # prism: the hexagon's bounding box


def check_scan(folder, config=tt.TabletopConfig(exclude_xy=ROBOT)):  # noqa: B008
    demo = read_demonstration(folder)
    truth = read_ground_truth(folder)
    cam = demo.primary
    start, end = demo.segments["scan"]
    poses = np.stack([cam.pose(i) for i in range(start, end)])
    points, colors = tsdf.fused_surface(cam.depth[start:end], cam.rgb[start:end], cam.K, poses, *BOX)
    table, found = detect(points, colors, config)
    assert abs(table.height) < 0.003
    for obj in truth["objects"]["scene"]["objects"]:
        pose = truth["arrays"][obj["name"]][0]
        match = min(found, key=lambda o: np.linalg.norm(o.center[:2] - pose[:2]))
        expected = truth_box(obj)
        zone = obj.get("visual_only", False)
        assert match.kind == ("zone" if zone else "solid"), obj["name"]
        assert np.linalg.norm(match.center - [*pose[:2], table.height + expected[2]]) < 0.01, obj["name"]
        np.testing.assert_allclose(np.sort(match.half_extents[:2]), np.sort(expected[:2]), rtol=0.1)
        if not zone:
            assert match.half_extents[2] == pytest.approx(expected[2], rel=0.1), obj["name"]
    assert len(found) == len(truth["objects"]["scene"]["objects"])


def test_recorded_tray_pick_scan(recorded_demo):
    check_scan(recorded_demo)


@pytest.fixture(scope="module")
def kitchen_scan(tmp_path_factory):
    from benchmark.scenes.recording import RecordConfig, record
    from benchmark.scenes.registry import load_scene

    out = tmp_path_factory.mktemp("kitchen") / "demo"
    record(load_scene("kitchen_clutter"), out, episodes=1, seed=3, config=RecordConfig(scan_frames=12))
    return out / "episode_000000"


def test_recorded_kitchen_clutter_scan_with_plate_hexagon_and_zone(kitchen_scan):
    check_scan(kitchen_scan)
