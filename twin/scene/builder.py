"""Compose a :class:`SceneSpec` into an ``MjSpec``: table, room, objects, lights, cameras, robot.

Everything is built through ``MjSpec`` calls; no XML text is written or pasted.
"""

from __future__ import annotations

import numpy as np

from twin.scene.gl import import_mujoco
from twin.scene.mesh_library import fitted_mesh
from twin.scene.robot import PandaConfig, panda_spec
from twin.scene.spec import ObjectSpec, PhysicsSpec, SceneSpec
from twin.scene.textures import TextureSpec, render_texture
from twin.transforms import fovy_from_intrinsics, mujoco_camera_quat, mujoco_quat_from_opencv, yaw_quat

mujoco = import_mujoco()

ROBOT_PREFIX = "robot/"
SCAN_CAMERA = "scan"  # a camera whose pose the recorder sets each frame for the scan sweep
FLOOR_Z = -0.75
OBJECT_GEOM_GROUP = 0


def texture_material(
    spec, name: str, image: np.ndarray, repeat=(1.0, 1.0), cube: bool = False, alpha: float = 1.0
) -> str:
    """Add a material showing ``image`` (uint8 H×W×3), as a 2-D or a cube texture; return its name.

    Cube textures map onto any geom, meshes without texture coordinates included.
    """
    kind = mujoco.mjtTexture.mjTEXTURE_CUBE if cube else mujoco.mjtTexture.mjTEXTURE_2D
    texture = spec.add_texture(
        name=f"{name}_tex", type=kind, width=image.shape[1], height=image.shape[0], nchannel=3
    )
    texture.data = np.ascontiguousarray(image, dtype=np.uint8).tobytes()
    material = spec.add_material(name=name, rgba=[1.0, 1.0, 1.0, alpha], texrepeat=list(repeat))
    material.textures[mujoco.mjtTextureRole.mjTEXROLE_RGB] = f"{name}_tex"
    if cube:
        material.texuniform = True
    return name


def _material(spec, name: str, rgba, texture: TextureSpec | None, repeat=(1.0, 1.0)) -> str:
    """Add a material (textured if ``texture``) and return its name."""
    if texture is not None:
        return texture_material(spec, name, render_texture(texture), repeat, alpha=rgba[3])
    spec.add_material(name=name, rgba=list(rgba))
    return name


def prism_vertices(radius: float, half_height: float, sides: int) -> np.ndarray:
    """Vertices of a regular prism with ``sides`` faces around z, centred at the origin."""
    angles = 2 * np.pi * np.arange(sides) / sides
    ring = np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=1)
    top = np.hstack([ring, np.full((sides, 1), half_height)])
    bottom = np.hstack([ring, np.full((sides, 1), -half_height)])
    return np.vstack([top, bottom])


def object_half_height(obj: ObjectSpec) -> float:
    """Half the object's height: the z of its centre when it rests on the table."""
    if obj.shape in ("box", "tray", "mesh"):
        return obj.size[2]
    if obj.shape == "sphere":
        return obj.size[0]
    return obj.size[1]


