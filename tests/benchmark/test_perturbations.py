"""Perturbation axes: level 0 is the unperturbed scenario, level 1 changes it measurably (one
test per axis, in pixels or in model parameters), axes compose, and the CLI lists them."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from benchmark.episodes.env import EnvConfig, TwinEnv
from benchmark.perturbations.axes import AXES, Perturbation, axis_table, sample_edits
from benchmark.scenes.authored import reference_twin

SIZE = (96, 96)


def _first(twin, *perturbations, render="mesh", seed=5):
    env = TwinEnv(twin, EnvConfig(image_size=SIZE, render=render, perturbations=perturbations))
    obs, info = env.reset(seed=seed)
    return env, obs, info


@pytest.fixture(scope="module")
def tray():
    return reference_twin("tray_pick")


@pytest.fixture(scope="module")
def unperturbed(tray):
    env, obs, info = _first(tray)
    yield env, obs, info
    env.close()


def _pixels(a, b) -> float:
    name = next(iter(a["images"]))
    return float(np.abs(a["images"][name].astype(int) - b["images"][name]).mean())


def test_there_are_at_least_18_axes_with_units_and_ranges():
    rows = axis_table()
    assert len(rows) >= 18
    groups = {r["group"] for r in rows}
    assert {
        "lighting",
        "table",
        "background",
        "objects",
        "camera",
        "sensing",
        "control",
        "physics",
        "robot",
        "language",
    } <= groups
    for row in rows:
        assert row["unit"] and row["at_level_1"] and len(row["range_at_level_1"]) == 2


def test_cli_lists_the_axes_as_json():
    out = subprocess.run(
        [sys.executable, "-m", "benchmark.cli", "perturbations", "--json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = json.loads(out)
    assert [r["axis"] for r in rows] == list(AXES)


@pytest.mark.parametrize("axis", list(AXES))
def test_level_0_is_the_unperturbed_scenario(tray, unperturbed, axis):
    env, obs, info = _first(tray, f"{axis}=0")
    base_env, base_obs, base_info = unperturbed
    assert env.scenario.edits.changed() == []
    for name in base_obs["images"]:
        assert np.array_equal(obs["images"][name], base_obs["images"][name])
    assert np.array_equal(obs["state"], base_obs["state"]) and obs["instruction"] == base_obs["instruction"]
    for n, pose in base_info["object_poses"].items():
        assert np.array_equal(info["object_poses"][n], pose)
    for field in (
        "body_mass",
        "geom_friction",
        "geom_size",
        "light_diffuse",
        "light_dir",
        "cam_pos",
        "dof_damping",
    ):
        assert np.array_equal(
            getattr(env.scenario.world.model, field), getattr(base_env.scenario.world.model, field)
        )
    env.close()


PIXEL_AXES = {
    "light_intensity": 5.0,
    "light_color": 2.0,
    "light_direction": 1.0,
    "table_color": 5.0,
    "table_texture": 2.0,
    "background_texture": 2.0,
    "object_color": 0.3,
    "object_texture": 0.1,
    "object_size": 0.1,
    "object_placement": 0.2,
    "object_yaw": 0.05,
    "distractors": 0.2,
    "camera_pose": 5.0,
    "camera_fov": 5.0,
    "image_noise": 5.0,
    "image_blur": 0.5,
    "image_compression": 1.0,
    "initial_joints": 0.2,
}


@pytest.mark.parametrize("axis", sorted(PIXEL_AXES))
def test_level_1_changes_the_first_frame(tray, unperturbed, axis):
    env, obs, _ = _first(tray, f"{axis}=1")
    assert _pixels(obs, unperturbed[1]) > PIXEL_AXES[axis]
    env.close()


def test_object_size_scales_the_geometry(tray, unperturbed):
    env, _, _ = _first(tray, "object_size=1")
    factor = env.scenario.edits.object_scale["red_cube"]
    assert factor in (pytest.approx(0.7), pytest.approx(1.3))
    m, m0 = env.scenario.world.model, unperturbed[0].scenario.world.model
    geom = m.body("red_cube").geomadr[0]
    np.testing.assert_allclose(m.geom_size[geom], m0.geom_size[geom] * factor)
    env.close()


def test_mass_friction_and_damping_change_the_model(tray, unperturbed):
    env, _, _ = _first(tray, "object_mass=1", "object_friction=1", "object_damping=1")
    m, m0 = env.scenario.world.model, unperturbed[0].scenario.world.model
    body = m.body("red_cube").id
    assert m.body_mass[body] / m0.body_mass[body] in (pytest.approx(0.25), pytest.approx(4.0))
    geom = m.body("red_cube").geomadr[0]
    assert 0.2 <= m.geom_friction[geom, 0] / m0.geom_friction[geom, 0] <= 0.4
    dof = m.joint("red_cube_joint").dofadr[0]
    assert m.dof_damping[dof] == pytest.approx(2.0) and m0.dof_damping[dof] == 0
    env.close()


def test_action_latency_delays_every_action(tray):
    moved = {}
    for level in (0, 1):
        env, obs, _ = _first(tray, f"action_latency={level}")
        start = obs["state"][10]
        heights = []
        for _ in range(4):
            obs, *_ = env.step(np.array([0, 0, 0.03, 0, 0, 0, 0]))
            heights.append(obs["state"][10] - start)
        moved[level] = heights
        env.close()
    assert moved[0][0] > 0.01  # moves at once
    assert abs(moved[1][2]) < 0.003 and moved[1][3] > 0.01  # three steps late


def test_paraphrase_rewords_the_instruction(tray, unperturbed):
    env, obs, _ = _first(tray, "paraphrase=1")
    assert obs["instruction"] != unperturbed[1]["instruction"]
    for word in ("red", "cube", "blue", "tray"):
        assert word in obs["instruction"].lower()
    env.close()


def test_initial_joints_move_the_start(tray, unperturbed):
    env, obs, _ = _first(tray, "initial_joints=1")
    offset = obs["state"][:7] - unperturbed[1]["state"][:7]
    assert 0.05 < np.abs(offset).max() <= 0.25 + 0.01
    env.close()


def test_levels_grade_the_same_draw():
    """Raising the level moves the same seed further along the same direction."""
    from twin.package import read_twin
    from twin.scene.twin_world import twin_scene

    scene = twin_scene(read_twin(reference_twin("tray_pick")))
    half = sample_edits([Perturbation("camera_fov", 0.5)], 3, scene).focal_scale
    full = sample_edits([Perturbation("camera_fov", 1.0)], 3, scene).focal_scale
    assert full - 1 == pytest.approx(2 * (half - 1))
    yaw_half = sample_edits([Perturbation("object_yaw", 0.5)], 3, scene).object_yaw
    yaw_full = sample_edits([Perturbation("object_yaw", 1.0)], 3, scene).object_yaw
    for name in yaw_full:
        assert yaw_full[name] == pytest.approx(2 * yaw_half[name])


def test_axes_compose_independently():
    from twin.package import read_twin
    from twin.scene.twin_world import twin_scene

    scene = twin_scene(read_twin(reference_twin("tray_pick")))
    alone = sample_edits([Perturbation("object_placement", 0.7)], 9, scene)
    both = sample_edits([Perturbation("light_color", 1.0), Perturbation("object_placement", 0.7)], 9, scene)
    for name, offset in alone.object_offset.items():
        np.testing.assert_array_equal(both.object_offset[name], offset)
    assert set(both.changed()) == {"light_gain", "object_offset"}


def test_splat_appearance_axes_change_the_splat_render(tray_pick_twin):
    twin = tray_pick_twin["twin"]
    _, base, _ = _first(twin, render="auto")
    for axis in (
        "light_intensity",
        "light_direction",
        "table_color",
        "table_texture",
        "background_texture",
        "object_color",
        "object_size",
        "distractors",
    ):
        env, obs, _ = _first(twin, f"{axis}=1", render="auto")
        assert env.scenario.renderer.splats
        assert _pixels(obs, base) > 0.3, axis
        env.close()
