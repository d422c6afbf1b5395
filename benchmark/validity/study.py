"""A validity study: does a twin rank policies the way its reference world does?

Proxy-real protocol: a reference world (:mod:`benchmark.validity.reference`) films a demonstration;
the twin is built from that recording alone; the same policy population then runs in both worlds
over the same scenarios and seeds (common random numbers: a policy's own noise and every
perturbation draw depend only on the seed), as two campaigns in the store. The study compares the
per-policy success rates (Pearson r, SIMPLER's MMRV, Kendall τ, bootstrap intervals over
scenarios), and when the twin falls short of the targets an ablation
(:mod:`benchmark.validity.ablation`) names the twin stage to blame. The result is stored
(:meth:`benchmark.store.Store.add_validity`) for the dashboard and reports.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.campaigns.campaign import CampaignSpec, RunSettings, Sweep, cells, digest
from benchmark.validity import metrics
from benchmark.validity.population import POPULATIONS, register_learned
from benchmark.validity.reference import (
    REFERENCE_SENSOR,
    STYLES,
    ValidityError,
    demonstration_sensor,
    demonstration_style,
    demonstration_task,
    first_poses,
    honesty_checks,
    package_reference,
    record_reference,
    reference_scene,
)
from benchmark.validity.sources import ReferenceSource, reference_source

PEARSON_TARGET = 0.95
MMRV_TARGET = 0.03
BASELINE_NOISES = (0.0, 0.008, 0.012, 0.015, 0.018, 0.022, 0.03)  # the vision expert's graded skill
BASELINES = tuple("vision-expert" if n == 0 else f"vision-expert?noise={n:g}" for n in BASELINE_NOISES) + (
    "random",
)
DEFAULT_SWEEPS = (Sweep("object_placement", (0.5,)),)
ABLATE = ("auto", "always", "never")


@dataclass(frozen=True)
class StudyConfig:
    """What a study runs. ``policies`` None: the ``population`` (:mod:`benchmark.validity.population`:
    ``baselines``, the scripted expert at graded noise and the random policy, plus every registered
    policy; or ``learned``, the scene's behaviour-cloned checkpoints alone).
    ``ablate``: ``auto`` (only when the twin falls short), ``always`` or ``never``.
    ``style``: how the demonstration is recorded, ``scan`` (RGB-D with camera poses) or
    ``robot-log`` (exterior and wrist cameras, RGB and intrinsics only, joint states)."""

    policies: tuple[str, ...] | None = None
    population: str = "baselines"
    task: str | None = None  # the reference's task (an imported world's FAMILY:OBJECT:TARGET)
    sweeps: tuple[Sweep, ...] = DEFAULT_SWEEPS
    seeds: int = 24  # per cell; with the default sweep, 48 scenarios per policy and world
    settings: RunSettings = field(default_factory=RunSettings)
    splat_steps: int = 300
    record_seed: int = 3
    rounds: int = 1000
    seed: int = 0
    ablate: str = "auto"
    style: str = "scan"

    def __post_init__(self):
        if self.style not in STYLES:
            raise ValidityError(f"--style must be one of {', '.join(STYLES)}, got {self.style!r}")
        if self.ablate not in ABLATE:
            raise ValidityError(f"--ablate must be one of {', '.join(ABLATE)}, got {self.ablate!r}")
        if self.seeds < 1:
            raise ValidityError(f"--seeds must be at least 1, got {self.seeds}")
        if self.population not in POPULATIONS:
            raise ValidityError(
                f"--population must be one of {', '.join(POPULATIONS)}, got {self.population!r}"
            )


@dataclass
class Hooks:
    """Progress callbacks: ``stage(text)`` as each stage starts; ``plan(label, jobs)`` before a
    campaign runs its missing jobs; ``result(label)`` after each job."""

    stage: Callable[[str], None] = lambda text: None
    plan: Callable[[str, int], None] = lambda label, jobs: None
    result: Callable[[str], None] = lambda label: None


# -- inputs ------------------------------------------------------------------------------------
def resolve_demo(
    demo: str | Path, source: ReferenceSource, config: StudyConfig, hooks: Hooks
) -> Path:
    """The demonstration episode folder of ``source``'s task, recorded from its reference world
    (through :data:`REFERENCE_SENSOR`, as a ``config.style`` recording) when ``demo`` does not
    exist yet."""
    demo = Path(demo)
    scene, task = source.scene, source.task
    if not demo.exists():
        hooks.stage(f"record a {config.style} demonstration of {scene.name}/{task.name} in the reference")
        demo = record_reference(scene, task, demo, config.record_seed, REFERENCE_SENSOR, style=config.style)
    elif not (demo / "meta.json").is_file() and (demo / "episode_000000" / "meta.json").is_file():
        demo = demo / "episode_000000"
    recorded_scene, recorded_task = demonstration_task(demo)
    if (recorded_scene, recorded_task) != (scene.name, task.name):
        raise ValidityError(
            f"{demo} records {recorded_scene}/{recorded_task}, not the reference {scene.name}/{task.name}; "
            "pass its scene as --reference, or a --demo path that does not exist yet to record one"
        )
    style = demonstration_style(demo)
    if style != config.style:
        raise ValidityError(
            f"{demo} is a {style} demonstration, not a {config.style} one; pass --style {style}, "
            "or a --demo path that does not exist yet to record one"
        )
    sensor = demonstration_sensor(demo)
    if sensor != REFERENCE_SENSOR:
        raise ValidityError(
            f"{demo} was not filmed through the reference world's sensor model (it has "
            f"{None if sensor is None else sensor.to_dict()}); a proxy-real twin must see only what the "
            "reference camera saw: pass a --demo path that does not exist, and validate records one"
        )
    return demo


def reference_world(demo: Path, source: ReferenceSource, out: Path) -> Path:
    """The reference world's package: the scene as the demonstration found it, with its sensor."""
    return package_reference(reference_scene(source.scene, first_poses(demo)), source.task, out)


def twin_of(demo: Path, twin: Path, splat_steps: int, hooks: Hooks) -> tuple[Path, dict | None]:
    """The twin built from ``demo`` at ``twin``: reused when a sound package built from the same
    demonstration is there, else built (and scored against the ground truth)."""
    from twin.package import check_twin, read_twin

    if (twin / "twin.json").is_file():
        problems = check_twin(twin)
        if problems:
            raise ValidityError(f"twin {twin} is not a sound package: {problems[0]}")
        source = read_twin(twin).manifest.get("source", {}).get("path")
        if source is None or Path(source).resolve() != demo.resolve():
            raise ValidityError(f"twin {twin} was built from {source}, not {demo}; pass another --twin")
        return twin, None
    from benchmark.scenes.twins import build_and_evaluate
    from twin.appearance import AppearanceConfig
    from twin.build import BuildConfig

    hooks.stage(f"build the twin of {demo} ({splat_steps} splat steps)")
    built = build_and_evaluate(demo, twin, config=BuildConfig(appearance=AppearanceConfig(steps=splat_steps)))
    return twin, {k: built["fidelity"].get(k) for k in ("psnr_db", "ssim", "ground_truth")}


def population(store, config: StudyConfig, scene: str | None = None) -> tuple[str, ...]:
    """The policies of the study: those asked for, else ``config.population``: the learned
    checkpoints of ``scene`` (registered on first use), or the baselines and every registered policy."""
    if config.policies:
        return tuple(dict.fromkeys(config.policies))
    if config.population == "learned":
        if scene is None:
            raise ValidityError("the learned population needs the reference scene")
        return register_learned(store, scene)
    registered = [p.name for p in store.list_policies("registered")]
    return tuple(dict.fromkeys([*BASELINES, *registered]))


# -- running -----------------------------------------------------------------------------------
def run_world(store, world: Path, label: str, policies, config: StudyConfig, executor, hooks: Hooks):
    """One campaign of ``policies`` in ``world``; return its name, its report and the outcomes
    ``{(policy, axis, level, seed): success}``."""
    from benchmark.campaigns.evaluate import run_campaign
    from twin.package import read_twin

    twin_hash = read_twin(world).content_hash
    spec = CampaignSpec(policies, (str(world),), config.sweeps, config.seeds, config.settings)
    body = [label, twin_hash, list(policies), [list(c) for c in cells(config.sweeps)], config.seeds]
    name = f"validity-{label}-{twin_hash[:8]}-{digest([*body, config.settings.to_dict()])[:8]}"
    report = run_campaign(
        store,
        spec,
        executor,
        name,
        on_plan=lambda plan: hooks.plan(label, len(plan.missing)),
        on_result=lambda job, result, error: hooks.result(label),
    )
    name = report.campaign  # the same campaign run before under another name keeps that name
    rows = store.episodes(campaign=name, limit=10**9)
    outcomes = {(r.policy, r.axis, float(r.level), int(r.seed)): bool(r.success) for r in rows}
    return name, report, twin_hash, outcomes


def outcome_matrices(policies, reference: dict, twin: dict):
    """[policies, scenarios] 0/1 matrices over the scenarios every policy played in both worlds."""
    scenarios = sorted({k[1:] for k in reference} & {k[1:] for k in twin})
    complete = [s for s in scenarios if all((p, *s) in reference and (p, *s) in twin for p in policies)]
    ref = np.array([[reference[(p, *s)] for s in complete] for p in policies], dtype=float)
    tw = np.array([[twin[(p, *s)] for s in complete] for p in policies], dtype=float)
    return complete, ref.reshape(len(policies), len(complete)), tw.reshape(len(policies), len(complete))


def compare(policies, scenarios, ref: np.ndarray, tw: np.ndarray, rounds: int, seed: int) -> dict[str, Any]:
    """Metrics with intervals over all scenarios, per-policy rates, and the metrics per cell."""
    if ref.shape[1] == 0:
        raise ValidityError(
            "no scenario has an episode of every policy in both worlds; see the campaigns' errors"
        )
    estimates = metrics.bootstrap(ref, tw, np.random.default_rng(seed), rounds)
    per_policy = [
        {
            "policy": p,
            "reference_success": float(ref[i].mean()),
            "twin_success": float(tw[i].mean()),
            "n": ref.shape[1],
        }
        for i, p in enumerate(policies)
    ]
    per_cell = {}
    for cell in sorted({s[:2] for s in scenarios}):
        idx = [k for k, s in enumerate(scenarios) if s[:2] == cell]
        r, t = ref[:, idx].mean(axis=1), tw[:, idx].mean(axis=1)
        per_cell[f"{cell[0]}={cell[1]:g}"] = {
            "scenarios": len(idx),
            "pearson": metrics.pearson(r, t),
            "mmrv": metrics.mmrv(r, t),
            "kendall": metrics.kendall_tau(r, t),
        }
    out = {name: e.to_dict() for name, e in estimates.items()}
    rates = ref.mean(axis=1)
    spread = float(rates.max() - rates.min())
    # a population the reference world does not tell apart ranks nothing: r = 1 by convention there
    passed = spread > 0 and out["pearson"]["value"] >= PEARSON_TARGET and out["mmrv"]["value"] <= MMRV_TARGET
    return {
        **out,
        "passed": passed,
        "reference_spread": spread,
        "per_policy": per_policy,
        "cells": per_cell,
        "n_scenarios": ref.shape[1],
    }


def gap(result: dict[str, Any]) -> float:
    """How far a comparison is from perfect agreement: (1 − Pearson r) + MMRV."""
    return (1.0 - result["pearson"]["value"]) + result["mmrv"]["value"]


@dataclass(frozen=True)
class Worlds:
    """What a study compares: the demonstration, its scene and task, the twin built from it (with
    its build scores when built here), the reference world's package, the honesty checks of the
    pair, and the policy population."""

    demo: Path
    scene: str
    task: str
    workdir: Path
    twin: Path
    twin_build: dict | None
    reference: Path
    honesty: list
    policies: tuple[str, ...]


def prepare_worlds(
    store, reference: str, demo: str | Path, twin: str | Path | None, config: StudyConfig, hooks: Hooks
) -> Worlds:
    """Resolve (or record) the demonstration, reuse or build its twin, package the reference world,
    check the pair's honesty and choose the population."""
    demo = Path(demo)
    source = reference_source(reference, config.task, demo.parent / "reference-assets")
    for note in source.notes:
        hooks.stage(f"note: {note}")
    demo = resolve_demo(demo, source, config, hooks)
    scene_name, task_name = source.name, source.task.name
    workdir = demo.parent / f"validity-{demo.name}"
    twin_dir, built = twin_of(demo, Path(twin) if twin else workdir / "twin", config.splat_steps, hooks)
    hooks.stage("package the reference world")
    ref_dir = reference_world(demo, source, workdir / "reference")
    checks = honesty_checks(ref_dir, twin_dir, demo)
    policies = population(store, config, scene_name)
    if len(policies) < 2:
        raise ValidityError(f"a validity study needs at least two policies, got {list(policies)}")
    return Worlds(demo, scene_name, task_name, workdir, twin_dir, built, ref_dir, checks, policies)


def wants_ablation(config: StudyConfig, result: dict[str, Any]) -> bool:
    """``always``, or ``auto`` when the twin falls short of the targets."""
    return config.ablate == "always" or (config.ablate == "auto" and not result["passed"])


def run_ablation(
    store, worlds: Worlds, ref_out: dict, result: dict[str, Any], config: StudyConfig, executor, hooks: Hooks
) -> tuple[str | None, list[dict[str, Any]]]:
    """Run the twin with each stage swapped for the ground truth; return the stage to blame (the one
    whose swap recovers the most agreement, if any does) and a row per stage."""
    from benchmark.validity.ablation import STAGES, hybrid_package

    ablation = []
    for stage in STAGES:
        hooks.stage(f"ablation: the twin with the ground-truth {stage}")
        try:
            hybrid = hybrid_package(stage, worlds.twin, worlds.reference, worlds.workdir / f"hybrid-{stage}")
        except ValidityError as err:  # the study itself is still stored, with the reason
            ablation.append({"stage": stage, "error": str(err), "recovered": None})
            continue
        name, report, _, out = run_world(
            store, hybrid, f"hybrid-{stage}", worlds.policies, config, executor, hooks
        )
        h_scen, h_ref, h_tw = outcome_matrices(worlds.policies, ref_out, out)
        h = compare(worlds.policies, h_scen, h_ref, h_tw, config.rounds, config.seed)
        ablation.append(
            {
                "stage": stage,
                "campaign": name,
                "pearson": h["pearson"]["value"],
                "mmrv": h["mmrv"]["value"],
                "kendall": h["kendall"]["value"],
                "recovered": gap(result) - gap(h),
                "errors": len(report.errors),
            }
        )
    measured = [row for row in ablation if row["recovered"] is not None]
    best = max(measured, key=lambda row: row["recovered"], default=None)
    return (best["stage"] if best is not None and best["recovered"] > 0 else None), ablation


def study_record(
    worlds: Worlds,
    config: StudyConfig,
    campaigns: dict[str, str],
    errors: dict[str, int],
    result: dict[str, Any],
    blame: str | None,
    ablation: list[dict[str, Any]],
) -> dict[str, Any]:
    """The study as it is stored: the scene, task, metrics and verdict, and the detail behind them."""
    detail = {
        "campaigns": campaigns,
        "errors": errors,
        "cells": result["cells"],
        "reference_spread": result["reference_spread"],
        "sweeps": [f"{s.axis}={','.join(f'{v:g}' for v in s.levels)}" for s in config.sweeps],
        "seeds": config.seeds,
        "targets": {"pearson": PEARSON_TARGET, "mmrv": MMRV_TARGET},
        "honesty": worlds.honesty,
        "ablation": ablation,
        "demonstration": str(worlds.demo),
        "style": config.style,
        "twin_folder": str(worlds.twin),
        "reference_folder": str(worlds.reference),
        "twin_build": worlds.twin_build,
    }
    return {
        "reference": worlds.scene,
        "task": worlds.task,
        "style": config.style,
        "n_policies": len(worlds.policies),
        "n_scenarios": result["n_scenarios"],
        **{k: result[k] for k in ("pearson", "mmrv", "kendall", "passed", "per_policy")},
        "blame": blame,
        "detail": json.loads(json.dumps(detail, default=str)),
    }


def run_study(
    store,
    reference: str,
    demo: str | Path,
    twin: str | Path | None = None,
    config: StudyConfig | None = None,
    executor=None,
    hooks: Hooks | None = None,
) -> dict[str, Any]:
    """The whole study (see the module docstring); returns what it stored, as JSON-able data."""
    from benchmark.campaigns.executors import LocalExecutor

    config = config or StudyConfig()
    hooks = hooks or Hooks()
    executor = executor or LocalExecutor(1)
    worlds = prepare_worlds(store, reference, demo, twin, config, hooks)
    policies = worlds.policies
    ref_name, ref_report, ref_hash, ref_out = run_world(
        store, worlds.reference, "reference", policies, config, executor, hooks
    )
    twin_name, twin_report, twin_hash, twin_out = run_world(
        store, worlds.twin, "twin", policies, config, executor, hooks
    )
    scenarios, ref, tw = outcome_matrices(policies, ref_out, twin_out)
    result = compare(policies, scenarios, ref, tw, config.rounds, config.seed)
    blame, ablation = None, []
    if wants_ablation(config, result):
        blame, ablation = run_ablation(store, worlds, ref_out, result, config, executor, hooks)
    campaigns = {"reference": ref_name, "twin": twin_name}
    errors = {"reference": len(ref_report.errors), "twin": len(twin_report.errors)}
    stored = study_record(worlds, config, campaigns, errors, result, blame, ablation)
    row_id = store.add_validity(twin_hash, ref_hash, stored)
    return {"id": row_id, "twin_hash": twin_hash, "reference_hash": ref_hash, **stored}
