"""Which twin stage is to blame: hybrid packages that swap one ground-truth part into the twin.

Each hybrid is the twin package with one of its three parts taken from the reference world, the
rest left as reconstructed; the study runs the population in it and blames the stage whose swap
recovers most of the gap to the reference (:func:`benchmark.validity.study.gap`).

- ``appearance``: the reference's look instead of the splats: its textured visuals fixed to the
  twin's bodies, its table, room and lights, its camera sensor; drawn by MuJoCo (no splats). The
  twin's collision geometry, poses, masses and frictions stay.
- ``geometry``: the reference's object shapes and poses (exact primitives, zones included) in
  place of the reconstructed meshes and boxes; the twin's splats re-expressed in the new body
  frames, its masses and frictions kept.
- ``physics``: the reference's masses and frictions (objects and table) on the twin's geometry.

Twin objects are matched to reference objects by their centres (:func:`twin.fidelity.match_objects`);
an unmatched twin object keeps its reconstructed parts (centres compared in the reference's frame).
A robot log's twin stands in its robot's base frame, not the reference world's: only its physics
hybrid is made, the other two are refused. Ablation is evaluation code: it reads the reference
world, which reconstruction never does.
"""

from __future__ import annotations

import copy
import dataclasses
import shutil
from pathlib import Path

import numpy as np

from benchmark.store.models import BLAMES as STAGES  # the stages a study may blame
from benchmark.validity.reference import ValidityError, matched_objects, same_frame
from twin.package import TwinManifest
from twin.scene.gl import import_mujoco

mujoco = import_mujoco()


def _pose(pos, quat) -> np.ndarray:
    from twin.transforms import pose_matrix, quat_to_mat

    return pose_matrix(quat_to_mat(np.asarray(quat, dtype=float)), np.asarray(pos, dtype=float))


def _table_friction(spec) -> float:
    return float(spec.geom("table_top").friction[0])


# -- the three hybrids ---------------------------------------------------------------------------
def _physics(spec, manifest: TwinManifest, pairs, ref_spec) -> None:
    entries = {e["name"]: e for e in manifest.objects}
    for tw, ref in pairs:
        if tw.kind != "solid":
            continue
        geoms = [g for g in spec.geoms if g.name.startswith(f"{tw.name}_collision")]
        total = sum(float(g.mass) for g in geoms) or 1.0
        for g in geoms:
            g.mass = ref.mass * float(g.mass) / total
            g.friction = [ref.friction, *list(g.friction)[1:]]
        entries[tw.name].update(mass=ref.mass, friction=ref.friction)
    top = spec.geom("table_top")
    top.friction = [_table_friction(ref_spec), *list(top.friction)[1:]]


def _geometry(spec, manifest: TwinManifest, pairs, reference, root: Path) -> None:
    from benchmark.scenes.authored import object_entry
    from twin.scene.builder import add_object
    from twin.scene.twin_world import twin_scene
    from twin.splats.ply import read_ply, write_ply
    from twin.splats.rigid import transform_splats

    entries = {e["name"]: e for e in manifest.objects}
    top_z = float(reference.manifest["table"]["height"])
    shapes = {o.name: o for o in twin_scene(reference).objects}  # the reference's scene, as packaged
    for tw, ref in pairs:
        obj = shapes[ref.name]
        truth = object_entry(obj, top_z)
        spec.delete(spec.body(tw.name))
        add_object(
            spec, dataclasses.replace(obj, name=tw.name, mass=max(tw.mass, 1e-3), friction=tw.friction)
        )
        if tw.splats:  # the twin's body frame → the reference shape's body frame
            T = np.linalg.inv(_pose(truth["pos"], truth["quat"])) @ _pose(tw.pos, tw.quat)  # noqa: N806
            write_ply(root / tw.splats, transform_splats(read_ply(root / tw.splats), T))
        entry = entries[tw.name]
        entry.update(
            {k: truth[k] for k in ("pos", "quat", "half_extents", "shape", "size", "fixed", "primitive")}
        )
        entry.pop("mesh", None)
        entry.pop("collision_parts", None)


