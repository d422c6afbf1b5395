"""Seeing objects: the silhouette correction of the vision expert's object centres."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.path import Path as Polygon

from benchmark.episodes.env import EnvConfig, TwinEnv
from benchmark.policies.perception import (
    View,
    VisionExpert,
    backproject_to_plane,
    centre_from_mask,
    locate,
    outline_points,
    project,
    seen_region,
)
from benchmark.scenes.authored import reference_twin
from twin.scene.builder import object_half_height
from twin.scene.spec import ObjectSpec
from twin.tabletop import inside_hull
from twin.transforms import intrinsics_from_fovy, look_at_rotation, pose_matrix

CUBE = ObjectSpec("cube", "box", (0.02, 0.02, 0.02))
CAN = ObjectSpec("can", "cylinder", (0.03, 0.05))


def oblique_view(width: int = 320, height: int = 240) -> View:
    """A camera looking down at the table from the side, like the scenes' front cameras."""
    eye = np.array([0.75, -0.55, 0.6])
    pose = pose_matrix(look_at_rotation(eye, np.array([-0.1, 0.0, 0.05])), eye)
    return View("front", intrinsics_from_fovy(50, width, height), pose, width, height)


def silhouette_mask(
    obj: ObjectSpec, centre: np.ndarray, yaw: float, view: View, top_only: bool
) -> np.ndarray:
    """The pixels inside the object's projected outline (seen whole, or its top face alone)."""
    from scipy.spatial import ConvexHull

    uv = project(outline_points(obj, centre, yaw, "top" if top_only else "whole"), view)
    hull = Polygon(uv[ConvexHull(uv).vertices])
    u, v = np.meshgrid(np.arange(view.width) + 0.5, np.arange(view.height) + 0.5)
    return hull.contains_points(np.c_[u.ravel(), v.ravel()]).reshape(view.height, view.width)


def test_inside_hull_of_a_square():
    square = np.array([[0, 0], [2, 0], [2, 2], [0, 2], [1, 1]], dtype=float)  # an inner point too
    pixels = np.array([[1.0, 1.0], [0.5, 1.9], [2.5, 1.0], [-0.1, 0.0]])
    assert inside_hull(square, pixels).tolist() == [True, True, False, False]


@pytest.mark.parametrize("obj", [CUBE, CAN])
def test_outline_points_span_the_objects_extent(obj):
    points = outline_points(obj, np.array([0.1, -0.2, object_half_height(obj)]), 0.0)
    assert np.isclose(points[:, 2].min(), 0.0) and np.isclose(points[:, 2].max(), 2 * object_half_height(obj))
    assert np.allclose(points[:, :2].mean(axis=0), [0.1, -0.2])
    assert np.isclose(points[:, 0].max() - 0.1, obj.size[0])


@pytest.mark.parametrize("obj", [CUBE, CAN])
def test_centre_from_a_whole_silhouette_where_the_top_plane_mean_is_pulled_to_the_camera(obj):
    view = oblique_view()
    h = object_half_height(obj)
    true = np.array([-0.03, 0.09, h])
    v, u = np.nonzero(silhouette_mask(obj, true, 0.3, view, top_only=False))
    pixels = np.c_[u + 0.5, v + 0.5]
    naive = backproject_to_plane(pixels, view, 2 * h)[:, :2].mean(axis=0)
    assert np.linalg.norm(naive - true[:2]) > 0.01  # the sides pull the plain mean off by over 1 cm
    found, reading = centre_from_mask(pixels, view, obj, 0.3, table_z=0.0)
    assert reading == "whole"
    assert np.linalg.norm(found[:2] - true[:2]) < 0.003


@pytest.mark.parametrize("obj", [CUBE, CAN])
def test_centre_from_a_top_face_alone_stays_where_the_top_face_is(obj):
    view = oblique_view()
    h = object_half_height(obj)
    true = np.array([0.05, -0.1, h])
    v, u = np.nonzero(silhouette_mask(obj, true, 0.0, view, top_only=True))
    found, reading = centre_from_mask(np.c_[u + 0.5, v + 0.5], view, obj, 0.0, table_z=0.0)
    assert reading == "top"
    assert np.linalg.norm(found[:2] - true[:2]) < 0.003


def test_centre_from_the_visible_floor_of_a_tray():
    view = oblique_view()
    tray = ObjectSpec("tray", "tray", (0.08, 0.1, 0.025, 0.008))
    true = np.array([0.05, -0.18, 0.025])
    u, v = np.meshgrid(np.arange(view.width) + 0.5, np.arange(view.height) + 0.5)
    pixels = np.c_[u.ravel(), v.ravel()]
    pixels = pixels[seen_region(tray, true, 0.0, "floor", view, pixels)]
    found, reading = centre_from_mask(pixels, view, tray, 0.0, table_z=0.0)
    assert reading == "floor"
    assert np.linalg.norm(found[:2] - true[:2]) < 0.004


def test_locate_with_the_shape_finds_the_cube_and_the_tray_in_a_rendered_reference_world():
    env = TwinEnv(reference_twin("tray_pick"), EnvConfig(image_size=(160, 160)))
    expert = VisionExpert.calibrated(env)
    obs, _ = env.reset(seed=0)
    image = obs["images"][expert.view.name]
    poses = env.scenario.world.object_poses()
    for name in ("red_cube", "blue_tray"):
        obj = expert.objects[name]
        top = expert.table_z + 2 * object_half_height(obj)
        plain, _, _ = locate(image, expert.view, expert.colours[name], top)
        shaped, _, reading = locate(image, expert.view, expert.colours[name], top, obj)
        truth = poses[name].pos[:2]
        assert np.linalg.norm(shaped - truth) < 0.01, (name, plain, shaped, truth)
    env.close()


def test_the_expert_relocates_what_moves_and_keeps_a_zone_where_it_first_saw_it():
    env = TwinEnv(reference_twin("kitchen_clutter", "can_to_zone"), EnvConfig(image_size=(160, 160)))
    expert = VisionExpert.calibrated(env)
    obs, _ = env.reset(seed=0)
    expert.reset()
    expert.observation = obs
    zone, can = expert.task.target, expert.task.object
    assert expert.objects[zone].visual_only and not expert.objects[can].fixed
    first = {name: expert._object_frame(name)[0].copy() for name in (zone, can)}
    # a later image where a big blob of each object's colour shows up in a corner
    image = obs["images"][expert.view.name].copy()
    image[:40, :40] = np.round(expert.colours[zone] * 255).astype(np.uint8)
    image[-40:, -40:] = np.round(expert.colours[can] * 255).astype(np.uint8)
    expert.observation = {**obs, "images": {**obs["images"], expert.view.name: image}}
    assert np.allclose(expert._object_frame(zone)[0], first[zone])
    assert np.linalg.norm(expert._object_frame(can)[0][:2] - first[can][:2]) > 0.1
    env.close()
