"""Seeded starts: a seed changes where free objects start, within the ranges the scene declares,
and an object's draws depend on its role or name only (common random numbers across worlds)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from benchmark.perturbations.axes import sample_edits
from benchmark.scenes.authored import reference_twin
from benchmark.scenes.registry import load_scene
from twin.package import read_twin
from twin.scene.placement import initial_placement, object_key
from twin.scene.spec import ObjectSpec
from twin.scene.twin_world import twin_scene


def _spurious(scene, name="spurious_box", xy=(-0.3, 0.3)):
    extra = ObjectSpec(name=name, shape="box", size=(0.02, 0.02, 0.02), xy=xy, xy_range=(0.03, 0.03))
    return dataclasses.replace(scene, objects=(extra, *scene.objects))


@pytest.mark.parametrize("name", ["block_push", "tray_pick", "cube_stack", "kitchen_clutter"])
def test_starts_stay_within_the_declared_ranges_and_vary_with_the_seed(name):
    scene = load_scene(name)
    starts = [initial_placement(scene, seed) for seed in range(20)]
    for obj in scene.objects:
        xys = np.array([s[obj.name][0] for s in starts])
        yaws = np.array([s[obj.name][1] for s in starts])
        assert np.all(np.abs(xys - obj.xy) <= np.asarray(obj.xy_range) + 1e-12), obj.name
        assert np.all(np.abs(yaws - obj.yaw) <= obj.yaw_range + 1e-12), obj.name
        if obj.xy_range[0] > 0:
            assert len(np.unique(xys[:, 0])) > 10, obj.name


def test_an_extra_object_changes_no_draw_of_the_task_objects():
    scene = load_scene("block_push")
    task = scene.tasks[0]
    crowded = _spurious(scene)
    assert object_key(crowded, task.object) == "role:object"
    for seed in range(12):
        alone, with_extra = initial_placement(scene, seed), initial_placement(crowded, seed)
        for name in (task.object, task.target):
            assert np.array_equal(alone[name][0], with_extra[name][0]), (seed, name)
        edits = sample_edits(["object_placement=0.5", "object_color=1"], seed, scene)
        more = sample_edits(["object_placement=0.5", "object_color=1"], seed, crowded)
        for name in (task.object, task.target):
            assert np.array_equal(edits.object_offset.get(name, 0), more.object_offset.get(name, 0))
            assert np.array_equal(edits.object_colour[name][0], more.object_colour[name][0])


def test_a_renamed_task_object_keeps_its_draws():
    """A twin names its objects by colour; the role, not the name, keys the task's draws."""
    scene = load_scene("block_push")
    task = scene.tasks[0]
    renamed = {task.object: "green_object", task.target: "yellow_zone"}
    objects = tuple(dataclasses.replace(o, name=renamed.get(o.name, o.name)) for o in scene.objects)
    tasks = (dataclasses.replace(task, object="green_object", target="yellow_zone"),)
    twin_like = dataclasses.replace(scene, objects=objects[::-1], tasks=tasks)
    for seed in range(5):
        a, b = initial_placement(scene, seed), initial_placement(twin_like, seed)
        assert np.array_equal(a[task.object][0], b["green_object"][0])


def test_an_authored_twin_declares_its_scenes_ranges(tmp_path):
    twin = read_twin(reference_twin("tray_pick", "cube_in_tray", tmp_path))
    scene = load_scene("tray_pick")
    declared = {o.name: (o.xy_range, o.yaw_range) for o in twin.objects}
    for obj in scene.objects:
        if obj.visual_only or obj.fixed:
            assert declared[obj.name] == ((0.0, 0.0), 0.0)
        else:
            assert declared[obj.name] == (obj.xy_range, obj.yaw_range)
    got = {o.name: o.xy_range for o in twin_scene(twin).objects}
    assert got == {o.name: o.xy_range for o in twin.objects}
