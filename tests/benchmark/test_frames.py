"""Frame independence: the same scene in three world frames (table top at other heights, robot base
elsewhere) gives the expert the same outcome, the perturbations the same draws, and the controller
the same workspace."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.perturbations.axes import parse_perturbation, sample_edits
from benchmark.scenes.registry import load_scene
from benchmark.scenes.rollout import run_expert_episode
from benchmark.sim.control import BASE_WORKSPACE, clamp_to_workspace
from twin.scene.spec import translated_scene
from twin.scene.world import World

FRAMES = [(0.0, 0.0, 0.0), (0.7, -0.3, 0.76), (-1.2, 0.5, -0.3)]


@pytest.mark.parametrize("name", ["tray_pick", "block_push", "cube_stack"])
def test_the_expert_does_the_same_in_every_world_frame(name):
    scene = load_scene(name)
    outcomes = []
    for offset in FRAMES:
        moved = translated_scene(scene, offset)
        with World(moved) as world:
            outcome = run_expert_episode(world, moved.tasks[0], seed=1)
            objects = world.object_poses()
        outcomes.append(outcome)
        assert all(p.pos[2] > moved.table.top_z - 1e-3 for p in objects.values())  # none fell through
    assert outcomes[0].success
    for other in outcomes[1:]:
        assert other.success == outcomes[0].success
        assert abs(other.steps - outcomes[0].steps) <= 2
        assert other.progress == pytest.approx(outcomes[0].progress, abs=0.02)


def test_object_placement_draws_the_same_offsets_about_the_table_in_every_frame():
    scene = load_scene("tray_pick")
    level = (parse_perturbation("object_placement=1"),)
    first = sample_edits(level, 7, scene).object_offset
    assert first  # something moved
    for offset in FRAMES[1:]:
        moved = sample_edits(level, 7, translated_scene(scene, offset)).object_offset
        assert sorted(moved) == sorted(first)
        for name, xy in first.items():
            assert np.allclose(moved[name], xy)


def test_the_workspace_is_a_box_about_the_robot_base_above_the_table():
    rot = np.eye(3)
    base = np.array([-0.5, 0.0, 0.0])
    inside = np.array([0.1, 0.2, 0.3])
    assert np.allclose(clamp_to_workspace(inside, base, rot, BASE_WORKSPACE, 0.0), inside)
    for offset in FRAMES[1:]:
        d = np.asarray(offset)
        far = np.array([2.0, -3.0, 5.0])
        here = clamp_to_workspace(far, base, rot, BASE_WORKSPACE, 0.0)
        there = clamp_to_workspace(far + d, base + d, rot, BASE_WORKSPACE, d[2])
        assert np.allclose(there - d, here)
    below = clamp_to_workspace(np.array([0.0, 0.0, -0.2]), base, rot, BASE_WORKSPACE, floor_z=0.0)
    assert below[2] == 0.0  # never under the table top
    turned = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # base yawed 90°
    ahead = clamp_to_workspace(base + np.array([0.0, 5.0, 0.3]), base, turned, BASE_WORKSPACE, 0.0)
    assert np.allclose(ahead, base + np.array([0.0, 0.95, 0.3]))  # its reach runs along world y


def test_the_vision_expert_does_the_same_in_a_twin_in_another_frame(tmp_path):
    from benchmark.episodes.env import EnvConfig, TwinEnv
    from benchmark.episodes.episode import run_episode
    from benchmark.policies.perception import VisionExpert
    from benchmark.scenes.authored import package_scene

    scene = load_scene("block_push")
    outcomes = []
    for k, offset in enumerate(FRAMES[:2]):
        twin = package_scene(translated_scene(scene, offset), tmp_path / f"frame{k}")
        env = TwinEnv(twin, EnvConfig(image_size=(160, 120), render="mesh"))
        outcomes.append(run_episode(env, VisionExpert.calibrated(env), seed=2))
        env.close()
    assert outcomes[0].success and outcomes[1].success
    assert abs(outcomes[0].steps - outcomes[1].steps) <= 2


def test_a_spurious_object_changes_no_draw_of_the_task_objects():
    import dataclasses

    from twin.scene.spec import ObjectSpec

    scene = load_scene("block_push")
    task = scene.tasks[0]
    spurious = (
        ObjectSpec("spurious_mark", "box", (0.03, 0.03, 0.001), xy=(0.5, 0.42), fixed=True, visual_only=True),
        ObjectSpec("spurious_block", "box", (0.02, 0.02, 0.02), xy=(-0.45, -0.4)),
    )
    busier = dataclasses.replace(scene, objects=spurious[:1] + scene.objects + spurious[1:])
    axes = tuple(parse_perturbation(p) for p in ("object_placement=0.5", "object_yaw=1"))
    for seed in range(12):
        plain, busy = sample_edits(axes, seed, scene), sample_edits(axes, seed, busier)
        for name in (task.object, task.target):
            assert np.allclose(plain.object_offset.get(name, 0.0), busy.object_offset.get(name, 0.0)), seed
            assert plain.object_yaw.get(name) == busy.object_yaw.get(name), seed
