"""Twin packages from the benchmark's side: build with ground-truth scoring, and deep checks.

:func:`twin.build.build_twin` reconstructs; this module adds what needs the simulator or the
ground truth: compiling ``scene.xml`` with the robot, reading every PLY, and scoring a fresh twin
against the demonstration's ``ground_truth/`` when it has one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def build_and_evaluate(
    demo, out, episode=None, overwrite=False, on_stage=None, config=None, sidecar=None
) -> dict[str, Any]:
    """Build a twin, then, if the demonstration carries ground truth, score the twin against it."""
    from twin.build import BuildConfig, build_twin
    from twin.fidelity import ground_truth_report

    report = build_twin(
        demo,
        out,
        config or BuildConfig(),
        overwrite=overwrite,
        episode=episode,
        on_stage=on_stage,
        sidecar=sidecar,
    )
    fidelity = dict(report.fidelity)
    if (Path(demo) / "ground_truth").is_dir():
        fidelity["ground_truth"] = ground_truth_report(report.path, demo)
    return {
        "twin": str(report.path),
        "content_hash": report.manifest["content_hash"],
        "objects": [o["name"] for o in report.manifest["objects"]],
        "task": json.loads((report.path / "task.json").read_text()),
        "fidelity": {k: v for k, v in fidelity.items() if k != "per_frame"},
        "seconds": report.seconds,
    }


def plausibility_warnings(folder: str | Path) -> list[str]:
    """What is physically implausible in a readable twin package (:mod:`twin.plausibility`)."""
    from twin.package import TwinPackageError, read_twin
    from twin.plausibility import plausibility_problems

    try:
        twin = read_twin(folder)
    except TwinPackageError:
        return []
    return plausibility_problems(twin.manifest, twin.task)


def check_package(folder: str | Path) -> list[str]:
    """Every problem with a twin package: the manifest checks, then PLYs and the compiled scene."""
    from twin.package import TwinPackageError, check_twin, read_twin
    from twin.splats.errors import PlyFormatError
    from twin.splats.ply import read_ply

    problems = check_twin(folder)
    try:
        twin = read_twin(folder)
    except TwinPackageError:
        return problems
    plys = [twin.path("background")] if twin.has("background") else []
    plys += [twin.root / o.splats for o in twin.objects if o.splats]
    for path in plys:
        try:
            read_ply(path)
        except (PlyFormatError, OSError) as err:
            problems.append(f"{path}: unreadable splats ({err})")
    try:
        from twin.scene.twin_world import load_twin_world

        with load_twin_world(twin) as world:
            world.reset(0)
    except (TwinPackageError, ValueError) as err:
        problems.append(str(err))
    return problems


def evaluate_twin(demo: str | Path, out: str | Path, config=None, task=None) -> dict[str, Any]:
    """Build the twin of ``demo``, score it against the ground truth and run the scripted expert
    inside it; ``task`` (the demonstration's true :class:`TaskSpec`) checks the inferred roles."""
    from benchmark.scenes.rollout import run_expert_episode
    from twin.scene.twin_world import load_twin_world

    result = build_and_evaluate(demo, out, config=config)
    truth = result["fidelity"]["ground_truth"]
    with load_twin_world(result["twin"]) as world:
        outcome = run_expert_episode(world, world.scene.tasks[0], seed=0)
    return {
        "twin": result["twin"],
        "twin_task": result["task"],
        "objects_found": f"{truth['matched']}/{truth['truth_objects']}",
        "extra_objects": truth["twin_objects"] - truth["matched"],
        "psnr_db": result["fidelity"]["psnr_db"],
        "ssim": result["fidelity"]["ssim"],
        "depth_error_m": result["fidelity"]["depth_error_m"],
        "max_position_error_m": truth["max_position_error_m"],
        "max_size_error": truth["max_size_error"],
        "roles_correct": None if task is None else _roles_correct(result["task"], truth, task),
        **({"camera_errors": truth["cameras"]} if "cameras" in truth else {}),
        "expert_success_in_twin": bool(outcome.success),
        "build_seconds": round(sum(result["seconds"].values()), 1),
    }


def reference_twin_row(
    scene_name: str,
    task_name: str,
    workdir: str | Path,
    config=None,
    seed: int = 3,
    scan_frames: int = 30,
    style: str = "scan",
) -> dict[str, Any]:
    """Record one demonstration of a reference task (``style`` "scan", or "robot-log": exterior
    and wrist cameras, RGB only, no poses) and evaluate its twin: a README table row."""
    from benchmark.scenes.recording import RecordConfig, record
    from benchmark.scenes.registry import load_scene
    from benchmark.scenes.robot_logs import RobotLogConfig

    workdir = Path(workdir)
    scene = load_scene(scene_name)
    recording = RobotLogConfig() if style == "robot-log" else RecordConfig(scan_frames=scan_frames)
    record(scene, workdir / "demo", 1, seed, task_name, recording)
    row = evaluate_twin(workdir / "demo" / "episode_000000", workdir / "twin", config, scene.task(task_name))
    return {"scene": scene_name, "task": task_name, "style": style, **row}


def _roles_correct(twin_task: dict[str, Any], truth: dict[str, Any], task) -> bool:
    """Whether the twin's task names the twin objects matched to the true object and target."""
    matched = {row["truth"]: row["twin"] for row in truth["objects"]}
    return matched.get(task.object) == twin_task["object"] and matched.get(task.target) == twin_task["target"]
