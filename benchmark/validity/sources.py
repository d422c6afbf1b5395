"""Where a validity study's reference world comes from: ``--reference`` (and ``--task``) read.

- ``SCENE`` or ``SCENE/TASK``: a reference scene of the registry (``assets/scenes``);
- a scene spec file (``.yaml``, ``.yml``, ``.json``), such as
  :func:`~benchmark.scenes.generator.write_scene` writes;
- ``generated:SEED``: the generator's scene of that seed (:func:`~benchmark.scenes.generator.generate_scene`),
  in a world frame of its own;
- a MuJoCo world (``.xml``) or a URDF (``.urdf``), read by :mod:`benchmark.scenes.mjcf_world`, with
  ``--task FAMILY:OBJECT:TARGET`` naming its bodies (its meshes copied into ``assets``).

A CSV of success rates measured on a real robot is no world; :mod:`benchmark.validity.real` takes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchmark.validity.reference import ValidityError
from twin.scene.spec import SceneSpec, SceneSpecError, TaskSpec

SPEC_SUFFIXES = (".yaml", ".yml", ".json")
WORLD_SUFFIXES = (".xml", ".urdf", ".mjcf")
GENERATED = "generated:"


@dataclass(frozen=True)
class ReferenceSource:
    """A reference world as a scene spec and the task studied in it. ``scene.name`` is what a
    demonstration recorded there names as its scene."""

    scene: SceneSpec
    task: TaskSpec
    notes: tuple[str, ...] = ()  # what reading it assumed (an imported world's warnings)

    @property
    def name(self) -> str:
        return self.scene.name


def reference_source(
    reference: str, task: str | None = None, assets: str | Path | None = None
) -> ReferenceSource:
    """The reference world ``reference`` names, with ``task`` (a task name, or for an imported
    world ``FAMILY:OBJECT:TARGET``); raises :class:`ValidityError` naming what is wrong."""
    from benchmark.scenes.registry import load_scene, scene_names

    try:
        path = Path(reference)
        if reference.startswith(GENERATED):
            scene = _generated(reference)
        elif path.suffix.lower() in WORLD_SUFFIXES:
            from benchmark.scenes.mjcf_world import import_world

            if not task:
                raise ValidityError(
                    f"{reference}: an imported world needs --task FAMILY:OBJECT:TARGET naming its bodies"
                )
            imported = import_world(path, task, Path(assets or path.parent / f"{path.stem}-assets"))
            return ReferenceSource(imported.scene, imported.scene.task(), imported.notes)
        elif path.suffix.lower() in SPEC_SUFFIXES:
            if not path.is_file():
                raise ValidityError(f"reference scene spec {path} does not exist")
            scene = load_scene(path)
        else:
            name, _, named_task = reference.partition("/")
            if name not in scene_names():
                raise ValidityError(
                    f"unknown reference scene {name!r}; scenes: {', '.join(scene_names())}, a scene "
                    "spec file, generated:SEED, or an MJCF/URDF world"
                )
            scene, task = load_scene(name), task or named_task or None
        return ReferenceSource(scene, scene.task(task or None))
    except SceneSpecError as err:
        raise ValidityError(str(err)) from None


def _generated(reference: str) -> SceneSpec:
    from benchmark.scenes.generator import GenerationError, generate_scene

    seed = reference[len(GENERATED) :]
    if not seed.isdigit():
        raise ValidityError(f"{reference!r}: expected generated:SEED with a whole-number seed")
    try:
        return generate_scene(int(seed))
    except GenerationError as err:
        raise ValidityError(str(err)) from None