def add_object(spec, obj: ObjectSpec, top_z: float = 0.0) -> None:
    """Add ``obj`` resting on a table top at height ``top_z``."""
    pos = [obj.xy[0], obj.xy[1], top_z + object_half_height(obj)]
    body = spec.worldbody.add_body(name=obj.name, pos=pos, quat=list(yaw_quat(obj.yaw)))
    if not obj.fixed:
        body.add_freejoint(name=f"{obj.name}_joint")
    material = _material(spec, f"{obj.name}_mat", obj.rgba, obj.texture)
    common = {
        "material": material,
        "friction": [obj.friction, 0.005, 0.0001],
        "condim": 4,
        "group": OBJECT_GEOM_GROUP,
    }
    if obj.visual_only:
        common.update(contype=0, conaffinity=0)
    geoms = []
    if obj.shape == "box":
        geoms.append(body.add_geom(type=mujoco.mjtGeom.mjGEOM_BOX, size=list(obj.size), **common))
    elif obj.shape == "cylinder":
        geoms.append(body.add_geom(type=mujoco.mjtGeom.mjGEOM_CYLINDER, size=[*obj.size, 0], **common))
    elif obj.shape == "sphere":
        geoms.append(body.add_geom(type=mujoco.mjtGeom.mjGEOM_SPHERE, size=[obj.size[0], 0, 0], **common))
    elif obj.shape == "prism":
        radius, half_height, sides = obj.size
        mesh = spec.add_mesh(name=f"{obj.name}_mesh")
        mesh.uservert = prism_vertices(radius, half_height, int(sides)).ravel().tolist()
        geoms.append(body.add_geom(type=mujoco.mjtGeom.mjGEOM_MESH, meshname=mesh.name, **common))
    elif obj.shape in ("bowl", "cup"):
        for pos, quat, size, kind in vessel_parts(obj):
            geoms.append(body.add_geom(type=kind, pos=pos, quat=quat, size=size, **common))
    elif obj.shape == "mesh" and obj.mesh is not None:
        vertices, faces = fitted_mesh(obj.mesh, obj.size)
        mesh = spec.add_mesh(name=f"{obj.name}_mesh")
        mesh.uservert = vertices.ravel().tolist()
        mesh.userface = faces.ravel().tolist()
        mesh.inertia = mujoco.mjtMeshInertia.mjMESH_INERTIA_CONVEX  # props need not be watertight
        geoms.append(body.add_geom(type=mujoco.mjtGeom.mjGEOM_MESH, meshname=mesh.name, **common))
    elif obj.shape == "mesh":
        raise ValueError(f"object {obj.name!r}: a mesh object's geometry lives in its twin's scene.xml")
    else:  # tray: a floor and four walls
        hx, hy, hz, wall = obj.size
        parts = [
            ([0, 0, -hz + wall / 2], [hx, hy, wall / 2]),
            ([hx - wall / 2, 0, 0], [wall / 2, hy, hz]),
            ([-hx + wall / 2, 0, 0], [wall / 2, hy, hz]),
            ([0, hy - wall / 2, 0], [hx, wall / 2, hz]),
            ([0, -hy + wall / 2, 0], [hx, wall / 2, hz]),
        ]
        for p, s in parts:
            geoms.append(body.add_geom(type=mujoco.mjtGeom.mjGEOM_BOX, pos=p, size=s, **common))
    total_volume = sum(_geom_volume(g) for g in geoms)
    for g in geoms:
        g.mass = obj.mass * _geom_volume(g) / total_volume


CUP_STAVES = 16


def vessel_parts(obj: ObjectSpec) -> list[tuple[list, list, list, int]]:
    """The geoms of a bowl or cup as (pos, quat, size, MuJoCo geom type): a disc floor one wall
    thick, and upright box staves whose outer faces touch a circle of the vessel's radius."""
    radius, half_height, wall = obj.size[:3]
    staves = int(obj.size[3]) if obj.shape == "bowl" else CUP_STAVES
    parts = [([0.0, 0.0, -half_height + wall / 2], [1.0, 0.0, 0.0, 0.0], [radius, wall / 2, 0.0],
              mujoco.mjtGeom.mjGEOM_CYLINDER)]  # fmt: skip
    half_width = (radius - wall) * np.tan(np.pi / staves) + wall / 2  # neighbours close the ring
    for k in range(staves):
        angle = 2 * np.pi * k / staves
        r = radius - wall / 2
        parts.append((
            [r * np.cos(angle), r * np.sin(angle), 0.0],
            list(yaw_quat(angle)),
            [wall / 2, half_width, half_height],
            mujoco.mjtGeom.mjGEOM_BOX,
        ))  # fmt: skip
    return parts


