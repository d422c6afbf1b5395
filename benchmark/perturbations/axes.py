"""Perturbation axes: graded, seeded variations of a scenario, each a level in [0, 1].

An axis turns ``(level, rng, base)`` into edits of a scenario (:class:`Edits`): lights, colours,
textures, sizes, poses, cameras, sensing, latency, physics, robot start and instruction. Level 0
adds nothing to the unperturbed scenario, bit for bit; level 1 is the strongest variation the
axis defines.
Each axis draws from its own generator, seeded by the scenario seed and the axis name, so axes
compose without disturbing each other, and a draw (a direction, a colour, a sign) does not depend
on the level: raising the level moves the same seed further along the same line. Per-object draws
come from a generator of their own, keyed by the object's task role or name (:class:`Draws`), so
a spurious object in a twin changes no draw of the task's object or target.

Level 0 leaves the scenario as the seed makes it: each free object's start still varies within
the ranges the twin declares (:mod:`twin.scene.placement`).

:mod:`benchmark.perturbations.scene` applies the edits to a twin.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, fields

import numpy as np

from benchmark.errors import PerturbationError
from benchmark.sim.tasks import footprint
from twin.scene.placement import object_key, object_rng
from twin.scene.spec import ObjectSpec, SceneSpec
from twin.scene.textures import TextureSpec
from twin.transforms import axis_angle_to_mat


@dataclass(frozen=True)
class Perturbation:
    """One axis at one level."""

    axis: str
    level: float

    def __post_init__(self):
        if self.axis not in AXES:
            raise PerturbationError(f"unknown perturbation axis {self.axis!r}; axes: {', '.join(AXES)}")
        level = self.level
        if isinstance(level, bool) or not isinstance(level, int | float) or not 0.0 <= level <= 1.0:
            raise PerturbationError(f"perturbation {self.axis!r}: level must be in [0, 1], got {level!r}")
        object.__setattr__(self, "level", float(level))

    def __str__(self) -> str:
        return f"{self.axis}={self.level:g}"


def parse_perturbation(text: str) -> Perturbation:
    """``"axis=level"`` → :class:`Perturbation`."""
    axis, sep, value = text.partition("=")
    if not sep:
        raise PerturbationError(f"perturbation {text!r}: expected AXIS=LEVEL, e.g. light_intensity=0.5")
    try:
        level = float(value)
    except ValueError:
        raise PerturbationError(f"perturbation {text!r}: level {value!r} is not a number") from None
    return Perturbation(axis.strip(), level)


@dataclass
class Edits:
    """What a set of perturbations changes; the defaults change nothing."""

    light_gain: np.ndarray = field(default_factory=lambda: np.ones(3))  # RGB gain on every light
    light_rotation: np.ndarray = field(default_factory=lambda: np.eye(3))  # turns every light direction
    table_colour: tuple[np.ndarray, float] | None = None  # (rgb, weight)
    table_texture: tuple[TextureSpec, float] | None = None
    background_texture: tuple[TextureSpec, float] | None = None
    object_colour: dict[str, tuple[np.ndarray, float]] = field(default_factory=dict)
    object_texture: dict[str, tuple[TextureSpec, float]] = field(default_factory=dict)
    object_scale: dict[str, float] = field(default_factory=dict)
    object_offset: dict[str, np.ndarray] = field(default_factory=dict)  # xy metres
    object_yaw: dict[str, float] = field(default_factory=dict)  # radians added
    distractors: list[ObjectSpec] = field(default_factory=list)
    camera_transform: np.ndarray = field(default_factory=lambda: np.eye(4))  # world-frame, about look-at
    camera_pivot: np.ndarray | None = None  # the look-at point the transform turns about
    focal_scale: float = 1.0
    noise_sigma: float = 0.0  # intensity levels (0-255)
    blur_sigma: float = 0.0  # pixels
    jpeg_quality: int | None = None
    latency_steps: int = 0
    mass_scale: dict[str, float] = field(default_factory=dict)
    friction_scale: dict[str, float] = field(default_factory=dict)
    damping: float = 0.0  # N s/m (and N m s/rad) on free objects
    arm_offset: np.ndarray = field(default_factory=lambda: np.zeros(7))
    instruction: str | None = None

    def changed(self) -> list[str]:
        """Names of the fields that differ from the defaults (for reports and tests)."""
        base = Edits()
        out = []
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(base, f.name)
            same = np.array_equal(a, b) if isinstance(a, np.ndarray) else a == b
            if not same:
                out.append(f.name)
        return out


@dataclass(frozen=True)
class Axis:
    """A perturbation axis: what it varies, in which unit, and how far at level 1."""

    name: str
    group: str
    unit: str
    at_level_1: str
    range_at_level_1: tuple[float, float]
    description: str
    sample: Callable[[Edits, float, np.random.Generator, SceneSpec], None]


# -- helpers -------------------------------------------------------------------------------------
def _solids(scene: SceneSpec) -> list[ObjectSpec]:
    return [o for o in scene.objects if not o.visual_only and not o.fixed]


def _signed(rng: np.random.Generator) -> float:
    return float(rng.choice([-1.0, 1.0]))


def _random_colour(rng: np.random.Generator) -> np.ndarray:
    """A saturated colour from a random hue."""
    hue = rng.uniform(0, 6)
    x = 1 - abs(hue % 2 - 1)
    rgb = [(1, x, 0), (x, 1, 0), (0, 1, x), (0, x, 1), (x, 0, 1), (1, 0, x)][int(hue) % 6]
    return 0.15 + 0.75 * np.asarray(rgb, dtype=float)


def _random_texture(rng: np.random.Generator, base: np.ndarray | None = None) -> TextureSpec:
    kind = str(rng.choice(["checker", "stripes", "noise", "wood", "brick"]))
    rgb1 = _random_colour(rng) if base is None else np.clip(np.asarray(base) * 1.35 + 0.1, 0, 1)
    rgb2 = _random_colour(rng) if base is None else np.clip(np.asarray(base) * 0.45, 0, 1)
    return TextureSpec(
        kind=kind,
        rgb1=tuple(float(v) for v in rgb1),
        rgb2=tuple(float(v) for v in rgb2),
        scale=float(rng.uniform(4, 10)),
        seed=int(rng.integers(0, 2**31)),
        size=128,
    )


def _radius(obj: ObjectSpec) -> float:
    return float(np.linalg.norm(footprint(obj)))


# -- the axes ------------------------------------------------------------------------------------
def _light_intensity(e: Edits, level: float, rng, scene) -> None:
    e.light_gain = e.light_gain * 3.0 ** (level * _signed(rng))


def _light_colour(e: Edits, level: float, rng, scene) -> None:
    direction = rng.normal(size=3)
    direction -= direction.mean()
    direction /= max(np.abs(direction).max(), 1e-9)
    e.light_gain = e.light_gain * (1.0 + 0.4 * level * direction)


def _light_direction(e: Edits, level: float, rng, scene) -> None:
    heading = rng.uniform(0, 2 * np.pi)
    axis = np.array([np.cos(heading), np.sin(heading), 0.0])
    e.light_rotation = axis_angle_to_mat(axis * np.radians(60.0) * level) @ e.light_rotation


def _table_colour(e: Edits, level: float, rng, scene) -> None:
    colour = _random_colour(rng)
    if level > 0:
        e.table_colour = (colour, level)


def _table_texture(e: Edits, level: float, rng, scene) -> None:
    texture = _random_texture(rng, np.asarray(scene.table.rgba[:3]))
    if level > 0:
        e.table_texture = (texture, level)


def _background_texture(e: Edits, level: float, rng, scene) -> None:
    texture = _random_texture(rng)
    if level > 0:
        e.background_texture = (texture, level)


def _object_colour(e: Edits, level: float, rng, scene) -> None:
    for obj in scene.objects:
        colour = _random_colour(rng.of(obj))
        if level > 0:
            e.object_colour[obj.name] = (colour, level)


def _object_texture(e: Edits, level: float, rng, scene) -> None:
    for obj in scene.objects:
        texture = _random_texture(rng.of(obj), np.asarray(obj.rgba[:3]))
        if level > 0:
            e.object_texture[obj.name] = (texture, level)


def _object_size(e: Edits, level: float, rng, scene) -> None:
    for obj in _solids(scene):
        sign = _signed(rng.of(obj))
        if level > 0:
            e.object_scale[obj.name] = 1.0 + 0.3 * level * sign


def _object_placement(e: Edits, level: float, rng, scene) -> None:
    """Move each free object (and each zone) up to 30 cm, keeping clear of the others and 5 cm
    inside the table's edges (about the table's own centre and heading)."""
    movable = [o for o in scene.objects if not o.fixed or o.visual_only]
    draws = {o.name: rng.of(o) for o in movable}
    directions = {o.name: draws[o.name].uniform(0, 2 * np.pi, size=8) for o in movable}
    fractions = {o.name: draws[o.name].uniform(0.5, 1.0) for o in movable}
    if level == 0:
        return
    placed = {o.name: np.asarray(o.xy, dtype=float) for o in scene.objects}
    for obj in movable:
        distance = 0.30 * level * fractions[obj.name]
        for angle in directions[obj.name]:
            offset = distance * np.array([np.cos(angle), np.sin(angle)])
            xy = np.asarray(obj.xy) + offset
            clear = all(
                np.linalg.norm(xy - placed[o.name]) >= _radius(obj) + _radius(o) + 0.01
                for o in scene.objects
                if o.name != obj.name and (o.visual_only == obj.visual_only)
            )
            if clear and scene.table.on_top(xy, margin=0.05):
                placed[obj.name] = xy
                e.object_offset[obj.name] = offset
                break


def _object_yaw(e: Edits, level: float, rng, scene) -> None:
    for obj in [o for o in scene.objects if not o.fixed or o.visual_only]:
        draw = rng.of(obj)
        turn = draw.uniform(0.5, 1.0) * _signed(draw)
        if level > 0:
            e.object_yaw[obj.name] = np.radians(90.0) * level * turn


def _distractors(e: Edits, level: float, rng, scene) -> None:
    """Up to four extra boxes and cylinders, placed clear of the scene's objects."""
    centre = np.mean([o.xy for o in scene.objects], axis=0)
    candidates = []
    for k in range(4):
        shape = str(rng.choice(["box", "cylinder"]))
        half = float(rng.uniform(0.015, 0.028))
        size = (half, half, half) if shape == "box" else (half, half * 1.3)
        xy = centre + rng.uniform(-0.22, 0.22, size=(24, 2))
        rgba = (*_random_colour(rng), 1.0)
        candidates.append((k, shape, size, xy, rgba))
    count = int(round(4 * level))
    taken = [(np.asarray(o.xy), _radius(o)) for o in scene.objects]
    for k, shape, size, options, rgba in candidates[:count]:
        obj = ObjectSpec(name=f"distractor_{k}", shape=shape, size=size, rgba=rgba, mass=0.05)
        for xy in options:
            if scene.table.on_top(xy, margin=0.05) and all(
                np.linalg.norm(xy - p) >= r + _radius(obj) + 0.02 for p, r in taken
            ):
                taken.append((xy, _radius(obj)))
                e.distractors.append(dataclasses.replace(obj, xy=(float(xy[0]), float(xy[1]))))
                break


