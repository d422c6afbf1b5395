"""``twinarena demo``: every stage that exists, end to end, on the embedded defaults.

Stages so far: record expert demonstrations of every reference scene and task, export them as a
LeRobotDataset v3.0, draw a contact sheet per demonstration, build a twin of each task's first
demonstration (scored against its ground truth, with the scripted expert run inside it), then
evaluate a small population of policies in the first twin, unperturbed and with its objects
moved, into a store in the output folder, read the leaderboard back from it and fit
Bradley–Terry ratings to the same episodes; then stress-test the same policies along two axes and
their composition, and write a report (HTML, PDF, JSON) for each.
"""

from __future__ import annotations

import json
import shutil
from contextlib import nullcontext
from pathlib import Path

import numpy as np

from benchmark.scenes.recording import record
from benchmark.scenes.registry import load_scene, scene_tasks
from twin.demonstration import read_demonstration


def contact_sheet(demo_dir: Path, columns: int = 4, rows: int = 2) -> np.ndarray:
    """Frames spread over a demonstration (scan first, then execution) tiled into one image."""
    demo = read_demonstration(demo_dir)
    frames = demo.primary.rgb
    picks = np.linspace(0, len(frames) - 1, columns * rows).round().astype(int)
    tiles = [frames[i] for i in picks]
    return np.vstack([np.hstack(tiles[r * columns : (r + 1) * columns]) for r in range(rows)])


DEMO_SPLAT_STEPS = 300  # fewer than a full build's 800: the demo favours time over the last dB
DEMO_POLICIES = ("vision-expert", "vision-expert?noise=0.015", "random")
DEMO_SWEEP = "object_placement=0.5"
DEMO_SEEDS = 2
# the stress test: the demo's own cells plus a second level and a second axis, and the two composed
STRESS_SWEEPS = ("object_placement=0.5,1", "camera_pose=0.5,1")


def run_demo(
    out: Path,
    episodes: int = 2,
    overwrite: bool = False,
    progress_factory=None,
    splat_steps: int = DEMO_SPLAT_STEPS,
) -> dict:
    """Run the pipeline into ``out``; return a JSON-able summary of what was made."""
    from PIL import Image

    out = Path(out)
    if out.exists():
        if not overwrite:
            raise FileExistsError(
                f"output folder {out} already exists; pass --overwrite or choose another -o"
            )
        shutil.rmtree(out)
    out.mkdir(parents=True)
    jobs = scene_tasks()
    rows, demo_dirs = [], []
    bar = progress_factory() if progress_factory else nullcontext()
    with bar:
        handle = (
            bar.add_task("record demonstrations", total=len(jobs) * episodes) if progress_factory else None
        )
        for scene_name, task_name in jobs:
            scene = load_scene(scene_name)
            folder = out / "demonstrations" / scene_name / task_name
            summaries = record(
                scene,
                folder,
                episodes,
                seed=0,
                task_name=task_name,
                on_episode=(lambda s: bar.advance(handle)) if progress_factory else None,
            )
            demo_dirs += [Path(s.path) for s in summaries]
            rows.append(
                {
                    "scene": scene_name,
                    "task": task_name,
                    "episodes": len(summaries),
                    "successes": sum(s.success for s in summaries),
                    "mean_progress": float(np.mean([s.progress for s in summaries])),
                }
            )
    previews = out / "previews"
    previews.mkdir()
    for scene_name, task_name in jobs:
        first = out / "demonstrations" / scene_name / task_name / "episode_000000"
        Image.fromarray(contact_sheet(first)).save(previews / f"{scene_name}__{task_name}.png")
    artifacts = {"demonstrations": str(out / "demonstrations"), "previews": str(previews)}
    try:
        from twin.lerobot import export_lerobot_v3
    except ImportError:  # pragma: no cover - the LeRobot exporter ships with the package
        export_lerobot_v3 = None
    if export_lerobot_v3 is not None:
        export_lerobot_v3(demo_dirs, out / "lerobot", repo_id="twinarena/reference-demos")
        artifacts["lerobot_v3"] = str(out / "lerobot")
    artifacts["twins"] = str(out / "twins")
    twins = _build_twins(out, jobs, splat_steps, progress_factory)
    evaluation = _evaluate(out, Path(twins[0]["twin"]), progress_factory)
    artifacts["store"] = evaluation.pop("store")
    stress = _stress_reports(out, Path(twins[0]["twin"]), progress_factory)
    artifacts["reports"] = stress.pop("folder")
    result = {
        "scenes": rows,
        "twins": twins,
        "evaluation": evaluation,
        "stress": stress,
        "artifacts": artifacts,
    }
    (out / "summary.json").write_text(json.dumps(result, indent=1))
    return result


