"""Campaigns as data: what ``twinarena evaluate`` asks for, expanded into jobs with stable keys.

A campaign is policies × twins × scenario cells × seeds. The cells are the unperturbed scenario
plus every swept axis at every non-zero level, one axis at a time (the protocol of The
Colosseum and LIBERO-Plus). With ``interactions`` on, every two swept axes ``a`` and ``b`` are
also composed: the cell ``a+b`` (names sorted) at level L applies ``a=L`` and ``b=L`` together,
for every non-zero level both sweeps share, or, when they share none, at the lower of their two
top levels. A job is one policy in one scenario; its key is
(policy, scenario key), and the scenario key hashes everything that decides how the episode
plays out, so running the same campaign again finds the episodes it already has.

Everything here is pure: the store and the executors live in :mod:`benchmark.campaigns.evaluate`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from benchmark.errors import ScenarioError
from benchmark.perturbations.axes import Perturbation, parse_perturbation
from benchmark.policies.protocol import PolicyInfo
from benchmark.store.queries import UNPERTURBED  # the axis name of the unperturbed cell

WRIST_NAMES = ("wrist", "robot/wrist")  # how a policy's ``cameras`` asks for the wrist camera
COMPOSED = "+"  # joins the axes of a composed cell: "object_placement+object_yaw"
DEFAULT_SEEDS = 10
DEFAULT_STEP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Sweep:
    """One perturbation axis at several levels in [0, 1]."""

    axis: str
    levels: tuple[float, ...]


def parse_sweep(text: str) -> Sweep:
    """``"light_intensity=0.25,0.5,1"`` → :class:`Sweep` (axis and levels checked)."""
    axis, sep, values = text.partition("=")
    if not sep or not values.strip():
        raise ScenarioError(f"--perturb {text!r}: expected AXIS=LEVEL[,LEVEL…], e.g. light_intensity=0.5,1")
    levels = tuple(parse_perturbation(f"{axis.strip()}={value.strip()}").level for value in values.split(","))
    return Sweep(axis.strip(), tuple(sorted(set(levels))))


@dataclass(frozen=True)
class RunSettings:
    """How every episode of a campaign runs. ``image_size`` (width, height) overrides each
    policy's own; ``max_seconds`` the twin's episode length."""

    render: str = "auto"
    backend: str = "mujoco"
    step_timeout: float = DEFAULT_STEP_TIMEOUT_S
    image_size: tuple[int, int] | None = None
    max_seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["image_size"] = list(self.image_size) if self.image_size else None
        return values


@dataclass(frozen=True)
class CampaignSpec:
    """A campaign as the user states it: policy names, twins (folders or reference scenes),
    perturbation sweeps and the number of seeds per cell."""

    policies: tuple[str, ...]
    twins: tuple[str, ...]
    sweeps: tuple[Sweep, ...] = ()
    seeds: int = DEFAULT_SEEDS
    settings: RunSettings = field(default_factory=RunSettings)
    interactions: bool = False  # also every two swept axes composed (see the module docstring)

    def __post_init__(self):
        if not self.policies:
            raise ScenarioError("a campaign needs at least one --policy")
        if not self.twins:
            raise ScenarioError("a campaign needs at least one --twin")
        if self.seeds < 1:
            raise ScenarioError(f"--seeds must be at least 1, got {self.seeds}")


def cells(sweeps: tuple[Sweep, ...], interactions: bool = False) -> list[tuple[str, float]]:
    """The scenario cells: (``none``, 0) first, then each axis at each non-zero level, in order;
    with ``interactions``, then every two axes composed (:func:`composed_cells`)."""
    out = [(UNPERTURBED, 0.0)]
    for sweep in sweeps:
        out += [(sweep.axis, level) for level in sweep.levels if level > 0 and (sweep.axis, level) not in out]
    if interactions:
        out += [cell for cell in composed_cells(sweeps) if cell not in out]
    return out


def composed_cells(sweeps: tuple[Sweep, ...]) -> list[tuple[str, float]]:
    """``(a+b, L)`` for every two swept axes (names sorted): each non-zero level both sweeps
    share, or the lower of their top levels when they share none."""
    levels: dict[str, set[float]] = {}
    for sweep in sweeps:
        levels.setdefault(sweep.axis, set()).update(level for level in sweep.levels if level > 0)
    axes = [axis for axis in levels if levels[axis]]
    out = []
    for i, first in enumerate(axes):
        for second in axes[i + 1 :]:
            shared = sorted(levels[first] & levels[second])
            chosen = shared or [min(max(levels[first]), max(levels[second]))]
            out += [(composed_axis(first, second), level) for level in chosen]
    return out


def composed_axis(*axes: str) -> str:
    """The axis name of a composed cell: the axes sorted, joined by ``+``."""
    return COMPOSED.join(sorted(axes))


def axis_parts(axis: str) -> tuple[str, ...]:
    """The single axes of a cell's axis name (``a+b`` → ``(a, b)``; ``none`` → ``()``)."""
    return () if axis == UNPERTURBED else tuple(axis.split(COMPOSED))