def _camera_pose(e: Edits, level: float, rng, scene) -> None:
    """Move every static camera as if bumped: orbited about the point it looks at (15° around,
    10° up or down, ±10 % distance) and shifted 5 cm sideways at level 1."""
    around, up, distance = _signed(rng), _signed(rng), _signed(rng)
    heading, shift = rng.uniform(0, 2 * np.pi), rng.uniform(0, 2 * np.pi)
    if level == 0:
        return
    turn = axis_angle_to_mat(np.array([0, 0, 1.0]) * np.radians(15.0) * level * around)
    tilt_axis = np.array([np.cos(heading), np.sin(heading), 0.0])
    tilt = axis_angle_to_mat(tilt_axis * np.radians(10.0) * level * up)
    transform = np.eye(4)
    transform[:3, :3] = (1.0 + 0.1 * level * distance) * (turn @ tilt)  # scale: distance to pivot
    transform[:3, 3] = 0.05 * level * np.array([np.cos(shift), np.sin(shift), 0.0])
    e.camera_transform = transform @ e.camera_transform


def _camera_fov(e: Edits, level: float, rng, scene) -> None:
    e.focal_scale *= 1.0 + 0.25 * level * _signed(rng)


def _image_noise(e: Edits, level: float, rng, scene) -> None:
    e.noise_sigma = 20.0 * level