def _geom_volume(geom) -> float:
    s = geom.size
    if geom.type == mujoco.mjtGeom.mjGEOM_BOX:
        return 8 * s[0] * s[1] * s[2]
    if geom.type == mujoco.mjtGeom.mjGEOM_CYLINDER:
        return 2 * np.pi * s[0] ** 2 * s[1]
    if geom.type == mujoco.mjtGeom.mjGEOM_SPHERE:
        return 4 / 3 * np.pi * s[0] ** 3
    return 1.0  # a single mesh geom takes the whole mass


def _add_room(spec, scene: SceneSpec) -> None:
    table = scene.table
    hx, hy, hz = table.half_extents
    table_mat = _material(spec, "table_mat", table.rgba, table.texture, repeat=(2, 2))
    cx, cy = table.centre
    top = spec.worldbody.add_body(
        name="table", pos=[cx, cy, table.top_z - hz], quat=list(yaw_quat(table.yaw))
    )
    top.add_geom(
        name="table_top",
        type=mujoco.mjtGeom.mjGEOM_BOX,
        size=[hx, hy, hz],
        material=table_mat,
        friction=[table.friction, 0.005, 0.0001],
    )
    leg_mat = _material(spec, "leg_mat", (0.25, 0.25, 0.27, 1.0), None)
    leg_half = (-FLOOR_Z - 2 * hz) / 2
    for sx in (-1, 1):
        for sy in (-1, 1):
            top.add_geom(
                type=mujoco.mjtGeom.mjGEOM_BOX,
                pos=[sx * (hx - 0.04), sy * (hy - 0.04), -hz - leg_half],
                size=[0.025, 0.025, leg_half],
                material=leg_mat,
                contype=0,
                conaffinity=0,
            )
    floor_mat = _material(spec, "floor_mat", (0.45, 0.45, 0.47, 1.0), scene.floor_texture, repeat=(4, 4))
    # the room stands about the table: the same floor and walls in any world frame
    room = spec.worldbody.add_frame(pos=[cx, cy, table.top_z], quat=list(yaw_quat(table.yaw)))
    room.add_geom(
        name="floor",
        type=mujoco.mjtGeom.mjGEOM_PLANE,
        pos=[0, 0, FLOOR_Z],
        size=[3, 3, 0.1],
        material=floor_mat,
    )
    wall_mat = _material(spec, "wall_mat", (0.75, 0.75, 0.72, 1.0), scene.wall_texture, repeat=(3, 2))
    for name, pos, size in (
        ("wall_back", [-1.6, 0, 0.5], [0.02, 2.5, 1.25]),
        ("wall_side_left", [0, 2.2, 0.5], [2.5, 0.02, 1.25]),
        ("wall_side_right", [0, -2.2, 0.5], [2.5, 0.02, 1.25]),
        ("wall_front", [2.2, 0, 0.5], [0.02, 2.5, 1.25]),
    ):
        room.add_geom(
            name=name,
            type=mujoco.mjtGeom.mjGEOM_BOX,
            pos=pos,
            size=size,
            material=wall_mat,
            contype=0,
            conaffinity=0,
        )


def new_scene_spec(name: str, physics: PhysicsSpec, max_width: int = 640, max_height: int = 480):
    """An empty ``MjSpec`` with the simulation options every TwinArena world shares."""
    spec = mujoco.MjSpec()
    spec.modelname = name
    spec.option.timestep = physics.timestep
    spec.option.gravity = list(physics.gravity)
    spec.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    spec.option.cone = mujoco.mjtCone.mjCONE_ELLIPTIC
    spec.option.impratio = 10.0
    spec.visual.quality.shadowsize = physics.shadow_size
    spec.visual.global_.offwidth = max(640, max_width)
    spec.visual.global_.offheight = max(480, max_height)
    spec.visual.headlight.ambient = [0.25, 0.25, 0.25]
    spec.visual.headlight.diffuse = [0.35, 0.35, 0.35]
    spec.visual.headlight.specular = [0.0, 0.0, 0.0]
    spec.stat.center = [0, 0, 0]
    spec.stat.extent = 1.5
    return spec


