"""The policy populations a validity study can rank.

- ``baselines``: the vision expert at graded noise levels and the random policy, plus every
  registered policy (:data:`benchmark.validity.study.BASELINES`).
- ``learned``: behaviour-cloned ``image_cnn`` checkpoints at graded training budgets, shipped as
  weights submissions under ``assets/policies/learned/SCENE/`` (one folder per checkpoint, each
  ``config.json`` + ``model.safetensors`` + ``training.json``). No scripted policy is in it:
  every member sees only the camera image and the proprioceptive state.
  ``python bench/learned_population.py`` makes them again.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from benchmark.validity.reference import ValidityError

POPULATIONS = ("baselines", "learned")
LEARNED_ROOT = Path(__file__).resolve().parents[2] / "assets" / "policies" / "learned"


def learned_scenes(root: str | Path = LEARNED_ROOT) -> list[str]:
    """The scenes that have a learned population under ``root``."""
    root = Path(root)
    return (
        sorted(p.name for p in root.iterdir() if p.is_dir() and learned_members(p)) if root.is_dir() else []
    )


def learned_members(folder: str | Path) -> list[Path]:
    """The checkpoint folders in ``folder`` (those holding a ``config.json``), in name order."""
    return sorted(p for p in Path(folder).iterdir() if (p / "config.json").is_file())


def learned_population(scene: str, root: str | Path = LEARNED_ROOT) -> tuple[str, ...]:
    """The learned population of ``scene``: its checkpoint folders as policy specs (paths)."""
    folder = Path(root) / scene
    members = learned_members(folder) if folder.is_dir() else []
    if len(members) < 2:
        have = ", ".join(learned_scenes(root)) or "none"
        raise ValidityError(
            f"no learned population for scene {scene!r} under {root} (scenes with one: {have}); "
            "python bench/learned_population.py trains one"
        )
    return tuple(str(p) for p in members)


def member_name(scene: str, folder: str | Path) -> str:
    """The name a checkpoint is registered under: scene, folder and the first 8 hex digits of the
    SHA-256 of its config and weights, so a retrained checkpoint is never taken for an old one."""
    folder = Path(folder)
    digest = hashlib.sha256()
    for file in ("config.json", "model.safetensors"):
        digest.update((folder / file).read_bytes())
    return f"learned-{scene}-{folder.name}-{digest.hexdigest()[:8]}"


def register_learned(store, scene: str, root: str | Path = LEARNED_ROOT) -> tuple[str, ...]:
    """The learned population of ``scene`` as registered policy names: each checkpoint not in the
    store yet is submitted (validated in the sandboxed worker, hashed, copied)."""
    from benchmark.errors import SubmissionError
    from benchmark.policies.submissions import submit

    names = []
    for path in learned_population(scene, root):
        name = member_name(scene, path)
        if store.get_policy(name) is None:
            try:
                submit(path, name, store)
            except SubmissionError as err:
                raise ValidityError(f"learned checkpoint {path} cannot be submitted: {err}") from None
        names.append(name)
    return tuple(names)
