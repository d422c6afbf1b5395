"""Apply perturbation :class:`~benchmark.perturbations.axes.Edits` to a twin: its scene description,
its cameras, its ``MjSpec`` (before compiling) and its splats.

Every function here is a transformation of a copy; level-0 edits return their input unchanged.
Physical edits (sizes, masses, friction, damping, distractors) go into the ``MjSpec``, so any
physics backend built from the compiled model sees them; appearance edits go into both the
MuJoCo materials (mesh rendering) and the splats (splat rendering).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from benchmark.perturbations.axes import Edits
from twin.scene.builder import add_object, texture_material
from twin.scene.gl import import_mujoco
from twin.scene.spec import ObjectSpec, SceneSpec
from twin.scene.textures import TextureSpec, render_texture
from twin.transforms import yaw_quat

mujoco = import_mujoco()

BACKGROUND_GEOMS = ("floor", "wall_back", "wall_side_left", "wall_side_right", "wall_front")
TEXTURE_PERIOD = 0.3  # metres of table or background per texture repeat in splat space


# -- the scene description ------------------------------------------------------------------------
def _scaled_size(obj: ObjectSpec, factor: float) -> tuple[float, ...]:
    if obj.shape == "prism":
        return (obj.size[0] * factor, obj.size[1] * factor, obj.size[2])
    return tuple(v * factor for v in obj.size)


def perturbed_scene(scene: SceneSpec, edits: Edits) -> SceneSpec:
    """``scene`` with objects moved, turned, scaled, reweighed and the distractors added."""
    objects = []
    for obj in scene.objects:
        changes = {}
        if obj.name in edits.object_offset:
            changes["xy"] = tuple(float(v) for v in np.asarray(obj.xy) + edits.object_offset[obj.name])
        if obj.name in edits.object_yaw:
            changes["yaw"] = obj.yaw + float(edits.object_yaw[obj.name])
        if obj.name in edits.object_scale:
            changes["size"] = _scaled_size(obj, edits.object_scale[obj.name])
        if obj.name in edits.mass_scale:
            changes["mass"] = obj.mass * edits.mass_scale[obj.name]
        if obj.name in edits.friction_scale:
            changes["friction"] = obj.friction * edits.friction_scale[obj.name]
        objects.append(dataclasses.replace(obj, **changes) if changes else obj)
    objects += edits.distractors
    instruction = edits.instruction
    tasks = (
        tuple(dataclasses.replace(t, instruction=instruction) for t in scene.tasks)
        if instruction
        else scene.tasks
    )
    return dataclasses.replace(scene, objects=tuple(objects), tasks=tasks)


# -- cameras ---------------------------------------------------------------------------------------
def look_at_point(T_world_camera: np.ndarray, table_z: float, fallback: float = 0.6) -> np.ndarray:  # noqa: N803
    """Where the camera's optical axis meets the table plane (or ``fallback`` m ahead)."""
    origin, axis = T_world_camera[:3, 3], T_world_camera[:3, 2]
    if axis[2] < -1e-3:
        t = (table_z - origin[2]) / axis[2]
        if 0 < t < 5:
            return origin + t * axis
    return origin + fallback * axis


def perturbed_calibration(calibration: dict, edits: Edits, table_z: float) -> dict:
    """Cameras orbited about their look-at points, shifted and zoomed, per ``edits``."""
    M, shift = edits.camera_transform[:3, :3], edits.camera_transform[:3, 3]
    if np.array_equal(edits.camera_transform, np.eye(4)) and edits.focal_scale == 1.0:
        return calibration
    scale = float(np.cbrt(np.linalg.det(M)))
    rotation = M / scale
    cameras = {}
    for name, cam in calibration["cameras"].items():
        T = np.asarray(cam["T_world_camera"], dtype=float)
        pivot = look_at_point(T, table_z)
        moved = np.eye(4)
        moved[:3, :3] = rotation @ T[:3, :3]
        moved[:3, 3] = pivot + M @ (T[:3, 3] - pivot) + shift
        K = np.asarray(cam["K"], dtype=float).copy()
        K[0, 0] *= edits.focal_scale
        K[1, 1] *= edits.focal_scale
        cameras[name] = {**cam, "K": K.tolist(), "T_world_camera": moved.tolist()}
    return {**calibration, "cameras": cameras}


