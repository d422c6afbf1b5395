"""Plausibility (twin/plausibility.py): a twin that renders well but makes no physical sense is
flagged, in any world frame; a task whose roles cannot be found is a build error, one line."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from fuzzing import run_cli

from benchmark.scenes.authored import package_scene
from benchmark.scenes.registry import load_scene
from twin import roles
from twin.build import infer_task
from twin.demonstration import Demonstration
from twin.errors import TwinBuildError
from twin.package import read_twin
from twin.plausibility import plausibility_problems
from twin.scene.spec import translated_scene


@pytest.fixture(scope="module")
def sound(tmp_path_factory):
    """A sound authored twin's manifest and task, as dicts."""
    twin = read_twin(package_scene(load_scene("tray_pick"), tmp_path_factory.mktemp("sound") / "twin"))
    return copy.deepcopy(twin.manifest), dict(twin.task)


def test_a_sound_twin_is_plausible_in_any_world_frame(sound, tmp_path):
    manifest, task = sound
    assert plausibility_problems(manifest, task) == []
    moved = read_twin(
        package_scene(translated_scene(load_scene("tray_pick"), (0.4, -1.0, 0.76)), tmp_path / "m")
    )
    assert moved.manifest["table"]["height"] == pytest.approx(0.76)
    assert plausibility_problems(moved.manifest, moved.task) == []


def test_a_built_twin_records_its_plausibility(tray_pick_twin):
    fidelity = json.loads((Path(tray_pick_twin["twin"]) / "fidelity.json").read_text())
    assert fidelity["plausibility"] == []


def _with(manifest, **changes):
    out = copy.deepcopy(manifest)
    for path, value in changes.items():
        node = out
        *parents, leaf = path.split("__")
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        node[int(leaf) if leaf.isdigit() else leaf] = value
    return out


def test_each_implausibility_is_named(sound):
    manifest, task = sound
    floor = _with(manifest, table__height=-0.75)  # the floor taken for the table
    found = plausibility_problems(floor, task)
    assert any("robot base" in p and "floor" in p for p in found)
    sunk = _with(manifest, objects__0__pos=[0.0, 0.0, -0.05])
    assert any("below the table top" in p for p in plausibility_problems(sunk, task))
    away = _with(manifest, objects__0__pos=[3.0, 0.0, 0.03])
    assert any("outside the table's footprint" in p for p in plausibility_problems(away, task))
    huge = _with(manifest, objects__0__half_extents=[0.5, 0.5, 0.5])
    assert any("too large" in p for p in plausibility_problems(huge, task))
    speck = _with(manifest, objects__0__half_extents=[0.001, 0.001, 0.001])
    assert any("too small" in p for p in plausibility_problems(speck, task))
    crowd = _with(manifest, objects=[{**manifest["objects"][0], "name": f"mark_{k}"} for k in range(36)])
    assert any("36 objects" in p for p in plausibility_problems(crowd, task))
    lost = {**task, "target": "no_such_tray"}
    assert any("target 'no_such_tray'" in p for p in plausibility_problems(manifest, lost))


def test_twin_check_warns_and_strict_fails(tmp_path):
    scene = load_scene("tray_pick")
    lifted = dataclasses.replace(scene, robot_base=(-0.5, 0.0, 0.76))  # the robot high above the table
    folder = package_scene(lifted, tmp_path / "twin")
    loose = run_cli("twin", "check", str(folder))
    assert loose.returncode == 0, loose.stdout + loose.stderr
    text = loose.stdout + loose.stderr
    assert "implausible:" in text and "robot base" in text
    strict = run_cli("twin", "check", str(folder), "--strict", "--json")
    assert strict.returncode == 1
    report = json.loads(strict.stdout)
    assert report["ok"] and report["problems"] == [] and len(report["warnings"]) == 1


def test_roles_that_cannot_be_found_are_a_build_error():
    demo = Demonstration(fps=10.0, instruction="put the red cube in the blue tray", cameras={})
    one = [roles.Candidate("red_cube", "box", np.zeros(3), 0.0, np.full(3, 0.02), np.array([0.8, 0.1, 0.1]))]
    with pytest.raises(TwinBuildError, match="cannot tell the task's object and target among the 1 objects"):
        infer_task(demo, one, table_z=0.0)
