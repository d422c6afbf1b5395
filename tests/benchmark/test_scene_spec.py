"""Scene specs: the reference scenes load and compile; malformed specs fail with clear errors."""

import json

import pytest

from benchmark.scenes.registry import load_scene, scene_names
from twin.scene.spec import SceneSpecError, load_scene_spec, scene_from_dict

TASK_FAMILIES_REQUIRED = {"pick_place", "push", "stack"}


def test_at_least_four_scenes_cover_three_task_families():
    names = scene_names()
    assert len(names) >= 4
    families = {task.family for name in names for task in load_scene(name).tasks}
    assert families >= TASK_FAMILIES_REQUIRED


@pytest.mark.parametrize("name", scene_names())
def test_reference_scene_compiles_with_robot_cameras_and_textures(name):
    from twin.scene.world import World

    scene = load_scene(name)
    with World(scene) as world:
        model = world.model
        assert model.nu == 8  # seven arm servos and the gripper
        assert model.camera(scene.cameras[0].name).id >= 0
        assert model.camera(world.wrist_camera).id >= 0
        assert model.ntex >= 1  # procedural textures are in the model
        world.reset(0)
        for obj in scene.objects:
            assert world.object_poses()[obj.name].pos[2] > -0.01  # nothing fell through the table


def _valid():
    return {
        "name": "t",
        "description": "d",
        "objects": [
            {"name": "a", "shape": "box", "size": [0.02, 0.02, 0.02]},
            {"name": "b", "shape": "tray", "size": [0.08, 0.1, 0.025, 0.008], "xy": [0.0, -0.15]},
        ],
        "tasks": [{"name": "k", "family": "pick_place", "object": "a", "target": "b", "instruction": "i"}],
        "cameras": [{"name": "front", "pos": [0.7, -0.5, 0.6]}],
    }


def test_valid_dict_round_trips():
    scene = scene_from_dict(_valid())
    assert scene.object("b").shape == "tray"
    assert scene.task().object == "a"


@pytest.mark.parametrize(
    "mutate, message",
    [
        (
            lambda d: d["objects"][0].update(size=[0.02, 0.02]),
            "objects[0] (a).size: a box takes 3 numbers, got 2",
        ),
        (lambda d: d["objects"][0].update(shape="blob"), "unknown shape 'blob'"),
        (lambda d: d["objects"][0].update(colour=[1, 0, 0]), "unknown field(s) colour"),
        (lambda d: d["objects"][0].update(mass="heavy"), "mass: expected a number, got 'heavy'"),
        (lambda d: d["tasks"][0].update(target="nothing"), "target: no object called 'nothing'"),
        (lambda d: d["tasks"][0].update(family="juggle"), "unknown family 'juggle'"),
        (lambda d: d.pop("cameras"), "missing required field 'cameras'"),
        (lambda d: d["objects"].append(dict(d["objects"][0])), "object names must be unique"),
        (lambda d: d["objects"][0].update(texture={"kind": "plaid"}), "unknown texture kind 'plaid'"),
    ],
)
def test_malformed_spec_names_the_field(mutate, message):
    data = _valid()
    mutate(data)
    with pytest.raises(SceneSpecError) as err:
        scene_from_dict(data)
    assert message in str(err.value)


def test_bad_files_name_the_file(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    with pytest.raises(SceneSpecError, match="broken.yaml is not valid YAML"):
        load_scene_spec(broken)
    as_json = tmp_path / "scene.json"
    as_json.write_text(json.dumps(_valid()))
    assert load_scene_spec(as_json).name == "t"
    with pytest.raises(SceneSpecError, match="cannot read scene spec"):
        load_scene_spec(tmp_path / "missing.yaml")


def test_unknown_scene_lists_the_known_ones():
    with pytest.raises(SceneSpecError, match="unknown scene 'nope'; reference scenes: .*tray_pick"):
        load_scene("nope")