def _appearance(spec, manifest: TwinManifest, pairs, reference, root: Path) -> None:
    from benchmark.scenes.registry import load_scene
    from twin.scene.builder import add_object, build_scene_spec, new_scene_spec, object_half_height
    from twin.transforms import mat_to_quat

    scene = load_scene(reference.manifest["source"]["authored"])  # its textures, lights and colours
    authored = {o.name: o for o in scene.objects}
    room = build_scene_spec(dataclasses.replace(scene, objects=()), with_robot=False, with_cameras=False)
    for geom in room.geoms:  # the reference's table, walls and floor: seen, never touched
        geom.contype, geom.conaffinity = 0, 0
    for light in list(spec.lights):  # the reference's lights instead of the twin's
        spec.delete(light)
    spec.attach(room, prefix="gt_", frame=spec.worldbody.add_frame())
    for name in ("table_top", "floor"):  # the twin's table and floor keep colliding, unseen
        spec.geom(name).group = 3
    entries = {e["name"]: e for e in manifest.objects}
    for tw, ref in pairs:
        obj = authored[ref.name]
        look = new_scene_spec(f"look_{tw.name}", scene.physics)
        add_object(
            look, dataclasses.replace(obj, xy=(0.0, 0.0), yaw=0.0, fixed=True, visual_only=True, mass=1e-6)
        )
        truth = _pose(ref.pos, ref.quat)
        lift = np.eye(4)
        lift[2, 3] = -object_half_height(obj)
        F = np.linalg.inv(_pose(tw.pos, tw.quat)) @ truth @ lift  # noqa: N806
        spec.delete(spec.geom(f"{tw.name}_visual"))
        frame = spec.body(tw.name).add_frame(pos=F[:3, 3].tolist(), quat=list(mat_to_quat(F[:3, :3])))
        spec.attach(look, prefix=f"gt_{tw.name}_", frame=frame)
    for entry in entries.values():
        entry.pop("splats", None)
    manifest.files.pop("background", None)
    for path in [root / "background.ply", *(root / "objects").glob("*.ply")]:
        path.unlink(missing_ok=True)
    if reference.manifest.get("sensor") is not None:
        manifest.sensor = reference.manifest["sensor"]


def hybrid_package(stage: str, twin: str | Path, reference: str | Path, out: str | Path) -> Path:
    """Write the twin at ``twin`` with the reference's ``stage`` part swapped in, as a package at ``out``."""
    from benchmark.scenes.authored import write_textures
    from twin.package import read_twin, staging_folder, write_twin

    if stage not in STAGES:
        raise ValidityError(f"unknown twin stage {stage!r}; stages: {', '.join(STAGES)}")
    tw, ref = read_twin(twin), read_twin(reference)
    if stage != "physics" and not same_frame(tw, ref):
        raise ValidityError(
            f"twin {tw.root} stands in its robot's base frame, not the reference world's (a robot log's "
            f"twin): the {stage} hybrid cannot place the reference's parts in it; only physics swaps"
        )
    pairs = matched_objects(tw, ref)
    if not pairs:
        raise ValidityError(f"twin {tw.root}: no object within 5 cm of a reference object, nothing to swap")
    with staging_folder(out, overwrite=True) as root:
        shutil.copytree(tw.root, root, dirs_exist_ok=True)
        manifest = TwinManifest.from_dict(copy.deepcopy(tw.manifest))
        manifest.name = f"{tw.name}+reference-{stage}"
        manifest.source = {**tw.manifest.get("source", {}), "ablation": stage, "reference": ref.name}
        manifest.build = tw.manifest.get("build", {})
        spec = mujoco.MjSpec.from_file(str(root / "scene.xml"))
        if stage == "physics":
            _physics(spec, manifest, pairs, mujoco.MjSpec.from_file(str(ref.path("scene"))))
        elif stage == "geometry":
            _geometry(spec, manifest, pairs, ref, root)
        else:
            _appearance(spec, manifest, pairs, ref, root)
        write_textures(spec, root)
        (root / "scene.xml").write_text(spec.to_xml())
        write_twin(root, manifest)
    return Path(out)