def _image_blur(e: Edits, level: float, rng, scene) -> None:
    e.blur_sigma = 2.0 * level


def _image_compression(e: Edits, level: float, rng, scene) -> None:
    if level > 0:
        e.jpeg_quality = int(round(95 - 90 * level))


def _action_latency(e: Edits, level: float, rng, scene) -> None:
    e.latency_steps = int(round(3 * level))


def _object_mass(e: Edits, level: float, rng, scene) -> None:
    for obj in _solids(scene):
        sign = _signed(rng.of(obj))
        if level > 0:
            e.mass_scale[obj.name] = 4.0 ** (level * sign)


def _object_friction(e: Edits, level: float, rng, scene) -> None:
    for obj in _solids(scene):
        depth = rng.of(obj).uniform(0.75, 1.0)
        if level > 0:
            e.friction_scale[obj.name] = 1.0 - 0.8 * level * depth


def _object_damping(e: Edits, level: float, rng, scene) -> None:
    e.damping = 2.0 * level


def _initial_joints(e: Edits, level: float, rng, scene) -> None:
    e.arm_offset = e.arm_offset + 0.25 * level * rng.uniform(-1, 1, size=7)


def _paraphrase(e: Edits, level: float, rng, scene) -> None:
    from benchmark.perturbations.language import paraphrase

    task = scene.tasks[0]
    if level > 0:
        e.instruction = paraphrase(task.instruction, task.family, level, rng)


