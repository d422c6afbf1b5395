"""Reference scenes packaged as twins: valid packages, exact objects, the expert still succeeds,
the packaged world renders like the authored one, and the reference-twin cache behaves."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmark.scenes import authored
from benchmark.scenes.authored import nominal_scene, package_scene, reference_twin
from benchmark.scenes.registry import load_scene, scene_names
from benchmark.scenes.rollout import run_expert_episode
from benchmark.scenes.twins import check_package
from twin.package import EXACT_SHAPES, TwinPackageError, check_twin, read_twin
from twin.scene.spec import SHAPES, SIZE_LENGTHS
from twin.scene.twin_world import load_twin_world, twin_scene
from twin.scene.world import World

TASKS = [(scene, task.name) for scene in scene_names() for task in load_scene(scene).tasks]
FIELDS = ("shape", "size", "xy", "mass", "friction", "fixed", "visual_only", "rgba")


@pytest.fixture(scope="module")
def packages(tmp_path_factory) -> dict[tuple[str, str], Path]:
    """Every reference task packaged once; tests must not modify them (copy first)."""
    root = tmp_path_factory.mktemp("authored")
    return {(s, t): package_scene(load_scene(s), root / f"{s}-{t}", t) for s, t in TASKS}


def main_frame(world: World) -> np.ndarray:
    cam = world.scene.cameras[0]
    world.reset(0)
    return world.render(cam.name, cam.width, cam.height).rgb.astype(float)


@pytest.mark.parametrize(("scene", "task"), TASKS)
def test_package_is_sound(packages, scene, task):
    pkg = packages[scene, task]
    assert check_twin(pkg) == []
    assert check_package(pkg) == []
    twin = read_twin(pkg)
    assert twin.name == f"{scene}-{task}" and twin.task["name"] == task
    assert json.loads((pkg / "fidelity.json").read_text()) == {"authored": True}
    cam = load_scene(scene).cameras[0]
    with Image.open(pkg / "preview.png") as preview:
        assert preview.size == (cam.width, cam.height)


@pytest.mark.parametrize(("scene", "task"), TASKS)
def test_objects_are_the_authored_ones(packages, scene, task):
    expected = nominal_scene(load_scene(scene))
    got = twin_scene(read_twin(packages[scene, task]))
    assert [o.name for o in got.objects] == [o.name for o in expected.objects]
    for mine, theirs in zip(got.objects, expected.objects, strict=True):
        for field in FIELDS:
            assert getattr(mine, field) == pytest.approx(getattr(theirs, field)), (mine.name, field)
        assert np.cos(mine.yaw - theirs.yaw) == pytest.approx(1.0), mine.name
    assert got.table.top_z == expected.table.top_z
    assert got.robot_base == pytest.approx(expected.robot_base)
    assert got.tasks[0] == expected.task(task)


@pytest.mark.parametrize(("scene", "task"), TASKS)
def test_expert_succeeds_in_the_packaged_twin(packages, scene, task):
    with load_twin_world(packages[scene, task]) as world:
        outcome = run_expert_episode(world, world.scene.tasks[0], seed=0)
    assert outcome.success, outcome


@pytest.mark.parametrize("scene", scene_names())
def test_packaged_world_renders_like_the_authored_one(packages, scene):
    task = load_scene(scene).tasks[0].name
    with World(load_scene(scene)) as world:  # the same seeded start as the package's
        reference = main_frame(world)
    with load_twin_world(packages[scene, task]) as world:
        frame = main_frame(world)
    difference = np.abs(reference - frame)
    # settling and edge aliasing move a few pixels; a missing texture would change most of them
    assert difference.mean() < 0.25, difference.mean()
    assert (difference.max(axis=2) > 10).mean() < 0.005


def test_packaging_twice_gives_the_same_hash(packages, tmp_path):
    scene, task = TASKS[0]
    again = package_scene(load_scene(scene), tmp_path / "again", task)
    assert read_twin(again).content_hash == read_twin(packages[scene, task]).content_hash
    with pytest.raises(FileExistsError):
        package_scene(load_scene(scene), again, task)
    assert package_scene(load_scene(scene), again, task, overwrite=True) == again


def test_textures_are_files_of_the_package(packages):
    pkg = packages["tray_pick", "cube_in_tray"]
    textures = sorted(p.name for p in (pkg / "textures").glob("*.png"))
    assert textures == ["floor_mat_tex.png", "grey_can_mat_tex.png", "table_mat_tex.png", "wall_mat_tex.png"]
    assert set(read_twin(pkg).manifest["file_hashes"]) >= {f"textures/{t}" for t in textures}


@pytest.fixture
def scenes_copy(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "scenes"
    folder.mkdir()
    shutil.copy(Path(authored.__file__).parents[2] / "assets/scenes/block_push.yaml", folder)
    monkeypatch.setenv("TWINARENA_SCENES", str(folder))
    return folder / "block_push.yaml"


def test_reference_twin_reuses_its_cache_and_rebuilds_on_change(scenes_copy, tmp_path, monkeypatch):
    monkeypatch.setenv("TWINARENA_CACHE", str(tmp_path / "cache"))
    first = reference_twin("block_push")
    assert first.parent == tmp_path / "cache" / "reference-twins" and check_twin(first) == []

    def no_build(*args, **kwargs):
        raise AssertionError("the cached twin should have been reused")

    with monkeypatch.context() as patch:
        patch.setattr(authored, "package_scene", no_build)
        assert reference_twin("block_push") == first
    scenes_copy.write_text(scenes_copy.read_text().replace("mass: 0.08", "mass: 0.09"))
    second = reference_twin("block_push")
    assert second != first and first.is_dir()
    assert read_twin(second).objects[0].mass == 0.09
    assert sorted(p.name for p in first.parent.iterdir()) == sorted([first.name, second.name])


def test_reference_twin_loses_a_build_race_gracefully(scenes_copy, tmp_path, monkeypatch):
    real, rival = authored.package_scene, {}

    def rival_first(scene, out, task=None, overwrite=False):
        rival["folder"] = real(scene, authored.cache_folder(scene, scene.task(task), tmp_path), task)
        rival["inode"] = rival["folder"].stat().st_ino  # another process finished first
        return real(scene, out, task, overwrite)

    monkeypatch.setattr(authored, "package_scene", rival_first)
    folder = reference_twin("block_push", cache_dir=tmp_path)
    assert folder == rival["folder"] and folder.stat().st_ino == rival["inode"]
    assert check_twin(folder) == []
    assert [p.name for p in tmp_path.iterdir() if p.name != "scenes"] == [folder.name]


def test_a_damaged_cache_entry_is_rebuilt(scenes_copy, tmp_path):
    folder = reference_twin("block_push", cache_dir=tmp_path)
    (folder / "task.json").write_text("{}")
    assert reference_twin("block_push", cache_dir=tmp_path) == folder
    assert check_twin(folder) == []


def test_exact_shapes_follow_the_scene_spec():
    assert set(EXACT_SHAPES) == set(SHAPES) - {"mesh"}
    assert all(SIZE_LENGTHS[shape] == n for shape, n in EXACT_SHAPES.items())


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        ({"shape": "cone"}, ("objects[0].shape", "cone")),
        ({"size": [0.02, 0.02]}, ("objects[0].size", "a box takes 3 numbers")),
        ({"size": [0.02, -0.02, 0.02]}, ("objects[0].size", "positive")),
        ({"size": "big"}, ("objects[0].size",)),
        ({"shape": None}, ("objects[0].shape", "missing")),
        ({"shape": "prism", "size": [0.02, 0.02, 2.5]}, ("objects[0].size", "sides")),
        ({"fixed": "yes"}, ("objects[0].fixed", "true or false")),
    ],
)
def test_a_bad_exact_shape_names_the_file_and_field(packages, tmp_path, edit, words):
    copy = Path(shutil.copytree(packages["block_push", "block_to_square"], tmp_path / "bad"))
    manifest = json.loads((copy / "twin.json").read_text())
    manifest["objects"][0] |= edit
    manifest["objects"][0] = {k: v for k, v in manifest["objects"][0].items() if v is not None}
    (copy / "twin.json").write_text(json.dumps(manifest))
    with pytest.raises(TwinPackageError) as err:
        read_twin(copy)
    for word in (str(copy / "twin.json"), *words):
        assert word in str(err.value)


def test_a_package_without_exact_shapes_still_reads(packages, tmp_path):
    copy = Path(shutil.copytree(packages["block_push", "block_to_square"], tmp_path / "old"))
    manifest = json.loads((copy / "twin.json").read_text())
    for entry in manifest["objects"]:
        for key in ("shape", "size", "fixed"):
            entry.pop(key)
    (copy / "twin.json").write_text(json.dumps(manifest))
    twin = read_twin(copy)
    assert all(o.shape is None and o.size is None and not o.fixed for o in twin.objects)
    block, square = twin_scene(twin).objects
    assert (block.shape, block.size, block.fixed) == ("box", (0.025, 0.025, 0.02), False)
    assert (square.shape, square.fixed, square.visual_only) == ("box", True, True)


def test_a_scene_reaching_outside_its_package_fails_the_check(packages, tmp_path):
    """An ``<include>`` (or mesh, texture) outside the package would be outside its content hash."""
    outside = tmp_path / "outside.xml"
    outside.write_text("<mujoco><worldbody><geom size='1'/></worldbody></mujoco>")
    pkg = tmp_path / "pkg"
    shutil.copytree(packages["tray_pick", "cube_in_tray"], pkg)
    scene = pkg / "scene.xml"
    scene.write_text(scene.read_text().replace("<worldbody>", f'<include file="{outside}"/>\n<worldbody>', 1))
    problems = check_twin(pkg)
    assert problems == [f"{scene}: reaches {outside}, outside the package"]
