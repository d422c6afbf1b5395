"""A user's MJCF or URDF world as a validity reference: robot stripped, free bodies named, the
table and zones found, meshes copied; the result builds, stands where the world put things, and
the expert solves its task in it. Bad worlds are one line."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.scenes.mjcf_world import MjcfWorldError, import_world

# a lab bench in its own frame: the table top at 0.74 m, turned 0.2 rad, a two-link arm on it, a
# wedge mesh, a five-box bin, a drawn goal square, a target site, a far wall and a tilted-off camera
WORLD = """
<mujoco model="bench">
  <compiler angle="radian"/>
  <option timestep="0.002" gravity="0 0 -9.81"/>
  <asset>
    <material name="oak" rgba="0.6 0.45 0.3 1"/>
    <mesh name="wedge" vertex="-0.03 -0.02 -0.02  0.03 -0.02 -0.02  0.03 0.02 -0.02  -0.03 0.02 -0.02
                               -0.03 -0.02 0.02  -0.03 0.02 0.02"/>
  </asset>
  <worldbody>
    <light name="sun" pos="0 0 3" dir="0 0 -1" directional="true"/>
    <geom name="floor" type="plane" size="3 3 0.1"/>
    <geom name="wall" type="box" size="0.05 2 1" pos="2.5 0 1"/>
    <camera name="overview" pos="1.6 0.3 1.5" xyaxes="0 1 0 -0.6 0 0.8"/>
    <body name="table" pos="0.9 0.2 0.72" euler="0 0 0.2">
      <geom name="top" type="box" size="0.55 0.45 0.02" material="oak"/>
      <geom name="top_visual" type="box" size="0.55 0.45 0.02" contype="0" conaffinity="0"
            rgba="0.6 0.45 0.3 1"/>
      <geom name="goal" type="box" size="0.05 0.05 0.0005" pos="0.15 -0.12 0.0205" contype="0"
            conaffinity="0" rgba="0.1 0.7 0.2 1"/>
      <site name="spot" type="cylinder" size="0.04 0.001" pos="0.2 0.2 0.021" rgba="0.9 0.1 0.1 1"/>
    </body>
    <body name="arm_base" pos="0.45 0.1 0.74">
      <geom type="cylinder" size="0.06 0.05" pos="0 0 0.05"/>
      <body name="link1" pos="0 0 0.1">
        <joint name="shoulder" type="hinge" axis="0 0 1"/>
        <geom type="capsule" fromto="0 0 0 0.3 0 0" size="0.03"/>
      </body>
    </body>
    <body name="block" pos="0.95 0.05 0.76" euler="0 0 0.3">
      <freejoint/>
      <geom type="box" size="0.02 0.02 0.02" rgba="0.9 0.2 0.1 1" mass="0.1"/>
    </body>
    <body name="can" pos="1.0 0.35 0.79">
      <freejoint/>
      <geom type="cylinder" size="0.03 0.05" rgba="0.2 0.3 0.9 1" mass="0.2"/>
    </body>
    <body name="wedge" pos="0.8 0.4 0.761">
      <freejoint/>
      <geom type="mesh" mesh="wedge" rgba="0.9 0.8 0.1 1" mass="0.05"/>
    </body>
    <body name="bin" pos="1.15 0.05 0.78">
      <freejoint/>
      <geom type="box" size="0.08 0.06 0.005" pos="0 0 -0.035" mass="0.1"/>
      <geom type="box" size="0.005 0.06 0.04" pos="0.075 0 0" mass="0.02"/>
      <geom type="box" size="0.005 0.06 0.04" pos="-0.075 0 0" mass="0.02"/>
      <geom type="box" size="0.08 0.005 0.04" pos="0 0.055 0" mass="0.02"/>
      <geom type="box" size="0.08 0.005 0.04" pos="0 -0.055 0" mass="0.02"/>
    </body>
  </worldbody>
