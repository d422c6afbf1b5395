"""TSDF fusion: the numba kernel against the numpy reference, and fused surfaces against the truth."""

import numpy as np
import pytest

from twin import tsdf

BOX_LO, BOX_HI = np.array([-0.05, -0.04, 0.0]), np.array([0.05, 0.04, 0.06])  # a box on the plane z = 0


def look_at(eye, target):
    """Camera → world pose, OpenCV axes, z up in the world."""
    eye, target = np.asarray(eye, float), np.asarray(target, float)
    z = (target - eye) / np.linalg.norm(target - eye)
    x = np.cross(z, [0.0, 0.0, 1.0])
    x /= np.linalg.norm(x)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = x, np.cross(z, x), z, eye
    return pose


def render(pose, K, width, height):
    """Depth (along the optical axis) and colour of the plane z = 0 with the box on it."""
    v, u = np.mgrid[0:height, 0:width] + 0.5
    rays_cam = np.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], np.ones_like(u)], axis=-1)
    rays = rays_cam @ pose[:3, :3].T
    eye = pose[:3, 3]
    with np.errstate(divide="ignore", invalid="ignore"):
        t_plane = np.where(rays[..., 2] < 0, -eye[2] / rays[..., 2], np.inf)
        t0, t1 = (BOX_LO - eye) / rays, (BOX_HI - eye) / rays
    near = np.minimum(t0, t1).max(axis=-1)
    far = np.maximum(t0, t1).min(axis=-1)
    hit_box = (near <= far) & (near > 0)
    t = np.where(hit_box, np.minimum(near, t_plane), t_plane)  # t along rays with unit camera z
    depth = np.where(np.isfinite(t), t, 0.0).astype(np.float32)
    rgb = np.where(hit_box[..., None] & (near <= t_plane)[..., None], [200, 40, 30], [120, 110, 90])
    return depth, rgb.astype(np.uint8)


def distance_to_truth(points):
    """Distance from each point to the surface of (plane ∪ box)."""
    inside_xy = np.all((points[:, :2] >= BOX_LO[:2]) & (points[:, :2] <= BOX_HI[:2]), axis=1)
    outside = np.maximum(np.maximum(BOX_LO - points, points - BOX_HI), 0)
    to_box = np.where(
        np.all((points >= BOX_LO) & (points <= BOX_HI), axis=1),
        np.min(np.minimum(points - BOX_LO, BOX_HI - points), axis=1),
        np.linalg.norm(outside, axis=1),
    )
    to_plane = np.where(inside_xy, np.inf, np.abs(points[:, 2]))
    return np.minimum(to_box, to_plane)


@pytest.fixture(scope="module")
def frames():
    width, height = 96, 72
    K = np.array([[90.0, 0, 48.3], [0, 90.0, 35.6], [0, 0, 1]])
    poses = [
        look_at([0.5 * np.cos(a), 0.5 * np.sin(a), 0.35 + 0.05 * np.sin(3 * a)], [0, 0, 0.02])
        for a in np.linspace(-2.6, -0.4, 12)
    ]
    depth, rgb = zip(*(render(p, K, width, height) for p in poses), strict=True)
    return np.stack(depth), np.stack(rgb), K, np.stack(poses)


def test_kernel_matches_reference(frames):
    depth, rgb, K, poses = frames
    rng = np.random.default_rng(1)
    config = tsdf.TSDFConfig(voxel_size=0.01)
    fast = tsdf.new_volume((-0.15, -0.12, -0.04), (0.15, 0.12, 0.1), config)
    slow = tsdf.new_volume((-0.15, -0.12, -0.04), (0.15, 0.12, 0.1), config)
    for t in range(4):
        valid = rng.random(depth[t].shape) > 0.2
        tsdf.integrate(fast, depth[t], rgb[t], K, poses[t], valid, config)
        tsdf.integrate_reference(slow, depth[t], rgb[t], K, poses[t], valid, config)
    assert fast.weight.sum() > 1000 and fast.color_weight.sum() > 100
    # the two differ only where rounding puts a voxel on the other side of a pixel border
    for a, b in [(fast.tsdf, slow.tsdf), (fast.weight, slow.weight), (fast.color, slow.color)]:
        assert np.mean(~np.isclose(a, b, atol=1e-5)) < 1e-3
    np.testing.assert_array_equal(fast.color_weight > 0, slow.color_weight > 0)


