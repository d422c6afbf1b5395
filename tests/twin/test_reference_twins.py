"""Every reference task's recorded demonstration becomes a twin whose geometry matches the truth
and in which the scripted expert still solves the task (fast splat settings: appearance is
checked by ``bench/twin_fidelity.py``, geometry and physics here)."""

from __future__ import annotations

import pytest

from benchmark.scenes.registry import load_scene, scene_names
from benchmark.scenes.twins import reference_twin_row
from twin.appearance import AppearanceConfig
from twin.build import BuildConfig

TASKS = [(scene, task.name) for scene in scene_names() for task in load_scene(scene).tasks]
FAST = BuildConfig(max_scan_frames=16, appearance=AppearanceConfig(steps=20))


@pytest.mark.parametrize(("scene", "task"), TASKS)
def test_reference_twin(scene, task, tmp_path):
    row = reference_twin_row(scene, task, tmp_path, FAST, seed=3, scan_frames=16)
    total = int(row["objects_found"].split("/")[1])
    assert row["objects_found"] == f"{total}/{total}", row
    assert row["extra_objects"] == 0, row
    assert row["max_position_error_m"] <= 0.01, row
    assert row["max_size_error"] <= 0.10, row
    assert row["roles_correct"], row
    assert row["expert_success_in_twin"], row