</mujoco>
"""


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    root = tmp_path_factory.mktemp("mjcf")
    path = root / "bench.xml"
    path.write_text(WORLD)
    return import_world(path, "push:block:goal", root / "assets"), root


def test_the_robot_is_stripped_and_the_world_read_into_a_scene(imported):
    world, root = imported
    scene = world.scene
    objects = {o.name: o for o in scene.objects}
    assert set(objects) == {"block", "can", "wedge", "bin", "goal"}  # no arm, no wall, no floor
    assert scene.robot_base == pytest.approx((0.45, 0.1, 0.74))  # where the arm was mounted
    assert scene.table.top_z == pytest.approx(0.74) and scene.table.yaw == pytest.approx(0.2)
    assert scene.table.centre == pytest.approx((0.9, 0.2)) and scene.table.half_extents[:2] == pytest.approx(
        (0.55, 0.45)
    )
    block = objects["block"]
    assert (block.shape, block.size, block.yaw) == ("box", pytest.approx((0.02,) * 3), pytest.approx(0.3))
    assert block.xy == pytest.approx((0.95, 0.05)) and block.mass == pytest.approx(0.1)
    assert (objects["can"].shape, objects["can"].size) == ("cylinder", pytest.approx((0.03, 0.05)))
    assert objects["bin"].shape == "tray"
    assert objects["bin"].size == pytest.approx((0.08, 0.06, 0.04, 0.01), abs=1e-3)
    wedge = objects["wedge"]
    assert wedge.shape == "mesh" and wedge.size == pytest.approx((0.03, 0.02, 0.02))
    assert wedge.mesh.startswith(str((root / "assets").resolve())) and wedge.mesh.endswith("wedge.obj")
    goal = objects["goal"]
    assert goal.visual_only and goal.fixed and goal.shape == "box"
    assert scene.cameras[0].name == "front" and scene.cameras[0].pos == pytest.approx((1.6, 0.3, 1.5))
    task = scene.task()
    assert (task.family, task.object, task.target) == ("push", "block", "goal")
    assert any("front camera" in note for note in world.notes)
    assert any("dropped" in note for note in world.notes)


def test_the_imported_reference_stands_where_the_world_put_things(imported):
    """Compiled as our scene (table, room, Panda at the mount), every object rests where the
    world file had it, on the table top."""
    from twin.scene.world import World

    world, _ = imported
    expected = {"block": (0.95, 0.05), "can": (1.0, 0.35), "wedge": (0.8, 0.4)}
    with World(world.scene) as sim:
        sim.reset(seed=0)
        sim.settle(0.3)
        poses = sim.object_poses()
    for name, xy in expected.items():
        assert np.allclose(poses[name].pos[:2], xy, atol=2e-3), name
        assert poses[name].pos[2] > world.scene.table.top_z  # resting on the top, not through it


def test_a_site_named_as_the_target_becomes_a_zone_and_the_expert_pushes_to_it(tmp_path, imported):
    """The task's target may be a site; the scripted expert then solves the push in the imported
    world, in its own frame."""
    from benchmark.scenes.rollout import run_expert_episode
    from twin.scene.world import World

    _, root = imported
    world = import_world(root / "bench.xml", "push:block:spot", tmp_path / "assets")
    spot = world.scene.object("spot")
    assert spot.visual_only and spot.shape == "cylinder"
    with World(world.scene) as sim:
        outcome = run_expert_episode(sim, world.scene.task(), seed=0)
    assert outcome.success, outcome


def test_a_urdf_scene_with_floating_links_is_read(tmp_path):
    urdf = tmp_path / "cell.urdf"
    urdf.write_text("""
<robot name="cell">
  <link name="world"/>
  <link name="bench">
    <collision><origin xyz="0 0 0.5"/><geometry><box size="1.2 1.0 0.04"/></geometry></collision>
    <inertial><mass value="10"/><inertia ixx="1" iyy="1" izz="1" ixy="0" ixz="0" iyz="0"/></inertial>
  </link>
  <joint name="bench_fixed" type="fixed"><parent link="world"/><child link="bench"/></joint>
  <link name="cube">
    <collision><geometry><box size="0.04 0.04 0.04"/></geometry></collision>
    <inertial><mass value="0.1"/>
      <inertia ixx="1e-4" iyy="1e-4" izz="1e-4" ixy="0" ixz="0" iyz="0"/></inertial>
  </link>
  <joint name="cube_free" type="floating"><parent link="world"/><child link="cube"/>
    <origin xyz="0.1 0 0.54"/></joint>
  <link name="box">
    <collision><geometry><box size="0.1 0.1 0.06"/></geometry></collision>
    <inertial><mass value="0.3"/>
      <inertia ixx="1e-3" iyy="1e-3" izz="1e-3" ixy="0" ixz="0" iyz="0"/></inertial>
  </link>
  <joint name="box_free" type="floating"><parent link="world"/><child link="box"/>
    <origin xyz="0.3 0.1 0.55"/></joint>
</robot>""")
    world = import_world(urdf, "stack:cube:box", tmp_path / "assets")
    assert {o.name for o in world.scene.objects} == {"cube", "box"}
    assert world.scene.table.top_z == pytest.approx(0.52)
    assert any("no robot" in note for note in world.notes) and any("camera" in note for note in world.notes)


@pytest.mark.parametrize(
    "task, edit, message",
    [
        ("push:block", None, "--task must be FAMILY:OBJECT:TARGET"),
        ("throw:block:goal", None, "task family 'throw' is not one of"),
        ("push:duck:goal", None, "the task's object 'duck' is not a free body"),
        ("push:block:goal", ('pos="0.9 0.2 0.72"', 'pos="0.9 0.2 -3"'), "no table"),
        ("push:block:goal", ("</worldbody>", "<geom type='sphere'/></worldbody>"), "MuJoCo cannot read it"),
    ],
)
def test_a_world_that_cannot_be_read_is_one_line(tmp_path, task, edit, message):
    text = WORLD
    if edit is not None:
        text = text.replace(*edit, 1)
    path = tmp_path / "bench.xml"
    path.write_text(text)
    with pytest.raises(MjcfWorldError, match=message) as err:
        import_world(path, task, tmp_path / "assets")
    assert "\n" not in str(err.value) and str(path) in str(err.value)
