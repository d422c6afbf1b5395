"""Task predicates on hand-made states, and the scripted expert's success rate per task."""

import numpy as np
import pytest

from benchmark.scenes.registry import load_scene, scene_names
from benchmark.scenes.rollout import run_expert_episode
from benchmark.sim.tasks import TaskState, is_success, progress
from twin.scene.world import World
from twin.transforms import yaw_quat

ALL_TASKS = [(name, task.name) for name in scene_names() for task in load_scene(name).tasks]
EPISODES = 20


def _state(positions, tcp=(0.0, 0.0, 0.3), opening=0.04, quats=None):
    quats = quats or {}
    return TaskState(
        positions={k: np.asarray(v, float) for k, v in positions.items()},
        quats={k: np.asarray(quats.get(k, yaw_quat(0.0))) for k in positions},
        tcp=np.asarray(tcp, float),
        gripper_opening=opening,
    )


def test_pick_place_predicate():
    scene = load_scene("tray_pick")
    task, objects = scene.task(), {o.name: o for o in scene.objects}
    tray = (0.05, -0.16, 0.025)
    inside = _state({"red_cube": (0.05, -0.15, 0.028), "blue_tray": tray, "grey_can": (0.2, 0, 0.05)})
    assert is_success(task, objects, inside)
    held = _state(
        {"red_cube": (0.05, -0.15, 0.028), "blue_tray": tray, "grey_can": (0.2, 0, 0.05)}, opening=0.018
    )
    assert not is_success(task, objects, held)  # still in the gripper
    beside = _state({"red_cube": (0.05, 0.0, 0.02), "blue_tray": tray, "grey_can": (0.2, 0, 0.05)})
    assert not is_success(task, objects, beside)
    start = _state({"red_cube": (0.05, 0.1, 0.02), "blue_tray": tray, "grey_can": (0.2, 0, 0.05)})
    assert progress(task, objects, inside, start) == 1.0
    assert 0.0 <= progress(task, objects, beside, start) < progress(task, objects, inside, start)


def test_stack_predicate_needs_contact_and_an_upright_base():
    scene = load_scene("cube_stack")
    task, objects = scene.task(), {o.name: o for o in scene.objects}
    base = (0.05, -0.1, 0.03)
    ball = (0.2, 0.2, 0.025)
    on_top = _state({"red_cube": (0.055, -0.1, 0.08), "blue_cube": base, "yellow_ball": ball})
    assert is_success(task, objects, on_top)
    floating = _state({"red_cube": (0.055, -0.1, 0.11), "blue_cube": base, "yellow_ball": ball})
    assert not is_success(task, objects, floating)
    tipped = _state(
        {"red_cube": (0.055, -0.1, 0.08), "blue_cube": base, "yellow_ball": ball},
        quats={"blue_cube": np.array([np.cos(0.4), np.sin(0.4), 0, 0])},
    )
    assert not is_success(task, objects, tipped)


def test_push_predicate_respects_the_region_yaw():
    scene = load_scene("block_push")
    task, objects = scene.task(), {o.name: o for o in scene.objects}
    region = (0.0, -0.12, 0.0008)
    corner = (0.055, -0.12 + 0.055, 0.02)  # inside the axis-aligned square, near its corner
    assert is_success(task, objects, _state({"green_block": corner, "yellow_square": region}))
    rotated = {"yellow_square": yaw_quat(np.pi / 4)}
    assert not is_success(
        task, objects, _state({"green_block": corner, "yellow_square": region}, quats=rotated)
    )


@pytest.mark.parametrize("scene_name, task_name", ALL_TASKS)
def test_expert_succeeds_in_at_least_95_percent(scene_name, task_name):
    scene = load_scene(scene_name)
    task = scene.task(task_name)
    with World(scene) as world:
        outcomes = [run_expert_episode(world, task, seed) for seed in range(EPISODES)]
    successes = sum(o.success for o in outcomes)
    assert successes >= 0.95 * EPISODES, f"{scene_name}/{task_name}: {successes}/{EPISODES}"
    assert all(o.progress == 1.0 for o in outcomes if o.success)


def _obj_file(path, xy: np.ndarray, half_height: float):
    """A prism over footprint ``xy`` as an OBJ file (z up)."""
    n = len(xy)
    lines = [f"v {x} {y} {z}" for z in (-half_height, half_height) for x, y in xy]
    lines += [f"f {1 + i} {1 + (i + 1) % n} {1 + n + (i + 1) % n} {1 + n + i}" for i in range(n)]
    lines += [
        "f " + " ".join(str(i + 1) for i in range(n)),
        "f " + " ".join(str(n + i + 1) for i in range(n)),
    ]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_the_push_follows_the_objects_geometry_not_its_label(tmp_path):
    """The block of block_push as a ``mesh`` (as a twin may label it): a square mesh is pushed
    straight like the box and succeeds; a round mesh is steered like a cylinder."""
    import dataclasses

    from benchmark.sim.expert import ScriptedExpert

    scene = load_scene("block_push")
    task = scene.task()
    block = scene.object(task.object)
    square = _obj_file(tmp_path / "square.obj", np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * 0.025, 0.02)
    angles = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    disc = _obj_file(tmp_path / "disc.obj", np.c_[np.cos(angles), np.sin(angles)] * 0.025, 0.02)
    outcomes = {}
    for name, mesh in (("square", square), ("disc", disc)):
        as_mesh = dataclasses.replace(block, shape="mesh", mesh=mesh)
        moved = dataclasses.replace(scene, objects=tuple(as_mesh if o is block else o for o in scene.objects))
        with World(moved) as world:
            world.reset(seed=1)
            expert = ScriptedExpert(world, task)
            expert.reset()
            outcomes[name] = (expert._steer, run_expert_episode(world, task, seed=1).success)
    assert outcomes["square"] == (False, True)
    assert outcomes["disc"][0] is True


def test_the_vision_expert_measures_the_pushed_mesh_when_calibrated(tmp_path):
    """A vision expert has no simulator: it measures each object's footprint on the nominal twin
    when it is calibrated, and pushes a square mesh straight from the camera image."""
    import dataclasses

    from benchmark.episodes.env import EnvConfig, TwinEnv
    from benchmark.episodes.episode import run_episode
    from benchmark.policies.perception import VisionExpert
    from benchmark.scenes.authored import package_scene

    scene = load_scene("block_push")
    block = scene.object(scene.task().object)
    square = _obj_file(tmp_path / "square.obj", np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * 0.025, 0.02)
    as_mesh = dataclasses.replace(block, shape="mesh", mesh=square)
    moved = dataclasses.replace(scene, objects=tuple(as_mesh if o is block else o for o in scene.objects))
    env = TwinEnv(package_scene(moved, tmp_path / "twin"), EnvConfig(image_size=(160, 120), render="mesh"))
    expert = VisionExpert.calibrated(env)
    assert expert.rectangularity[block.name] > 0.95
    result = run_episode(env, expert, seed=2)
    env.close()
    assert expert._steer is False and result.termination != "policy_error", result
