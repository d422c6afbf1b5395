"""PyBullet backend: the mirrored bodies, determinism, servo tracking, drops and the expert."""

import numpy as np
import pybullet as p
import pytest

from benchmark.scenes.registry import load_scene, scene_names
from benchmark.scenes.rollout import run_expert_episode
from benchmark.sim.bullet_world import (
    BACKENDS,
    BulletWorld,
    bullet_friction,
    compose,
    free_joint_qvel,
    invert,
    make_world,
    quat_rotate,
    servo_position_gain,
    wxyz_from_xyzw,
    xyzw_from_wxyz,
)
from twin.scene.builder import build_scene_spec, prism_vertices
from twin.scene.gl import import_mujoco
from twin.scene.world import World
from twin.transforms import yaw_quat

mujoco = import_mujoco()

ALL_TASKS = [(name, task.name) for name in scene_names() for task in load_scene(name).tasks]


def _shapes(world: BulletWorld, name: str):
    return p.getCollisionShapeData(world.bullet_ids[name], -1, physicsClientId=world.client)


def _dynamics(world: BulletWorld, name: str):
    return p.getDynamicsInfo(world.bullet_ids[name], -1, physicsClientId=world.client)


# -- pure helpers ----------------------------------------------------------------------------
def test_quaternion_order_and_pose_algebra():
    q = np.array([0.5, 0.5, -0.5, 0.5])
    assert xyzw_from_wxyz(q) == [0.5, -0.5, 0.5, 0.5]
    assert np.array_equal(wxyz_from_xyzw(xyzw_from_wxyz(q)), q)
    pos, quat = np.array([0.1, -0.2, 0.3]), yaw_quat(0.7)
    identity = compose(pos, quat, *invert(pos, quat))
    assert np.allclose(identity[0], 0) and np.allclose(identity[1], [1, 0, 0, 0])
    assert np.allclose(quat_rotate(yaw_quat(np.pi / 2), [1, 0, 0]), [0, 1, 0])


def test_friction_and_servo_gain_conversions():
    assert bullet_friction(0.6) ** 2 == pytest.approx(0.6)  # Bullet multiplies the pair's values
    # a servo lagging (kv + damping) / kp = 0.12 s at 2 ms steps removes 1/60 of the error a step
    assert servo_position_gain(0.002, kp=4500, kv=538, damping=2) == pytest.approx(0.002 / 0.12)
    with pytest.raises(ValueError, match="kp"):
        servo_position_gain(0.002, kp=0, kv=1, damping=0)


def test_free_joint_velocity_of_a_body_spinning_about_its_com():
    # COM 0.1 m along x from the origin, spinning at 2 rad/s about z: the origin moves at 0.2 m/s along -y
    qvel = free_joint_qvel([0, 0, 0], [0, 0, 2.0], yaw_quat(np.pi / 2), np.array([0.1, 0, 0]))
    assert np.allclose(qvel[:3], [0, -0.2, 0])
    assert np.allclose(qvel[3:], [0, 0, 2.0])  # about the body's z too


# -- the mirrored world ----------------------------------------------------------------------
def test_bodies_masses_and_friction_mirror_the_model():
    scene = load_scene("tray_pick")
    with BulletWorld(scene) as world:
        m = world.model
        assert set(world.bullet_ids) == {"world", "table", "red_cube", "blue_tray", "grey_can"}
        tray = _shapes(world, "blue_tray")
        assert len(tray) == 5 and all(s[2] == p.GEOM_BOX for s in tray)
        tray_geoms = [g for g in range(m.ngeom) if m.geom_bodyid[g] == m.body("blue_tray").id]
        assert sorted(np.round(np.array([s[3] for s in tray]) / 2, 6).tolist()) == sorted(
            np.round(m.geom_size[tray_geoms], 6).tolist()
        )
        assert _dynamics(world, "table")[0] == 0.0  # no free joint: static
        for name in ("red_cube", "blue_tray", "grey_can"):
            body = m.body(name).id
            mass, friction, inertia = _dynamics(world, name)[:3]
            assert mass == pytest.approx(m.body_mass[body])
            assert np.allclose(inertia, m.body_inertia[body])
            assert friction == pytest.approx(bullet_friction(m.geom_friction[m.body_geomadr[body], 0]))
        finger = world._finger_joints[0]
        finger_friction = p.getDynamicsInfo(world.robot_id, finger, physicsClientId=world.client)[1]
        assert finger_friction == pytest.approx(bullet_friction(1.5))

        m.body_mass[m.body("red_cube").id] = 0.123  # the model is mirrored again at every reset
        m.geom_friction[m.body_geomadr[m.body("red_cube").id], 0] = 0.3
        world.reset(0)
        assert _dynamics(world, "red_cube")[0] == pytest.approx(0.123)
        assert _dynamics(world, "red_cube")[1] == pytest.approx(bullet_friction(0.3))


def test_visual_only_geoms_are_skipped_and_meshes_become_convex_hulls():
    with BulletWorld(load_scene("kitchen_clutter")) as world:
        assert "marked_zone" not in world.bullet_ids  # visual only: no collision geoms
        assert [s[2] for s in _shapes(world, "orange_hex")] == [p.GEOM_MESH]
        assert [s[2] for s in _shapes(world, "world")] == [p.GEOM_PLANE]  # the floor