def _build_twins(out: Path, jobs, splat_steps: int, progress_factory) -> list[dict]:
    """A twin of every task's first demonstration, each scored and tried with the expert."""
    from benchmark.scenes.twins import evaluate_twin
    from twin.appearance import AppearanceConfig
    from twin.build import BuildConfig

    config = BuildConfig(appearance=AppearanceConfig(steps=splat_steps))
    bar = progress_factory() if progress_factory else nullcontext()
    rows = []
    with bar:
        handle = bar.add_task("build twins", total=len(jobs)) if progress_factory else None
        for scene_name, task_name in jobs:
            demo = out / "demonstrations" / scene_name / task_name / "episode_000000"
            twin_dir = out / "twins" / f"{scene_name}__{task_name}"
            task = load_scene(scene_name).task(task_name)
            rows.append(
                {"scene": scene_name, "task": task_name, **evaluate_twin(demo, twin_dir, config, task)}
            )
            if progress_factory:
                bar.advance(handle)
    return rows


def _run_campaign(store, spec, name: str, label: str, progress_factory, bar, workers: int):
    """Run the campaign ``spec`` as ``name`` into ``store`` with a progress line ``label``."""
    from benchmark.campaigns.evaluate import run_campaign
    from benchmark.campaigns.executors import LocalExecutor

    handle = {}

    def on_plan(plan):
        if progress_factory:
            handle["task"] = bar.add_task(label, total=len(plan.missing))

    def on_result(*_):
        if progress_factory:
            bar.advance(handle["task"])

    return run_campaign(store, spec, LocalExecutor(workers), name, on_plan, on_result)


def _demo_store(out: Path):
    """The demo's store: SQLite and artefacts in ``out/store``."""
    from benchmark.store import open_store

    folder = out / "store"
    folder.mkdir(parents=True, exist_ok=True)
    return open_store(f"sqlite:///{folder / 'twinarena.db'}", folder / "artefacts")


def _evaluate(out: Path, twin: Path, progress_factory, workers: int = 2) -> dict:
    """A campaign of the built-in policies in ``twin``, stored in ``out/store``; its leaderboard."""
    from dataclasses import asdict

    from benchmark.campaigns.campaign import CampaignSpec, parse_sweep
    from benchmark.judges.standings import fit_and_store
    from benchmark.store.queries import UNPERTURBED, scope_text

    spec = CampaignSpec(DEMO_POLICIES, (str(twin),), (parse_sweep(DEMO_SWEEP),), DEMO_SEEDS)
    bar = progress_factory() if progress_factory else nullcontext()
    with _demo_store(out) as store, bar:
        report = _run_campaign(store, spec, "demo", "evaluate policies", progress_factory, bar, workers)
        ratings = fit_and_store(store, "state", "demo")  # the same episodes as pairwise comparisons
        return {
            "campaign": report.to_dict(),
            # the default scope of `twinarena leaderboard`: this (newest) campaign, unperturbed
            "leaderboard_scope": scope_text("demo", UNPERTURBED),
            "leaderboard": [asdict(r) for r in store.leaderboard("state", "demo", axis=UNPERTURBED)],
            "ratings": ratings.rows(),
            "robustness": [asdict(r) for r in store.robustness("demo")],
            "store": str(out / "store"),
        }


def _stress_reports(out: Path, twin: Path, progress_factory, workers: int = 2) -> dict:
    """A stress campaign of the same policies (``STRESS_SWEEPS`` and their composition; the cells
    the first campaign ran are reused, not run again), then a report on each policy where the
    dashboard looks for it (:func:`benchmark.report.paths.default_report_dir`)."""
    from benchmark.campaigns.campaign import CampaignSpec, parse_sweep
    from benchmark.judges.standings import fit_and_store
    from benchmark.report.paths import default_report_dir
    from benchmark.report.write import write_report

    sweeps = tuple(parse_sweep(text) for text in STRESS_SWEEPS)
    spec = CampaignSpec(DEMO_POLICIES, (str(twin),), sweeps, DEMO_SEEDS, interactions=True)
    bar = progress_factory() if progress_factory else nullcontext()
    reports = {}
    with _demo_store(out) as store, bar:
        label = "stress-test policies"
        campaign = _run_campaign(store, spec, "demo-stress", label, progress_factory, bar, workers)
        fit_and_store(store, "state")  # ratings over the whole store, which the reports read
        task = bar.add_task("write reports", total=len(DEMO_POLICIES)) if progress_factory else None
        for policy in DEMO_POLICIES:
            paths = write_report(store, policy)  # into default_report_dir(store, policy)
            reports[policy] = {kind: str(path) for kind, path in paths.items()}
            if progress_factory:
                bar.advance(task)
        where = default_report_dir(store, DEMO_POLICIES[0]).parent
    return {"campaign": campaign.to_dict(), "reports": reports, "folder": str(where)}