def add_lights(spec, lights) -> None:
    """Add :class:`LightSpec` lights to the world body."""
    for i, light in enumerate(lights):
        spec.worldbody.add_light(
            name=f"light{i}",
            pos=list(light.pos),
            dir=list(light.dir),
            diffuse=list(light.diffuse),
            ambient=list(light.ambient),
            specular=[0.2, 0.2, 0.2],
            type=mujoco.mjtLightType.mjLIGHT_DIRECTIONAL
            if light.directional
            else mujoco.mjtLightType.mjLIGHT_SPOT,
            castshadow=light.castshadow,
        )


def attach_robot(spec, base_pos, robot: PandaConfig | None = None, base_quat=(1.0, 0.0, 0.0, 0.0)) -> None:
    """Attach the Panda under the ``robot/`` prefix with its base at ``base_pos``."""
    frame = spec.worldbody.add_frame(pos=list(base_pos), quat=list(base_quat))
    spec.attach(panda_spec(robot), prefix=ROBOT_PREFIX, frame=frame)


def _add_cameras(spec, scene: SceneSpec) -> None:
    """The scene's look-at cameras, then the scan camera at the main (first) camera's pose."""
    for name, cam in [(cam.name, cam) for cam in scene.cameras] + [(SCAN_CAMERA, scene.cameras[0])]:
        spec.worldbody.add_camera(
            name=name,
            pos=list(cam.pos),
            quat=list(mujoco_camera_quat(cam.pos, cam.lookat)),
            fovy=cam.fovy,
        )


def build_scene_spec(
    scene: SceneSpec, robot: PandaConfig | None = None, with_robot: bool = True, with_cameras: bool = True
):
    """The ``MjSpec`` of a whole scene; compile it with :func:`twin.scene.robot.compile_spec`.

    ``with_cameras=False`` leaves out the scene's cameras and the scan camera (a twin package
    adds them from its ``calibration.json``); ``with_robot=False`` leaves out the Panda.
    """
    spec = new_scene_spec(
        scene.name,
        scene.physics,
        max(c.width for c in scene.cameras),
        max(c.height for c in scene.cameras),
    )
    _add_room(spec, scene)
    # the model's centre, about which directional lights draw their shadow maps, is the table
    # top's centre, so shadows fall alike in any world frame
    spec.stat.center = [*scene.table.centre, scene.table.top_z]
    add_lights(spec, scene.lights)
    for obj in scene.objects:
        add_object(spec, obj, scene.table.top_z)
    if with_cameras:
        _add_cameras(spec, scene)
    if with_robot:
        attach_robot(spec, scene.robot_base, robot)
    return spec


def add_pinhole_camera(parent, name: str, K, width: int, height: int, T_world_camera) -> None:  # noqa: N803
    """A MuJoCo camera that sees what an OpenCV camera with ``K`` at ``T_world_camera`` sees.

    Square pixels with a centred principal point become a plain ``fovy``; anything else uses
    MuJoCo's pixel intrinsics (focal length and principal point in pixels on a ``width``×``height``
    sensor).
    """
    K = np.asarray(K, dtype=float)
    pose = np.asarray(T_world_camera, dtype=float)
    quat = mujoco_quat_from_opencv(pose[:3, :3])
    camera = parent.add_camera(name=name, pos=list(pose[:3, 3]), quat=list(quat))
    centred = abs(K[0, 2] - width / 2) < 1e-3 and abs(K[1, 2] - height / 2) < 1e-3
    if centred and abs(K[0, 0] - K[1, 1]) < 1e-6 * K[1, 1]:
        camera.fovy = fovy_from_intrinsics(K, height)
        return
    camera.resolution = [width, height]
    camera.sensor_size = [width, height]  # one length unit per pixel
    camera.focal_pixel = [K[0, 0], K[1, 1]]
    camera.principal_pixel = [width / 2 - K[0, 2], height / 2 - K[1, 2]]  # MuJoCo's sign convention
