"""The scene generator: seeded, varied, valid scenes (compiling, resting, reachable, not
overlapping), the expert solving some of them in their own world frames, and a twin built from
one of them, so that a pipeline tuned only on the four reference scenes fails here."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from benchmark.scenes.generator import REACH, GeneratorConfig, generate_scene, write_scene
from benchmark.scenes.rollout import run_expert_episode
from twin.scene.builder import object_half_height
from twin.scene.spec import TASK_FAMILIES, load_scene_spec
from twin.scene.world import World
from twin.transforms import quat_to_mat

SEEDS = range(30)


def _bounding_radius(obj) -> float:
    if obj.shape in ("box", "tray", "mesh"):
        return float(np.hypot(*obj.size[:2]))
    return float(obj.size[0])


def test_generation_is_deterministic_per_seed_and_varied_across_seeds():
    scenes = [generate_scene(seed) for seed in SEEDS]
    assert scenes == [generate_scene(seed) for seed in SEEDS]
    assert len({repr(s) for s in scenes}) == len(scenes)
    assert {s.tasks[0].family for s in scenes} == set(TASK_FAMILIES)
    assert len({s.table.texture.kind for s in scenes}) >= 5
    counts = [len(s.objects) for s in scenes]
    assert min(counts) == 2 and max(counts) >= 5 and all(2 <= n <= 6 for n in counts)
    shapes = {o.shape for s in scenes for o in s.objects}
    assert {"box", "cylinder", "tray", "bowl", "cup", "sphere", "prism", "mesh"} <= shapes
    assert {"duck", "lego", "mug", "jenga"} <= {o.mesh for s in scenes for o in s.objects}
    assert any(o.texture is not None for s in scenes for o in s.objects)
    assert any(o.visual_only for s in scenes for o in s.objects)
    tops = [s.table.top_z for s in scenes]
    assert max(tops) - min(tops) > 0.5  # table tops at many heights
    assert len({len(s.lights) for s in scenes}) >= 2
    assert np.ptp([s.cameras[0].fovy for s in scenes]) > 5
    plain = generate_scene(3, GeneratorConfig(frames=False))
    assert plain.table.top_z == 0.0 and plain.robot_base == (-0.5, 0.0, 0.0)


def test_the_spec_names_the_meshes_the_library_reads():
    from twin.scene.mesh_library import MESHES, unit_mesh
    from twin.scene.spec import MESH_MODELS

    assert tuple(MESHES) == MESH_MODELS
    for name in MESH_MODELS:
        vertices, faces = unit_mesh(name)
        assert np.allclose(np.abs(vertices).max(axis=0), 1.0) and len(faces) >= 12


@pytest.mark.parametrize("seed", [0, 5])  # a duck, a bowl
def test_a_scene_round_trips_through_yaml(tmp_path, seed):
    scene = generate_scene(seed)
    assert load_scene_spec(write_scene(scene, tmp_path / "scene.yaml")) == scene


@pytest.mark.parametrize("seed", list(SEEDS))
def test_every_scene_compiles_rests_on_the_table_without_overlap_and_has_a_reachable_task(seed):
    scene = generate_scene(seed)
    task = scene.tasks[0]
    table = scene.table
    obj, target = scene.object(task.object), scene.object(task.target)
    assert task.family in TASK_FAMILIES and task.object != task.target
    assert not obj.fixed and not obj.visual_only
    assert target.visual_only == (task.family == "push")  # a push's target is a mark on the table
    base = np.asarray(scene.robot_base)
    assert base[2] == pytest.approx(table.top_z)  # mounted on the table top
    for role in (obj, target):
        d = np.asarray(role.xy) - base[:2]
        assert REACH["x"][0] <= d[0] <= REACH["x"][1] and abs(d[1]) <= REACH["y"][1], role.name
    for a, b in itertools.combinations(scene.objects, 2):
        gap = np.linalg.norm(np.subtract(a.xy, b.xy)) - _bounding_radius(a) - _bounding_radius(b)
        assert gap > 0.0, (a.name, b.name)
    with World(scene) as world:
        world.reset(seed)
        world.settle(0.5)
        poses = world.object_poses()
    for o in scene.objects:
        pose = poses[o.name]
        assert table.on_top(pose.pos[:2]), o.name
        assert pose.pos[2] == pytest.approx(table.top_z + object_half_height(o), abs=0.004), o.name
        assert quat_to_mat(pose.quat)[2, 2] > 0.99, o.name  # upright, nothing toppled


# each family, a bowl, a tray, a duck and a lego brick; each in its own world frame (table tops
# from -0.26 to 0.83 m)
@pytest.mark.parametrize("seed", [0, 2, 5, 14, 23])
def test_the_scripted_expert_solves_generated_tasks(seed):
    scene = generate_scene(seed)
    with World(scene) as world:
        outcome = run_expert_episode(world, scene.tasks[0], seed)
    assert outcome.success, (seed, scene.tasks[0], outcome)


def test_a_twin_of_a_generated_scene_finds_its_objects(tmp_path):
    from benchmark.scenes.generator import generated_recording
    from benchmark.scenes.recording import record
    from benchmark.scenes.twins import evaluate_twin
    from twin.appearance import AppearanceConfig
    from twin.build import BuildConfig

    scene = generate_scene(24)  # a cube into a bowl of staves beside a ball, table top at -0.15
    task = scene.tasks[0]
    record(scene, tmp_path / "demo", 1, 24, task.name, generated_recording(24, scan_frames=12))
    config = BuildConfig(max_scan_frames=12, appearance=AppearanceConfig(steps=30))
    row = evaluate_twin(tmp_path / "demo" / "episode_000000", tmp_path / "twin", config, task)
    assert row["objects_found"] == f"{len(scene.objects)}/{len(scene.objects)}"
    assert row["extra_objects"] == 0
    assert row["max_position_error_m"] < 0.02
    assert row["roles_correct"]


@pytest.mark.parametrize(("seed", "role", "shape"), [(5, "target", "bowl"), (0, "object", "mesh")])
def test_bowls_and_props_run_in_pybullet_and_in_an_authored_twin_package(tmp_path, seed, role, shape):
    from benchmark.scenes.authored import package_scene
    from benchmark.sim.bullet_world import BulletWorld
    from twin.scene.mjcf_files import outside
    from twin.scene.twin_world import load_twin_world

    scene = generate_scene(seed)  # 5: a cylinder into a bowl of staves; 0: a duck into a tray
    task = scene.tasks[0]
    assert scene.object(getattr(task, role)).shape == shape
    with BulletWorld(scene) as world:
        assert run_expert_episode(world, task, seed).success
    twin = package_scene(scene, tmp_path / "twin")
    assert outside(twin / "scene.xml", twin) == []  # the duck's mesh is inside the package
    with load_twin_world(twin) as world:
        assert run_expert_episode(world, world.scene.tasks[0], seed).success
