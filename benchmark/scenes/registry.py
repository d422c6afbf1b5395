"""The reference scene registry: the YAML scene specs shipped in ``assets/scenes``.

The registry is read from disk on every call (a live view, not a tuple frozen at import), so a
scene file added to the folder, or a folder named by ``TWINARENA_SCENES``, shows up at once.
"""

from __future__ import annotations

import os
from pathlib import Path

from twin.scene.spec import SceneSpec, SceneSpecError, load_scene_spec

ASSETS_DIR = Path(__file__).resolve().parents[2] / "assets"


def scenes_dir() -> Path:
    """The folder of reference scene specs (``TWINARENA_SCENES`` overrides it)."""
    return Path(os.environ.get("TWINARENA_SCENES", ASSETS_DIR / "scenes"))


def scene_names() -> list[str]:
    """Names of the reference scenes, sorted."""
    folder = scenes_dir()
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def scene_tasks() -> list[tuple[str, str]]:
    """Every (scene, task) pair of the reference scenes, in scene order."""
    return [(name, task.name) for name in scene_names() for task in load_scene(name).tasks]


def load_scene(name_or_path: str | Path) -> SceneSpec:
    """A reference scene by name, or any scene spec file by path."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml", ".json"):
        return load_scene_spec(path)
    candidate = scenes_dir() / f"{name_or_path}.yaml"
    if not candidate.is_file():
        known = ", ".join(scene_names()) or "none found"
        raise SceneSpecError(f"unknown scene {str(name_or_path)!r}; reference scenes: {known}")
    return load_scene_spec(candidate)
