"""Plane-sweep stereo on a recorded scan with known poses, against the rendered depth."""

from __future__ import annotations

import numpy as np
import pytest

from twin.stereo import StereoConfig, choose_neighbours, depth_maps, plane_sweep_depth


@pytest.fixture(scope="module")
def scan(cube_stack_scan):
    return cube_stack_scan


def _table_mask(depth, K, pose):  # noqa: N803
    """Pixels whose rendered depth lies on the table top (world z = 0, within its 1.2 m footprint)."""
    h, w = depth.shape
    v, u = np.mgrid[0:h, 0:w] + 0.5
    cam = np.stack([(u - K[0, 2]) / K[0, 0] * depth, (v - K[1, 2]) / K[1, 1] * depth, depth], axis=-1)
    world = cam @ pose[:3, :3].T + pose[:3, 3]
    return (depth > 0) & (np.abs(world[..., 2]) < 0.003) & (np.abs(world[..., :2]).max(axis=-1) < 0.6)


def _errors(estimate, truth):
    kept = estimate > 0
    return np.abs(estimate - truth)[kept], kept


def test_plane_sweep_is_accurate_where_it_keeps_depth(scan):
    rgb, depth, K, poses = scan
    ref = 10
    neighbours = choose_neighbours(poses, ref)
    assert len(neighbours) == 4
    est, confidence = plane_sweep_depth(rgb, K, poses, ref, neighbours, (0.3, 5.0))
    assert est.dtype == np.float32 and est.shape == depth.shape[1:]
    err, kept = _errors(est, depth[ref])
    assert np.all(confidence[kept] >= StereoConfig().min_zncc) and np.all(confidence[~kept] == 0)
    assert np.median(err) < 0.01, np.median(err)
    assert np.mean(err > 0.05) < 0.1  # few gross errors (measured: ~4 %)
    assert kept[_table_mask(depth[ref], K, poses[ref])].mean() >= 0.5  # measured: ~70 %


def test_depth_maps_cross_checks_frames(scan):
    rgb, depth, K, poses = scan
    frames = [0, 6, 12, 19]
    checked = depth_maps(rgb, K, poses, frames)
    unchecked = depth_maps(rgb, K, poses, frames, StereoConfig(min_consistent=0))
    assert checked.shape == (4, *depth.shape[1:])
    err, kept = _errors(checked, depth[frames])
    err_all, _ = _errors(unchecked, depth[frames])
    assert np.median(err) < 0.01 and np.mean(err > 0.05) < 0.04, (np.median(err), np.mean(err > 0.05))
    assert np.mean(err > 0.05) < np.mean(err_all > 0.05)  # the cross-check removes outliers
    table = np.stack([_table_mask(depth[f], K, poses[f]) for f in frames])
    assert kept[table].mean() >= 0.5, kept[table].mean()


def test_textureless_frames_give_no_depth(scan):
    _, _, K, poses = scan
    grey = np.full((3, 240, 320, 3), 128, np.uint8)
    est, confidence = plane_sweep_depth(grey, K, poses[[0, 3, 6]], 1, [0, 2], (0.3, 5.0))
    assert not est.any() and not confidence.any()


def test_neighbours_are_near_but_not_too_near(scan):
    poses = scan[3]
    config = StereoConfig(num_neighbours=3, min_baseline=0.1)
    picked = choose_neighbours(poses, 5, config)
    baselines = np.linalg.norm(poses[:, :3, 3] - poses[5, :3, 3], axis=1)
    assert 5 not in picked and len(picked) == 3 and np.all(baselines[picked] >= 0.1)
    others = [i for i in range(len(poses)) if i not in picked and i != 5 and baselines[i] >= 0.1]
    assert baselines[picked].max() <= baselines[others].min()
    assert choose_neighbours(poses, 5, StereoConfig(max_view_angle_deg=1.0)) == []


def test_bad_arguments_are_refused(scan):
    rgb, _, K, poses = scan
    with pytest.raises(ValueError, match="neighbour"):
        plane_sweep_depth(rgb, K, poses, 2, [2], (0.3, 5.0))
    with pytest.raises(ValueError, match="depth_range"):
        plane_sweep_depth(rgb, K, poses, 2, [4], (2.0, 1.0))