def perturbations(axis: str, level: float) -> tuple[Perturbation, ...]:
    """The perturbation set of a cell (empty for the unperturbed one; every axis of a composed
    ``a+b`` cell at the cell's level)."""
    if axis == UNPERTURBED or level == 0:
        return ()
    return tuple(Perturbation(part, level) for part in axis_parts(axis))


def digest(value: Any) -> str:
    """SHA-256 of ``value`` as canonical JSON (sorted keys, no spaces): the key of a scenario or campaign."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def scenario_identity(
    twin_hash: str, task: str, axis: str, level: float, seed: int, settings: RunSettings
) -> dict[str, Any]:
    """What identifies a scenario: the world (twin, task, perturbations, seed) and the settings
    that change how an episode in it plays out. What a policy observes (its cameras, image size,
    action space) belongs to the policy, so two policies meet in the same scenario."""
    return {
        "twin_hash": twin_hash,
        "task": task,
        "perturbations": [str(p) for p in perturbations(axis, level)],
        "seed": int(seed),
        "config": settings.to_dict(),
    }


def scenario_key(identity: dict[str, Any]) -> str:
    return digest(identity)


@dataclass(frozen=True)
class Job:
    """One policy in one scenario, as a worker runs it: everything needed without the store.

    ``policy_spec`` loads the policy (a built-in, a stored artefact, a server URL); ``twin`` is
    the twin package's folder (the stored copy); ``scenario`` the :func:`scenario_identity`."""

    policy: str
    policy_spec: str
    policy_info: dict[str, Any]
    twin: str
    scenario: dict[str, Any]
    axis: str
    level: float
    settings: RunSettings

    @property
    def key(self) -> tuple[str, str]:
        return self.policy, scenario_key(self.scenario)

    @property
    def seed(self) -> int:
        return int(self.scenario["seed"])

    def label(self) -> str:
        cell = cell_label(self.axis, self.level)
        return f"{self.policy} · {self.scenario['task']} · {cell} · seed {self.seed}"


def cell_label(axis: str, level: float) -> str:
    """How a scenario cell reads: ``unperturbed``, or ``axis=level``."""
    return "unperturbed" if axis == UNPERTURBED else f"{axis}={level:g}"


def env_config(info: PolicyInfo, settings: RunSettings, perturbations: tuple = ()):
    """The :class:`~benchmark.episodes.env.EnvConfig` a policy runs in: its own action space, cameras
    (``wrist`` or ``robot/wrist`` among them adds the wrist camera), image size and control rate, or
    those of the convention it names (``adapter``), the run's settings, and the perturbations
    (``"axis=level"`` or :class:`Perturbation`)."""
    from benchmark.episodes.env import EnvConfig
    from benchmark.policies.conventions import env_settings

    static = tuple(c for c in info.cameras if c not in WRIST_NAMES)
    values = {
        "action_space": info.action_space,
        "image_size": info.image_size,
        "cameras": static or None,
        "wrist_camera": len(static) < len(info.cameras),
        "control_hz": info.control_hz,
        **env_settings(info),  # a convention's own cameras, sizes, action space and rate
    }
    own_size = values.pop("image_size")
    return EnvConfig(
        **values,
        image_size=tuple(settings.image_size or own_size),
        render=settings.render,
        backend=settings.backend,
        max_seconds=settings.max_seconds,
        perturbations=tuple(perturbations),
    )


def campaign_identity(
    policies: list[tuple[str, str | None]], twin_hashes: list[str], spec: CampaignSpec
) -> dict[str, Any]:
    """What identifies a campaign: its policies (name, artefact hash), twins, cells, seeds, settings."""
    return {
        "policies": [[name, sha] for name, sha in policies],
        "twins": list(twin_hashes),
        "cells": [[axis, level] for axis, level in cells(spec.sweeps, spec.interactions)],
        "seeds": spec.seeds,
        "settings": spec.settings.to_dict(),
    }
