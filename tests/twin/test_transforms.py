"""Rigid transforms and cameras: round trips, and projection that matches MuJoCo's rendering."""

import numpy as np
import pytest

from twin.transforms import (
    axis_angle_to_mat,
    look_at_rotation,
    mat_to_axis_angle,
    mat_to_quat,
    quat_to_mat,
    quat_yaw,
    yaw_quat,
)


def test_quaternion_and_axis_angle_round_trips():
    rng = np.random.default_rng(1)
    for _ in range(50):
        v = rng.normal(size=3)
        v *= rng.uniform(0.01, 3.0) / np.linalg.norm(v)
        m = axis_angle_to_mat(v)
        np.testing.assert_allclose(m @ m.T, np.eye(3), atol=1e-12)
        np.testing.assert_allclose(quat_to_mat(mat_to_quat(m)), m, atol=1e-10)
        np.testing.assert_allclose(mat_to_axis_angle(m), v, atol=1e-9)
    assert quat_yaw(yaw_quat(0.7)) == pytest.approx(0.7)


def test_look_at_points_the_optical_axis_at_the_target():
    eye, target = np.array([0.7, -0.5, 0.6]), np.array([-0.1, 0.0, 0.05])
    rot = look_at_rotation(eye, target)
    forward = (target - eye) / np.linalg.norm(target - eye)
    np.testing.assert_allclose(rot[:, 2], forward, atol=1e-12)
    assert rot[2, 1] < 0  # image "down" points down in the world


def test_rendered_depth_and_pixels_agree_with_K_and_pose():
    """Unproject a rendered depth pixel with K and T_world_camera: it lands on the table top."""
    from benchmark.scenes.registry import load_scene
    from twin.scene.world import World

    with World(load_scene("block_push")) as world:
        world.reset(0)
        frame = world.render("front", 320, 240, depth=True)
        # The green block's top centre, projected into the image, must be green.
        block = world.object_poses()["green_block"].pos + [0, 0, 0.02]
        T_cw = np.linalg.inv(frame.T_world_camera)
        p = T_cw[:3, :3] @ block + T_cw[:3, 3]
        u, v = (frame.K @ (p / p[2]))[:2]
        r, g, b = frame.rgb[int(round(v)), int(round(u))].astype(int)
        assert g > r + 30 and g > b + 30
        assert frame.depth[int(round(v)), int(round(u))] == pytest.approx(p[2], abs=0.01)
        # A pixel on the bare table unprojects to z = 0.
        ys, xs = np.mgrid[200:240:8, 20:60:8]
        for y, x in zip(ys.ravel(), xs.ravel(), strict=True):
            ray = np.linalg.inv(frame.K) @ [x + 0.5, y + 0.5, 1.0]
            world_point = (
                frame.T_world_camera[:3, :3] @ (ray * frame.depth[y, x]) + frame.T_world_camera[:3, 3]
            )
            assert world_point[2] == pytest.approx(0.0, abs=0.01)