# -- the MjSpec -------------------------------------------------------------------------------------
def _blend_rgba(rgba, colour, weight: float) -> list[float]:
    rgba = np.asarray(rgba, dtype=float)
    return [*((1 - weight) * rgba[:3] + weight * np.asarray(colour)), float(rgba[3])]


def _recolour_geom(spec, geom, colour, weight: float) -> None:
    if geom.material:
        material = spec.material(geom.material)
        material.rgba = _blend_rgba(material.rgba, colour, weight)
    else:
        geom.rgba = _blend_rgba(geom.rgba, colour, weight)


def _geom_base_image(spec, geom, base: TextureSpec | None, size: int) -> np.ndarray:
    """The geom's current look as an image: its procedural texture, or its flat colour."""
    if base is not None:
        image = render_texture(dataclasses.replace(base, size=size)).astype(float)
    else:
        image = np.ones((size, size, 3)) * 255.0
    rgba = spec.material(geom.material).rgba if geom.material else geom.rgba
    return image * np.asarray(rgba[:3])


def _texture_geoms(spec, geoms, name: str, pattern: TextureSpec, weight: float, base, cube=False) -> None:
    """Give ``geoms`` one new material: their look blended with ``pattern`` by ``weight``."""
    image = render_texture(pattern).astype(float)
    blended = (1 - weight) * _geom_base_image(spec, geoms[0], base, pattern.size) + weight * image
    material = texture_material(
        spec, name, np.clip(blended, 0, 255).astype(np.uint8), repeat=(2.0, 2.0), cube=cube
    )
    for geom in geoms:
        geom.material = material
        geom.rgba = [0.5, 0.5, 0.5, 1.0]  # MuJoCo's default: the material decides


def _visual_geoms(spec, name: str) -> list:
    return [g for g in spec.body(name).geoms if g.group == 0]


def _scale_body(spec, name: str, factor: float) -> None:
    for geom in spec.body(name).geoms:
        geom.pos = list(np.asarray(geom.pos) * factor)
        if geom.type == mujoco.mjtGeom.mjGEOM_MESH:
            mesh = spec.mesh(geom.meshname)
            mesh.scale = list(np.asarray(mesh.scale) * factor)
        else:
            size = np.asarray(geom.size, dtype=float)
            geom.size = list(size * factor)


def edit_spec(spec, scene: SceneSpec, edits: Edits) -> None:
    """Apply the physical and appearance edits to ``spec`` (a twin's world without the robot yet).

    ``scene`` is the unperturbed scene description (for object kinds and the table's texture).
    """
    for obj in scene.objects:
        body = spec.body(obj.name)
        if obj.name in edits.object_scale:
            _scale_body(spec, obj.name, edits.object_scale[obj.name])
        if obj.fixed and (obj.name in edits.object_offset or obj.name in edits.object_yaw):
            offset = edits.object_offset.get(obj.name, np.zeros(2))
            body.pos = [obj.xy[0] + offset[0], obj.xy[1] + offset[1], body.pos[2]]
            body.quat = list(yaw_quat(obj.yaw + edits.object_yaw.get(obj.name, 0.0)))
        for geom in body.geoms:
            if obj.name in edits.mass_scale and geom.mass > 0:
                geom.mass = geom.mass * edits.mass_scale[obj.name]
            if obj.name in edits.friction_scale and (geom.contype or geom.conaffinity):
                geom.friction = [geom.friction[0] * edits.friction_scale[obj.name], *geom.friction[1:]]
        if edits.damping > 0 and not obj.fixed:
            spec.joint(f"{obj.name}_joint").damping = [edits.damping, 0.0, 0.0]
        if obj.name in edits.object_colour:
            for geom in _visual_geoms(spec, obj.name):
                _recolour_geom(spec, geom, *edits.object_colour[obj.name])
        if obj.name in edits.object_texture:
            pattern, weight = edits.object_texture[obj.name]
            _texture_geoms(
                spec,
                _visual_geoms(spec, obj.name),
                f"{obj.name}_perturbed",
                pattern,
                weight,
                obj.texture,
                cube=True,
            )
    table = spec.geom("table_top")
    if edits.table_colour is not None:
        _recolour_geom(spec, table, *edits.table_colour)
    if edits.table_texture is not None:
        _texture_geoms(spec, [table], "table_perturbed", *edits.table_texture, scene.table.texture)
    if edits.background_texture is not None:
        geoms = [g for g in spec.geoms if g.name in BACKGROUND_GEOMS]
        _texture_geoms(spec, geoms, "background_perturbed", *edits.background_texture, scene.floor_texture)
    for obj in edits.distractors:
        add_object(spec, obj, scene.table.top_z)


