"""Seeded initial placement: where each object starts in a scenario with a given seed.

A scene declares, per object, how far its start may vary (``xy_range``, ``yaw_range`` of
:class:`~twin.scene.spec.ObjectSpec`; a twin's ``twin.json`` carries the same fields). Each
object draws from its own generator, keyed by the seed and by what the object *is* in the task
(``role:object``, ``role:target``) or else by its name (:func:`object_key`). Two worlds of the
same task, say a twin and the scene it was built from, so give their task objects the same
offsets for the same seed, whatever else either holds and in whatever order.

An offset that would overlap an object already placed is drawn again (up to :data:`TRIES`
times), then dropped: the object keeps its nominal pose.
"""

from __future__ import annotations

import zlib

import numpy as np

from twin.scene.spec import ObjectSpec, SceneSpec

TRIES = 8
CLEARANCE = 0.005  # metres between footprints' bounding circles


def object_key(scene: SceneSpec, name: str) -> str:
    """What keys an object's draws: its task role where it has one, else its name."""
    task = scene.tasks[0] if scene.tasks else None
    if task is not None and name == task.object:
        return "role:object"
    if task is not None and name == task.target:
        return "role:target"
    return f"name:{name}"


def object_rng(seed: int, stream: str, key: str) -> np.random.Generator:
    """The generator of one object's draws for ``stream`` (e.g. ``placement`` or an axis name)."""
    return np.random.default_rng([int(seed), zlib.crc32(stream.encode()), zlib.crc32(key.encode())])


def _radius(obj: ObjectSpec) -> float:
    """The radius of the object's footprint's bounding circle."""
    if obj.shape in ("box", "tray", "mesh"):
        return float(np.hypot(obj.size[0], obj.size[1]))
    return float(obj.size[0])  # cylinder, sphere, prism: the radius


def initial_placement(scene: SceneSpec, seed: int) -> dict[str, tuple[np.ndarray, float]]:
    """Each object's start for ``seed``: ``name → (xy, yaw)``, within its declared ranges.

    Zones and solids are placed independently of each other (a solid may stand on a zone)."""
    placed: dict[str, tuple[np.ndarray, float]] = {
        o.name: (np.asarray(o.xy, dtype=float), float(o.yaw)) for o in scene.objects
    }
    for obj in scene.objects:
        span, turn = np.asarray(obj.xy_range, dtype=float), float(obj.yaw_range)
        if not np.any(span > 0) and turn <= 0:
            continue
        rng = object_rng(seed, "placement", object_key(scene, obj.name))
        draws = rng.uniform(-1.0, 1.0, size=(TRIES, 3))
        for dx, dy, dyaw in draws:
            xy = np.asarray(obj.xy, dtype=float) + np.array([dx, dy]) * span
            clear = all(
                np.linalg.norm(xy - placed[o.name][0]) >= _radius(obj) + _radius(o) + CLEARANCE
                for o in scene.objects
                if o.name != obj.name and o.visual_only == obj.visual_only
            )
            if clear:
                placed[obj.name] = (xy, float(obj.yaw) + dyaw * turn)
                break
    return placed