_AXES = (
    Axis(
        "light_intensity",
        "lighting",
        "× intensity",
        "÷3 or ×3",
        (1 / 3, 3.0),
        "brightness of every light (and the splats' baked light)",
        _light_intensity,
    ),
    Axis(
        "light_color",
        "lighting",
        "per-channel gain",
        "each channel ×0.6 to ×1.4",
        (0.6, 1.4),
        "tint of the light",
        _light_colour,
    ),
    Axis(
        "light_direction",
        "lighting",
        "degrees",
        "turned 60° about a horizontal axis",
        (0.0, 60.0),
        "direction of every light; splats are relit from depth normals",
        _light_direction,
    ),
    Axis(
        "table_color",
        "table",
        "blend weight",
        "the table fully recoloured",
        (0.0, 1.0),
        "table top colour blended toward a random colour",
        _table_colour,
    ),
    Axis(
        "table_texture",
        "table",
        "blend weight",
        "a procedural pattern at full contrast",
        (0.0, 1.0),
        "a procedural texture (checker, stripes, noise, wood, brick) over the table top",
        _table_texture,
    ),
    Axis(
        "background_texture",
        "background",
        "blend weight",
        "background fully textured",
        (0.0, 1.0),
        "a procedural texture over the floor, walls and everything off the table",
        _background_texture,
    ),
    Axis(
        "object_color",
        "objects",
        "blend weight",
        "every object fully recoloured",
        (0.0, 1.0),
        "each object's colour blended toward a random colour",
        _object_colour,
    ),
    Axis(
        "object_texture",
        "objects",
        "blend weight",
        "a pattern at full contrast",
        (0.0, 1.0),
        "a procedural texture in each object's own colours",
        _object_texture,
    ),
    Axis(
        "object_size",
        "objects",
        "× size",
        "×0.7 or ×1.3",
        (0.7, 1.3),
        "each free object scaled about its centre (geometry and splats)",
        _object_size,
    ),
    Axis(
        "object_placement",
        "objects",
        "metres",
        "moved 10 to 20 cm",
        (0.0, 0.20),
        "each object moved on the table in a random direction, kept clear of the others",
        _object_placement,
    ),
    Axis(
        "object_yaw",
        "objects",
        "degrees",
        "turned 45° to 90°",
        (-90.0, 90.0),
        "each object turned about the vertical",
        _object_yaw,
    ),
    Axis(
        "distractors",
        "objects",
        "objects",
        "4 extra objects",
        (0.0, 4.0),
        "extra boxes and cylinders of random colours near the task objects",
        _distractors,
    ),
    Axis(
        "camera_pose",
        "camera",
        "degrees",
        "orbited 15° around, 10° up or down, ±10 % distance, shifted 5 cm",
        (0.0, 15.0),
        "every static camera moved about the point it looks at",
        _camera_pose,
    ),
    Axis(
        "camera_fov",
        "camera",
        "× focal length",
        "×0.75 or ×1.25",
        (0.75, 1.25),
        "focal length (zoom) of every static camera",
        _camera_fov,
    ),
    Axis(
        "image_noise",
        "sensing",
        "intensity levels (σ)",
        "σ = 20 of 255",
        (0.0, 20.0),
        "Gaussian pixel noise",
        _image_noise,
    ),
    Axis("image_blur", "sensing", "pixels (σ)", "σ = 2 px", (0.0, 2.0), "Gaussian blur", _image_blur),
    Axis(
        "image_compression",
        "sensing",
        "JPEG quality",
        "quality 5",
        (95.0, 5.0),
        "JPEG compression of every image",
        _image_compression,
    ),
    Axis(
        "action_latency",
        "control",
        "control steps",
        "3 steps late",
        (0.0, 3.0),
        "each action is applied this many control steps after it was chosen",
        _action_latency,
    ),
    Axis(
        "object_mass", "physics", "× mass", "÷4 or ×4", (0.25, 4.0), "mass of each free object", _object_mass
    ),
    Axis(
        "object_friction",
        "physics",
        "× friction",
        "×0.2 to ×0.4",
        (0.2, 1.0),
        "friction of each free object",
        _object_friction,
    ),
    Axis(
        "object_damping",
        "physics",
        "N·s/m",
        "2 N·s/m linear, 2 N·m·s/rad angular",
        (0.0, 2.0),
        "damping on each free object's motion",
        _object_damping,
    ),
    Axis(
        "initial_joints",
        "robot",
        "radians",
        "each arm joint off by up to 0.25 rad",
        (-0.25, 0.25),
        "the arm's starting joint angles",
        _initial_joints,
    ),
    Axis(
        "paraphrase",
        "language",
        "tier",
        "a far, conversational paraphrase",
        (0.0, 3.0),
        "the instruction reworded: synonyms (tier 1), restructured (2), indirect (3)",
        _paraphrase,
    ),
)
AXES: dict[str, Axis] = {axis.name: axis for axis in _AXES}