def test_fused_plane_and_box_lie_within_a_voxel_of_the_truth(frames):
    depth, rgb, K, poses = frames
    config = tsdf.TSDFConfig(voxel_size=0.004)
    volume = tsdf.fuse(depth, rgb, K, poses, (-0.12, -0.1, -0.02), (0.12, 0.1, 0.09), config=config)
    points, colors = tsdf.surface_points(volume)
    err = distance_to_truth(points)
    assert len(points) > 3000
    assert np.percentile(err, 99) < config.voxel_size
    kept, kept_colors = tsdf.fused_surface(depth, rgb, K, poses, (-0.12, -0.1, -0.02), (0.12, 0.1, 0.09))
    kept_err = distance_to_truth(kept)
    assert len(kept) > 0.9 * len(points)
    assert kept_err.max() < config.voxel_size and np.median(kept_err) < config.voxel_size / 4
    on_box = kept[:, 2] > 0.03
    assert np.all(kept_colors[on_box, 0] > 0.6) and np.all(kept_colors[kept[:, 2] < -0.001, 0] < 0.6)


def test_depth_supported_rejects_points_no_frame_saw(frames):
    depth, rgb, K, poses = frames
    on_plane = np.array([[0.1, 0.08, 0.0], [-0.09, 0.07, 0.0], [0.0, 0.0, 0.06]])
    floating = on_plane + [0, 0, 0.01]
    mask = tsdf.depth_supported(np.vstack([on_plane, floating]), depth, K, poses, tolerance=0.003)
    np.testing.assert_array_equal(mask, [True, True, True, False, False, False])
    nothing_valid = np.zeros(depth.shape, bool)
    assert not tsdf.depth_supported(on_plane, depth, K, poses, valid=nothing_valid).any()


def test_masked_pixels_and_missing_depth_are_ignored(frames):
    depth, rgb, K, poses = frames
    volume = tsdf.new_volume((-0.1, -0.1, -0.02), (0.1, 0.1, 0.08))
    tsdf.integrate(volume, depth[0], rgb[0], K, poses[0], valid=np.zeros(depth[0].shape, bool))
    tsdf.integrate(volume, np.zeros_like(depth[0]), rgb[0], K, poses[0])
    tsdf.integrate(volume, np.full_like(depth[0], np.nan), rgb[0], K, poses[0])
    assert volume.weight.sum() == 0 and np.all(volume.tsdf == 1)


def test_per_frame_intrinsics_and_bad_shapes(frames):
    depth, rgb, K, poses = frames
    a = tsdf.fuse(depth[:2], rgb[:2], K, poses[:2], (-0.1, -0.1, -0.02), (0.1, 0.1, 0.08))
    b = tsdf.fuse(depth[:2], rgb[:2], np.stack([K, K]), poses[:2], (-0.1, -0.1, -0.02), (0.1, 0.1, 0.08))
    np.testing.assert_array_equal(a.tsdf, b.tsdf)
    assert a.shape == (50, 50, 25)
    with pytest.raises(ValueError, match="rgb"):
        tsdf.integrate(a, depth[0], rgb[0, :10], K, poses[0])
    with pytest.raises(ValueError, match="valid"):
        tsdf.integrate(a, depth[0], rgb[0], K, poses[0], valid=np.ones((3, 3), bool))
    with pytest.raises(ValueError, match="lower < upper"):
        tsdf.new_volume((0, 0, 0), (0.1, -0.1, 0.1))