def test_a_twin_style_body_added_to_the_spec_is_mirrored_and_rests_like_in_mujoco():
    """A body made only for this model (a visual mesh plus two convex collision parts in
    group 3, off-centre so its inertial frame is shifted) falls onto the table in both engines."""
    scene = load_scene("cube_stack")
    spec = build_scene_spec(scene)
    for name, radius in (("part_a", 0.02), ("part_b", 0.012)):
        spec.add_mesh(name=name).uservert = prism_vertices(radius, 0.015, 8).ravel().tolist()
    body = spec.worldbody.add_body(name="twin_object", pos=[-0.15, 0.05, 0.15], quat=list(yaw_quat(0.4)))
    body.add_freejoint()
    mesh = mujoco.mjtGeom.mjGEOM_MESH
    body.add_geom(type=mesh, meshname="part_a", contype=0, conaffinity=0, group=0, mass=0)
    body.add_geom(type=mesh, meshname="part_a", group=3, mass=0.06)
    body.add_geom(type=mesh, meshname="part_b", pos=[0.03, 0.0, 0.0], group=3, mass=0.02)
    rest = {}
    for cls in (World, BulletWorld):
        with cls(scene, spec=spec) as world:
            for _ in range(10):
                world.step()
            rest[cls] = world.data.xpos[world.model.body("twin_object").id].copy()
            if cls is BulletWorld:
                assert [s[2] for s in _shapes(world, "twin_object")] == [p.GEOM_MESH, p.GEOM_MESH]
    assert rest[World][2] == pytest.approx(scene.table.top_z + 0.015, abs=1e-3)
    assert np.allclose(rest[BulletWorld], rest[World], atol=2e-3)


def test_same_seed_gives_identical_states():
    scene = load_scene("cube_stack")

    def run(world, seed):
        world.reset(seed)
        world.data.ctrl[world.arm_ctrl] += 0.1
        for _ in range(3):
            world.step()
        return world.data.qpos.copy()

    with BulletWorld(scene) as first, BulletWorld(scene) as second:
        a = run(first, 3)
        run(second, 0)  # another episode before: the reset must leave nothing behind
        b = run(second, 3)
        assert np.array_equal(a, b)
        assert not np.array_equal(a, run(first, 4))


def test_joint_targets_are_tracked_like_the_mujoco_servos():
    scene = load_scene("cube_stack")
    lag = {}
    for cls in (World, BulletWorld):
        with cls(scene) as world:
            world.reset(0)
            target = world.arm_joints() + np.array([0.2, -0.2, 0.2, 0.2, -0.2, 0.2, 0.2])
            world.data.ctrl[world.arm_ctrl] = target
            world.step()
            lag[cls] = np.abs(target - world.arm_joints()) / 0.2  # error left after one period
            for _ in range(7):
                world.step()
            assert np.abs(target - world.arm_joints()).max() < 5e-3
            world.data.ctrl[world.gripper_ctrl] = 0.0
            world.step()
            assert world.gripper_opening() < 1e-3
    assert np.all((lag[BulletWorld] > 0.3) & (lag[BulletWorld] < 0.7))  # MuJoCo: ~0.45 to 0.55
    assert np.abs(lag[BulletWorld] - lag[World])[:5].max() < 0.12


@pytest.mark.parametrize("name, height", [("red_cube", 0.02), ("yellow_ball", 0.025)])
def test_a_dropped_object_rests_on_the_table_in_both_engines(name, height):
    scene = load_scene("cube_stack")
    spec = build_scene_spec(scene)
    spec.body(name).pos = [*spec.body(name).pos[:2], 0.3]
    rest = {}
    for cls in (World, BulletWorld):
        with cls(scene, spec=spec) as world:
            assert world.data.qpos[world._free_qpos[name] + 2] == pytest.approx(0.3)  # not reset
            for _ in range(15):
                world.step()
            rest[cls] = world.object_poses()[name].pos
    for pos in rest.values():
        assert pos[2] == pytest.approx(scene.table.top_z + height, abs=1e-3)
    assert np.linalg.norm(rest[World][:2] - rest[BulletWorld][:2]) < 0.01


@pytest.mark.parametrize("scene_name, task_name", ALL_TASKS)
def test_expert_succeeds_in_pybullet(scene_name, task_name):
    scene = load_scene(scene_name)
    with BulletWorld(scene) as world:
        outcomes = [run_expert_episode(world, scene.task(task_name), seed) for seed in range(2)]
    assert all(o.success and o.progress == 1.0 for o in outcomes), outcomes


def test_make_world_picks_the_backend_and_names_an_unknown_one():
    scene = load_scene("block_push")
    assert {"mujoco": World, "pybullet": BulletWorld} == BACKENDS
    with make_world(scene, backend="pybullet") as world:
        client = world.client
        assert isinstance(world, BulletWorld) and p.isConnected(physicsClientId=client)
    assert not p.isConnected(physicsClientId=client)  # close() disconnected it
    with pytest.raises(ValueError, match="unknown physics backend 'x'; expected one of mujoco, pybullet"):
        make_world(scene, backend="x")
