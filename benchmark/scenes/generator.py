"""Seeded random tabletop scenes, for tests and benches that must not hold only on the four
reference scenes.

:func:`generate_scene` is a pure function of its seed (and a :class:`GeneratorConfig`): the same
seed always gives the same :class:`~twin.scene.spec.SceneSpec`. It draws

- the **world frame**: the table top at any height, the table's centre anywhere, a small yaw; the
  robot mounted on the top at the back edge, anywhere along it;
- the **table**: size, thickness, texture class (wood, speckled stone, terrazzo, cloth, tiles,
  plain) and colour;
- one **task** (pick_place, push or stack) whose object and target lie inside the Panda's reach
  (:data:`REACH`, well within :data:`~benchmark.sim.control.BASE_WORKSPACE`), then distractors up
  to 2–6 objects in all: boxes of any aspect (flat ones too), cylinders, spheres, prisms, trays,
  bowls of staves, cups, and flat marks; some textured, none overlapping, a free lane for a push;
- **lights** (count, direction, colour) and the **camera** (pose and field of view, checked to see
  every object).

:func:`generated_recording` draws, from the same seed, how such a scene is filmed: the scan
sweep's arc and swing, and the camera's own response (exposure, white balance, noise).
:func:`write_scene` is the I/O shell: a YAML file :func:`~twin.scene.spec.load_scene_spec` reads back.

Props are pybullet_data's meshes (:mod:`twin.scene.mesh_library`): ducks and lego bricks to
pick, mugs and jenga blocks as distractors; they are drawn plain, without their image textures.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml

from benchmark.scenes.recording import RecordConfig
from benchmark.sim.sensor import SensorModel
from twin.scene.mesh_library import mesh_aspect
from twin.scene.spec import (
    TASK_FAMILIES,
    CameraSpec,
    LightSpec,
    ObjectSpec,
    SceneSpec,
    TableSpec,
    TaskSpec,
    scene_from_dict,
)
from twin.scene.textures import TextureSpec
from twin.transforms import intrinsics_from_fovy, look_at_rotation

# where the task's object and target may lie, in the robot's base frame (robot facing +x): the
# reference scenes use 0.4–0.72 m ahead and ±0.16 m aside; the Panda reaches 0.855 m from its
# shoulder, 0.333 m above the base, so this keeps grasps and hovers about 0.8 m from it at most
REACH = {"x": (0.42, 0.62), "y": (-0.26, 0.26), "radius": 0.66}
DISTRACTOR_REACH = {"x": (0.2, 0.9), "y": (-0.45, 0.45), "radius": 1.0}
TABLE_MARGIN = 0.05  # metres between an object's footprint and the table's edge
CLEARANCE = 0.03  # metres between footprints' bounding circles (room for the fingers)
TABLE_TEXTURES = ("wood", "speckle", "terrazzo", "cloth", "tiles", "flat")
COLOURS = {
    "red": (0.85, 0.15, 0.12),
    "orange": (0.95, 0.5, 0.1),
    "yellow": (0.92, 0.8, 0.15),
    "green": (0.2, 0.62, 0.28),
    "teal": (0.1, 0.55, 0.55),
    "blue": (0.15, 0.3, 0.82),
    "purple": (0.5, 0.22, 0.62),
    "pink": (0.92, 0.45, 0.62),
    "white": (0.9, 0.9, 0.88),
    "grey": (0.55, 0.56, 0.58),
    "black": (0.12, 0.12, 0.13),
    "brown": (0.45, 0.3, 0.18),
}
TABLE_COLOURS = {  # (rgb1, rgb2) per texture class: plausible materials, then jittered
    "wood": [((0.62, 0.46, 0.32), (0.5, 0.35, 0.22)), ((0.42, 0.3, 0.2), (0.3, 0.2, 0.13)),
             ((0.78, 0.66, 0.5), (0.66, 0.53, 0.38))],
    "speckle": [((0.5, 0.5, 0.52), (0.2, 0.2, 0.22)), ((0.72, 0.7, 0.66), (0.35, 0.33, 0.3)),
                ((0.3, 0.32, 0.34), (0.12, 0.12, 0.14))],
    "terrazzo": [((0.86, 0.84, 0.8), (0.35, 0.4, 0.45)), ((0.8, 0.75, 0.7), (0.55, 0.35, 0.3))],
    "cloth": [((0.3, 0.4, 0.55), (0.2, 0.28, 0.4)), ((0.6, 0.2, 0.2), (0.45, 0.12, 0.12)),
              ((0.75, 0.75, 0.7), (0.6, 0.6, 0.55))],
    "tiles": [((0.85, 0.85, 0.82), (0.55, 0.55, 0.55)), ((0.3, 0.5, 0.55), (0.85, 0.85, 0.85))],
    "flat": [((0.7, 0.68, 0.64), (0.7, 0.68, 0.64)), ((0.35, 0.36, 0.38), (0.35, 0.36, 0.38)),
             ((0.55, 0.42, 0.3), (0.55, 0.42, 0.3))],
}  # fmt: skip


class GenerationError(RuntimeError):
    """A seed for which no valid scene was found within the tries allowed."""


@dataclass(frozen=True)
class GeneratorConfig:
    """What :func:`generate_scene` may draw. ``frames``: move the world frame (table top height
    in ``top_z``, table centre within ``centre`` of the origin); off, the table top is at z = 0
    about the origin, the robot base at (-0.5, 0, 0) as in the reference scenes."""

    min_objects: int = 2
    max_objects: int = 6
    families: tuple[str, ...] = TASK_FAMILIES
    frames: bool = True
    top_z: tuple[float, float] = (-0.3, 0.9)
    centre: float = 1.5
    width: int = 320
    height: int = 240
    textured: float = 0.3  # chance an object carries a texture
    tries: int = 200


def _rng(seed: int, stream: str) -> np.random.Generator:
    return np.random.default_rng([int(seed), zlib.crc32(stream.encode())])


def _rgba(rgb, rng: np.random.Generator, jitter: float = 0.05) -> tuple[float, float, float, float]:
    c = np.clip(np.asarray(rgb) + rng.uniform(-jitter, jitter, 3), 0.02, 0.98)
    return (*(round(float(v), 3) for v in c), 1.0)


def _r(x: float, nd: int = 4) -> float:
    return round(float(x), nd)


# -- objects -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Draft:
    """An object before it is placed: shape, size, a noun for its name and its footprint radius."""

    shape: str
    size: tuple[float, ...]
    noun: str
    mass: float
    fixed: bool = False
    visual_only: bool = False
    mesh: str | None = None

    @property
    def radius(self) -> float:
        if self.shape in ("box", "tray", "mesh"):
            return float(np.hypot(self.size[0], self.size[1]))
        return float(self.size[0])


@lru_cache(maxsize=16)
def _mesh_aspect(name: str) -> tuple[float, ...]:
    return tuple(float(v) for v in mesh_aspect(name))


def _u(rng, lo, hi) -> float:
    return _r(rng.uniform(lo, hi))


def _prop(name: str, largest: float, mass: float, noun: str | None = None) -> _Draft:
    """A pybullet_data prop whose largest half-extent is ``largest``, in its own proportions."""
    aspect = _mesh_aspect(name)
    return _Draft("mesh", tuple(_r(largest * a) for a in aspect), noun or name, mass, mesh=name)


def _pickable(rng: np.random.Generator) -> _Draft:
    """Something the gripper (8 cm open) can pick up from above."""
    kind = rng.choice(
        ["cube", "block", "cylinder", "prism", "duck", "lego"], p=[0.3, 0.2, 0.2, 0.1, 0.1, 0.1]
    )
    if kind == "duck":
        return _prop("duck", _u(rng, 0.024, 0.03), 0.05)
    if kind == "lego":
        return _prop("lego", _u(rng, 0.016, 0.022), 0.03, "brick")
    if kind == "cube":
        h = _u(rng, 0.017, 0.024)
        return _Draft("box", (h, h, h), "cube", 0.05)
    if kind == "block":  # any aspect, within the fingers' span across its narrow side
        return _Draft(
            "box", (_u(rng, 0.015, 0.028), _u(rng, 0.015, 0.028), _u(rng, 0.012, 0.025)), "block", 0.05
        )
    if kind == "cylinder":
        return _Draft("cylinder", (_u(rng, 0.016, 0.024), _u(rng, 0.018, 0.035)), "cylinder", 0.05)
    return _Draft(
        "prism", (_u(rng, 0.02, 0.025), _u(rng, 0.015, 0.025), int(rng.integers(5, 9))), "prism", 0.05
    )


def _receptacle(rng: np.random.Generator, carried: _Draft) -> _Draft:
    """Somewhere to put ``carried``: a tray, a bowl of staves, a plate or a flat mat."""
    kind = rng.choice(["tray", "bowl", "plate", "mat"])
    need = carried.radius + 0.02
    if kind == "tray":
        size = (_u(rng, max(0.06, need + 0.01), 0.1), _u(rng, max(0.07, need + 0.01), 0.11),
                _u(rng, 0.018, 0.028), _u(rng, 0.006, 0.01))  # fmt: skip
        return _Draft("tray", size, "tray", 0.3)
    if kind == "bowl":
        size = (_u(rng, max(0.07, need + 0.02), 0.1), _u(rng, 0.018, 0.028), _u(rng, 0.006, 0.008),
                int(rng.integers(10, 17)))  # fmt: skip
        return _Draft("bowl", size, "bowl", 0.3)
    if kind == "plate":
        return _Draft(
            "cylinder", (_u(rng, max(0.06, need + 0.01), 0.09), _u(rng, 0.005, 0.008)), "plate", 0.25
        )
    return _Draft(
        "box",
        (_u(rng, max(0.055, need), 0.08), _u(rng, max(0.055, need), 0.08), _u(rng, 0.004, 0.007)),
        "mat",
        0.2,
    )


def _pushable(rng: np.random.Generator) -> _Draft:
    if rng.random() < 0.6:
        return _Draft("box", (_u(rng, 0.02, 0.03), _u(rng, 0.02, 0.03), _u(rng, 0.015, 0.03)), "block", 0.08)
    return _Draft("cylinder", (_u(rng, 0.022, 0.03), _u(rng, 0.02, 0.035)), "can", 0.08)


def _zone(rng: np.random.Generator, noun: str = "zone") -> _Draft:
    """A flat mark on the table: visual only, fixed (a target region or a stray mark)."""
    if rng.random() < 0.25:
        return _Draft(
            "cylinder", (_u(rng, 0.045, 0.065), 0.0008), "circle", 0.01, fixed=True, visual_only=True
        )
    return _Draft(
        "box", (_u(rng, 0.045, 0.07), _u(rng, 0.045, 0.07), 0.0008), noun, 0.01, fixed=True, visual_only=True
    )


def _stack_pair(rng: np.random.Generator) -> tuple[_Draft, _Draft]:
    h = _u(rng, 0.017, 0.022)
    top = _Draft("box", (h, h, h), "cube", 0.05)
    base = _Draft("box", (_u(rng, 0.026, 0.036), _u(rng, 0.026, 0.036), _u(rng, 0.012, 0.025)), "block", 0.1)
    return top, base


def _distractor(rng: np.random.Generator) -> _Draft:
    kinds = ["cube", "book", "can", "sphere", "cup", "bowl", "tray", "prism", "mark", "mug", "jenga"]
    kind = rng.choice(kinds, p=[0.13, 0.1, 0.12, 0.08, 0.1, 0.07, 0.06, 0.08, 0.1, 0.08, 0.08])
    if kind == "mug":
        return _prop("mug", _u(rng, 0.04, 0.055), 0.15)
    if kind == "jenga":  # a jenga block lying flat
        length = _u(rng, 0.05, 0.075)
        return _Draft("mesh", (length, _r(length / 3), _r(length / 5)), "jenga_block", 0.04, mesh="jenga")
    if kind == "cube":
        return _pickable(rng)
    if kind == "book":  # a flat box of any aspect
        return _Draft("box", (_u(rng, 0.05, 0.09), _u(rng, 0.035, 0.065), _u(rng, 0.008, 0.018)), "book", 0.2)
    if kind == "can":
        return _Draft("cylinder", (_u(rng, 0.025, 0.035), _u(rng, 0.035, 0.055)), "can", 0.15)
    if kind == "sphere":
        return _Draft("sphere", (_u(rng, 0.02, 0.035),), "ball", 0.05)
    if kind == "cup":
        return _Draft("cup", (_u(rng, 0.03, 0.04), _u(rng, 0.035, 0.05), _u(rng, 0.004, 0.006)), "cup", 0.12)
    if kind == "bowl":
        return _Draft(
            "bowl",
            (_u(rng, 0.06, 0.09), _u(rng, 0.02, 0.03), _u(rng, 0.006, 0.008), int(rng.integers(10, 17))),
            "bowl",
            0.25,
        )
    if kind == "tray":
        return _Draft(
            "tray",
            (_u(rng, 0.06, 0.09), _u(rng, 0.06, 0.1), _u(rng, 0.018, 0.025), _u(rng, 0.006, 0.01)),
            "tray",
            0.3,
        )
    if kind == "prism":
        return _pickable(rng)
    return _zone(rng, "mark")


def _texture(rng: np.random.Generator, rgb, seed: int) -> TextureSpec:
    kind = str(rng.choice(["stripes", "noise", "checker", "speckle"]))
    rgb = np.asarray(rgb)
    return TextureSpec(
        kind,
        tuple(_r(v, 3) for v in np.clip(rgb * 1.1, 0, 1)),
        tuple(_r(v, 3) for v in np.clip(rgb * 0.7, 0, 1)),
        scale=float(rng.integers(4, 14)),
        seed=seed,
        size=64,
    )


# -- frames and placement -------------------------------------------------------------------------
def _table(rng: np.random.Generator, config: GeneratorConfig) -> TableSpec:
    kind = str(rng.choice(TABLE_TEXTURES))
    rgb1, rgb2 = TABLE_COLOURS[kind][int(rng.integers(len(TABLE_COLOURS[kind])))]
    rgba = _rgba(rgb1, rng, 0.04)
    rgb2 = tuple(_r(v, 3) for v in np.clip(np.asarray(rgb2) + (np.asarray(rgba[:3]) - rgb1), 0, 1))
    scale = {"wood": rng.uniform(4, 8), "speckle": rng.uniform(6, 14), "terrazzo": rng.uniform(6, 10),
             "cloth": rng.uniform(30, 60), "tiles": rng.uniform(3, 6), "flat": 8.0}[kind]  # fmt: skip
    texture = TextureSpec(kind, tuple(rgba[:3]), rgb2, scale=_r(scale, 2), seed=int(rng.integers(1000)))
    if config.frames:
        top_z = _u(rng, *config.top_z)
        centre = (_u(rng, -config.centre, config.centre), _u(rng, -config.centre, config.centre))
        yaw = _u(rng, -0.15, 0.15)
    else:
        top_z, centre, yaw = 0.0, (0.0, 0.0), 0.0
    half = (_u(rng, 0.5, 0.75), _u(rng, 0.42, 0.7), _u(rng, 0.018, 0.035))
    return TableSpec(half_extents=half, top_z=top_z, rgba=rgba, texture=texture, centre=centre, yaw=yaw)


def _table_world(table: TableSpec, local) -> np.ndarray:
    c, s = np.cos(table.yaw), np.sin(table.yaw)
    x, y = local
    return np.asarray(table.centre) + np.array([c * x - s * y, s * x + c * y])


def _robot_base(
    rng: np.random.Generator, table: TableSpec, config: GeneratorConfig
) -> tuple[float, float, float]:
    """On the table top, 8–15 cm in from its back edge, anywhere along the middle half of it."""
    if not config.frames:
        return (-0.5, 0.0, 0.0)
    hx, hy, _ = table.half_extents
    xy = _table_world(table, (-hx + rng.uniform(0.08, 0.15), rng.uniform(-0.25, 0.25) * hy))
    return (_r(xy[0]), _r(xy[1]), table.top_z)


def _in_reach(xy, base, reach) -> bool:
    d = np.asarray(xy) - np.asarray(base[:2])
    return bool(
        reach["x"][0] <= d[0] <= reach["x"][1]
        and reach["y"][0] <= d[1] <= reach["y"][1]
        and np.hypot(*d) <= reach["radius"]
    )


def _free(xy, radius, placed, clearance=CLEARANCE) -> bool:
    return all(np.linalg.norm(np.asarray(xy) - p) >= radius + r + clearance for p, r in placed)


def _lane_clear(start, end, width, placed) -> bool:
    """Whether no placed footprint comes within ``width`` of the segment ``start``–``end``."""
    start, end = np.asarray(start), np.asarray(end)
    d = end - start
    for p, r in placed:
        t = np.clip((p - start) @ d / max(d @ d, 1e-12), 0.0, 1.0)
        if np.linalg.norm(start + t * d - p) < width + r:
            return False
    return True


def _sample_xy(rng, table: TableSpec, base, radius, reach, placed, tries=60):
    hx, hy, _ = table.half_extents
    for _ in range(tries):
        local = (rng.uniform(-hx, hx), rng.uniform(-hy, hy))
        xy = _table_world(table, local)
        if (
            table.on_top(xy, margin=radius + TABLE_MARGIN)
            and _in_reach(xy, base, reach)
            and _free(xy, radius, placed)
        ):
            return xy
    return None


# -- lights and camera ----------------------------------------------------------------------------
def _unit(azimuth: float, elevation: float) -> np.ndarray:
    """The unit vector at ``azimuth`` about z from +x and ``elevation`` above the xy plane."""
    return np.array(
        [np.cos(azimuth) * np.cos(elevation), np.sin(azimuth) * np.cos(elevation), np.sin(elevation)]
    )


def _lights(rng: np.random.Generator, table: TableSpec) -> tuple[LightSpec, ...]:
    lights = []
    centre = np.array([*table.centre, table.top_z])
    for k in range(int(rng.integers(1, 4))):
        azimuth, elevation = rng.uniform(-np.pi, np.pi), rng.uniform(np.radians(45), np.radians(80))
        direction = -_unit(azimuth, elevation)
        warmth = rng.uniform(-0.08, 0.08)  # warm (+) or cool (−) white
        level = rng.uniform(0.55, 0.8) if k == 0 else rng.uniform(0.15, 0.35)
        diffuse = np.clip(level * np.array([1 + warmth, 1.0, 1 - warmth]), 0, 1)
        ambient = rng.uniform(0.18, 0.3) if k == 0 else 0.0
        lights.append(
            LightSpec(
                pos=tuple(_r(v, 3) for v in centre - 1.5 * direction),
                dir=tuple(_r(v, 3) for v in direction),
                diffuse=tuple(_r(v, 3) for v in diffuse),
                ambient=(_r(ambient, 3),) * 3,
                castshadow=k == 0,
            )
        )
    return tuple(lights)


def _sees(cam: CameraSpec, points: np.ndarray, margin: float = 0.08) -> bool:
    """Whether every point projects inside the image, ``margin`` (fraction) in from its edges."""
    R = look_at_rotation(cam.pos, cam.lookat)  # noqa: N806
    K = intrinsics_from_fovy(cam.fovy, cam.width, cam.height)  # noqa: N806
    local = (points - np.asarray(cam.pos)) @ R
    if np.any(local[:, 2] <= 0.05):
        return False
    uv = (local @ K.T)[:, :2] / local[:, 2:3]
    lo = np.array([cam.width, cam.height]) * margin
    hi = np.array([cam.width, cam.height]) * (1 - margin)
    return bool(np.all((uv >= lo) & (uv <= hi)))


def _camera(rng, table: TableSpec, base, points: np.ndarray, config: GeneratorConfig) -> CameraSpec | None:
    """A camera facing the robot across the table, which sees every object."""
    middle = points[:, :2].mean(axis=0)
    for _ in range(40):
        azimuth = rng.uniform(np.radians(-65), np.radians(65))  # about +x, the robot's forward
        elevation = rng.uniform(np.radians(25), np.radians(48))
        distance = rng.uniform(0.85, 1.25)
        lookat = np.array([*(middle + rng.uniform(-0.05, 0.05, 2)), table.top_z + rng.uniform(0.0, 0.08)])
        offset = distance * _unit(azimuth, elevation)
        cam = CameraSpec(
            "front",
            tuple(_r(v) for v in lookat + offset),
            tuple(_r(v) for v in lookat),
            fovy=_r(rng.uniform(45, 60), 1),
            width=config.width,
            height=config.height,
        )
        if _sees(cam, points):
            return cam
    return None


# -- the scene ------------------------------------------------------------------------------------
def _name(draft: _Draft, colour: str, taken: set[str]) -> str:
    name, k = f"{colour}_{draft.noun}", 2
    while name in taken:
        name, k = f"{colour}_{draft.noun}_{k}", k + 1
    taken.add(name)
    return name


def _instruction(family: str, obj: str, target: str, target_draft: _Draft) -> str:
    o, t = obj.replace("_", " "), target.replace("_", " ")
    if family == "push":
        return f"push the {o} into the {t}"
    if family == "stack":
        return f"stack the {o} on the {t}"
    word = "in" if target_draft.shape in ("tray", "bowl") else "on"
    return f"put the {o} {word} the {t}"


def _attempt(seed: int, attempt: int, family: str, config: GeneratorConfig) -> SceneSpec | None:
    rng = _rng(seed, f"scene:{attempt}")
    table = _table(rng, config)
    base = _robot_base(rng, table, config)
    if family == "pick_place":
        carried = _pickable(rng)
        task_drafts = (carried, _receptacle(rng, carried))
    elif family == "push":
        task_drafts = (_pushable(rng), _zone(rng))
    else:
        task_drafts = _stack_pair(rng)
    count = int(rng.integers(max(2, config.min_objects), config.max_objects + 1))
    drafts = [*task_drafts, *(_distractor(rng) for _ in range(count - 2))]
    placed: list[tuple[np.ndarray, float]] = []
    spots: list[np.ndarray] = []
    kept: list[_Draft] = []
    spread = 0.02  # the start's xy_range, on both axes
    for i, draft in enumerate(drafts):
        radius = draft.radius + (0 if draft.fixed else spread * np.sqrt(2))
        reach = REACH if i < 2 else DISTRACTOR_REACH
        xy = None
        for _ in range(30):
            xy = _sample_xy(rng, table, base, radius, reach, placed)
            if xy is None:
                break
            gap = np.linalg.norm(xy - spots[0]) - draft.radius if spots else 0.0
            if family == "push" and i == 1 and not 0.12 <= gap <= 0.25:  # target 12–25 cm away
                xy = None
                continue
            if family == "push" and i >= 2:  # nothing in the pushing lane, the fingers' start included
                u = (spots[1] - spots[0]) / np.linalg.norm(spots[1] - spots[0])
                width = drafts[0].radius + 0.04
                start = spots[0] - u * (drafts[0].radius * 1.5 + 0.08)
                if not _lane_clear(start, spots[1], width, [(xy, radius)]):
                    xy = None
                    continue
            break
        if xy is None:
            if i < 2:
                return None
            continue  # a distractor that does not fit is left out
        placed.append((xy, radius))
        spots.append(xy)
        kept.append(draft)
    drafts = kept
    if len(spots) < max(2, config.min_objects):
        return None
    taken: set[str] = set()
    objects = []
    for k, (draft, xy) in enumerate(zip(drafts, spots, strict=True)):
        colour = str(rng.choice(list(COLOURS)))
        rgba = _rgba(COLOURS[colour], rng)
        textured = not draft.visual_only and rng.random() < config.textured and draft.mesh is None
        texture = _texture(rng, rgba[:3], seed * 16 + k) if textured else None
        free = not draft.fixed
        objects.append(
            ObjectSpec(
                name=_name(draft, colour, taken),
                shape=draft.shape,
                size=tuple(draft.size),
                xy=(_r(xy[0]), _r(xy[1])),
                xy_range=(spread, spread) if free else (0.0, 0.0),
                yaw=_r(rng.uniform(-np.pi, np.pi), 3) if draft.shape != "sphere" else 0.0,
                yaw_range=0.4 if free and draft.shape in ("box", "prism", "mesh") else 0.0,
                rgba=rgba,
                texture=texture,
                mass=draft.mass,
                fixed=draft.fixed,
                visual_only=draft.visual_only,
                mesh=draft.mesh,
            )
        )
    obj, target = objects[0], objects[1]
    task = TaskSpec(
        name=f"{family}_{obj.name}",
        family=family,
        object=obj.name,
        target=target.name,
        instruction=_instruction(family, obj.name, target.name, drafts[1]),
        max_seconds=20.0,
    )
    points = np.array([[*o.xy, table.top_z + 0.02] for o in objects])
    camera = _camera(rng, table, base, points, config)
    if camera is None:
        return None
    return SceneSpec(
        name=f"generated_{seed}",
        description=f"A generated tabletop (seed {seed}): {task.instruction}, "
        f"among {len(objects) - 2} other things.",
        objects=tuple(objects),
        tasks=(task,),
        cameras=(camera,),
        table=table,
        lights=_lights(rng, table),
        robot_base=base,
        floor_texture=TextureSpec("checker", (0.42, 0.42, 0.44), (0.36, 0.36, 0.38), scale=10),
        wall_texture=TextureSpec("noise", *_wall_colours(rng), scale=6, seed=seed % 997),
    )


def _wall_colours(rng) -> tuple[tuple[float, ...], tuple[float, ...]]:
    base = np.clip(np.array([0.78, 0.77, 0.74]) + rng.uniform(-0.08, 0.08, 3), 0, 1)
    return tuple(_r(v, 3) for v in base), tuple(_r(v, 3) for v in base * 0.88)


def generate_scene(seed: int, config: GeneratorConfig | None = None) -> SceneSpec:
    """The scene of ``seed``: a checked :class:`SceneSpec` with one task, its object and target in
    the Panda's reach, no two objects overlapping. The same seed always gives the same scene."""
    config = config or GeneratorConfig()
    if not 2 <= config.min_objects <= config.max_objects:
        raise ValueError(f"objects: need 2 ≤ min ≤ max, got {config.min_objects}..{config.max_objects}")
    family = str(_rng(seed, "family").choice(config.families))  # drawn once: retries keep it
    for attempt in range(config.tries):
        scene = _attempt(seed, attempt, family, config)
        if scene is not None:
            return scene_from_dict(_plain(scene.to_dict()), f"generated scene {seed}")  # checked
    raise GenerationError(f"no valid scene for seed {seed} in {config.tries} tries")