def axis_table() -> list[dict]:
    """The axes as rows: name, group, unit, level-1 range and description (``--json``)."""
    return [
        {
            "axis": a.name,
            "group": a.group,
            "unit": a.unit,
            "at_level_1": a.at_level_1,
            "range_at_level_1": list(a.range_at_level_1),
            "description": a.description,
        }
        for a in _AXES
    ]


def axis_seed(seed: int, axis: str) -> np.random.Generator:
    """The generator of ``axis`` in a scenario with ``seed`` (stable across processes)."""
    return np.random.default_rng([int(seed), zlib.crc32(axis.encode())])


class Draws:
    """An axis's draws in one scenario: a generator for scenario-wide draws (its methods are this
    object's), and one per object (:meth:`of`), keyed by the object's task role or name, so an
    object the other world lacks never shifts the draws of the task's object or target."""

    def __init__(self, seed: int, axis: str, scene: SceneSpec):
        self.seed, self.axis, self.scene = int(seed), axis, scene
        self.rng = axis_seed(seed, axis)

    def __getattr__(self, name: str):
        return getattr(self.rng, name)

    def of(self, obj: ObjectSpec) -> np.random.Generator:
        """The generator of this axis's draws for ``obj``."""
        return object_rng(self.seed, self.axis, object_key(self.scene, obj.name))


def sample_edits(perturbations, seed: int, scene: SceneSpec) -> Edits:
    """Compose ``perturbations`` (in axis order) into one :class:`Edits` for ``scene``."""
    edits = Edits()
    levels: dict[str, float] = {}
    for p in perturbations:
        p = p if isinstance(p, Perturbation) else parse_perturbation(str(p))
        if p.axis in levels and levels[p.axis] != p.level:
            raise PerturbationError(
                f"perturbation {p.axis!r} given twice ({levels[p.axis]:g} and {p.level:g})"
            )
        levels[p.axis] = p.level
    for name, axis in AXES.items():
        if name in levels:
            axis.sample(edits, levels[name], Draws(seed, name, scene), scene)
    return edits