def edit_lights(model, edits: Edits, pivot: np.ndarray) -> None:
    """Scale and turn the compiled model's lights (and headlight); ``pivot`` is the table centre."""
    if np.array_equal(edits.light_gain, np.ones(3)) and np.array_equal(edits.light_rotation, np.eye(3)):
        return
    gain = np.asarray(edits.light_gain, dtype=np.float32)
    for array in (model.light_diffuse, model.light_ambient, model.light_specular):
        array[:] = np.clip(array * gain, 0, None)
    model.vis.headlight.diffuse = np.clip(model.vis.headlight.diffuse * gain, 0, None)
    model.vis.headlight.ambient = np.clip(model.vis.headlight.ambient * gain, 0, None)
    R = edits.light_rotation
    model.light_dir[:] = model.light_dir @ R.T
    model.light_pos[:] = (model.light_pos - pivot) @ R.T + pivot


# -- splats --------------------------------------------------------------------------------------
def _body_uv(splats, extent: float) -> np.ndarray:
    m = splats.means
    return np.stack([m[:, 0] + m[:, 2], m[:, 1] + m[:, 2]], axis=1) / max(2 * extent, 1e-3)


def edit_splats(background, objects: dict, scene: SceneSpec, edits: Edits, table: dict):
    """``(background, objects)`` splats with the appearance and size edits applied.

    ``table``: the twin's ``table`` manifest entry (height, center_xy, half_extents_xy, yaw).
    Distractors get primitive splats of their shape and colour.
    """
    from twin.splats.edits import (
        apply_texture,
        blend_colour,
        primitive_splats,
        scale_splats,
        table_mask,
    )

    if background is not None and (edits.table_colour or edits.table_texture or edits.background_texture):
        on_table = table_mask(
            background,
            float(table["height"]),
            tuple(table.get("center_xy", (0.0, 0.0))),
            tuple(table["half_extents_xy"]),
            float(table.get("yaw", 0.0)),
        )
        if edits.table_colour is not None:
            background = blend_colour(background, *edits.table_colour, mask=on_table)
        xy_uv = background.means[:, :2] / TEXTURE_PERIOD
        if edits.table_texture is not None:
            pattern, weight = edits.table_texture
            background = apply_texture(background, render_texture(pattern), xy_uv, weight, mask=on_table)
        if edits.background_texture is not None:
            pattern, weight = edits.background_texture
            m = background.means
            uv = np.stack([m[:, 0] + m[:, 1], m[:, 2]], axis=1) / TEXTURE_PERIOD
            background = apply_texture(background, render_texture(pattern), uv, weight, mask=~on_table)
    objects = dict(objects)
    spec_of = {o.name: o for o in scene.objects}
    for name, splats in list(objects.items()):
        obj = spec_of.get(name)
        extent = float(np.max(np.abs(splats.means))) if len(splats) else 0.05
        if name in edits.object_colour:
            splats = blend_colour(splats, *edits.object_colour[name])
        if name in edits.object_texture:
            pattern, weight = edits.object_texture[name]
            splats = apply_texture(splats, render_texture(pattern), _body_uv(splats, extent), weight)
        if name in edits.object_scale and obj is not None:
            splats = scale_splats(splats, edits.object_scale[name])
        objects[name] = splats
    for obj in edits.distractors:
        size = obj.size if obj.shape != "cylinder" else obj.size[:2]
        objects[obj.name] = primitive_splats(obj.shape, size, obj.rgba)
    return background, objects