def generated_recording(seed: int, scan_frames: int = 30) -> RecordConfig:
    """How the scene of ``seed`` is filmed: the scan sweep (arc, height swing) and the camera's
    response (exposure, white balance, read noise, depth noise)."""
    rng = _rng(seed, "recording")
    sensor = SensorModel(
        exposure=_r(rng.uniform(0.9, 1.1), 3),
        white_balance=tuple(_r(v, 3) for v in rng.uniform(0.92, 1.08, 3)),
        noise_sigma=_r(rng.uniform(0.0, 2.0), 2),
        depth_noise=_r(rng.uniform(0.0, 0.002), 4),
    )
    return RecordConfig(
        scan_frames=scan_frames,
        scan_arc_deg=_r(rng.uniform(60, 110), 1),
        scan_height_swing=_r(rng.uniform(0.05, 0.15), 3),
        sensor=sensor,
    )


def _plain(value):
    """Tuples to lists, numpy scalars to floats: what YAML and the spec reader take."""
    return json.loads(json.dumps(value, default=float))


def write_scene(scene: SceneSpec, path: str | Path) -> Path:
    """Write ``scene`` as YAML that :func:`~twin.scene.spec.load_scene_spec` reads back unchanged."""
    path = Path(path)
    path.write_text(yaml.safe_dump(_plain(scene.to_dict()), sort_keys=False))
    return path
