"""``twinarena twin build | package-scene | show | check``: twin packages."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.text import Text

from benchmark.cli.output import console, emit_json, progress

twin_app = typer.Typer(help="Build, inspect and check twin packages.", no_args_is_help=True)


@twin_app.command("build")
def twin_build(
    demo: Path = typer.Argument(..., help="A demonstration folder, or a LeRobotDataset root."),
    out: Path = typer.Option(..., "-o", "--out", help="New twin package folder."),
    episode: int = typer.Option(None, "--episode", help="Episode index, for a LeRobotDataset."),
    sidecar: Path = typer.Option(None, "--sidecar", help="A LeRobotDataset's robot-log sidecar."),
    splat_steps: int = typer.Option(800, "--splat-steps", min=1, help="Most splat optimisation steps."),
    splat_seconds: float = typer.Option(
        140.0,
        "--splat-seconds",
        min=1.0,
        help="Most wall-clock seconds of the splat fit (it also stops at --splat-steps or convergence).",
    ),
    scan_frames: int = typer.Option(40, "--scan-frames", help="Most scan frames to use (at least 5)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the output folder if it exists."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Reconstruct a demonstration into a twin package (splats, meshes, scene.xml, task, fidelity)."""
    from benchmark.scenes.twins import build_and_evaluate
    from twin.appearance import AppearanceConfig
    from twin.build import STAGES, BuildConfig
    from twin.robot_cameras import RobotCalibrationConfig

    appearance = AppearanceConfig(steps=splat_steps, seconds=splat_seconds)
    # the static cameras of a robot log side by side, one process per core
    config = BuildConfig(
        max_scan_frames=scan_frames,
        appearance=appearance,
        robot_calibration=RobotCalibrationConfig(workers=None),
    )

    with progress() as bar:
        job = bar.add_task("twin build", total=len(STAGES))

        def on_stage(name: str) -> None:
            bar.update(job, completed=STAGES.index(name), description=f"twin build: {name}")

        result = build_and_evaluate(
            demo, out, episode=episode, overwrite=overwrite, on_stage=on_stage, config=config, sidecar=sidecar
        )
        bar.update(job, completed=len(STAGES), description="twin build: done")
    if as_json:
        emit_json(result)
        return
    fid = result["fidelity"]
    console.print(
        f"[green]twin written to {out}[/]: {len(result['objects'])} objects, task {result['task']['family']} "
        f"({result['task']['object']} → {result['task']['target']}), held-out PSNR {fid['psnr_db']:.1f} dB, "
        f"SSIM {fid['ssim']:.3f}, {sum(result['seconds'].values()):.0f} s"
    )
    fit = fid.get("splats", {})
    if "stop_reason" in fit:
        psnr = "" if fit["train_psnr_db"] is None else f", training PSNR {fit['train_psnr_db']:.1f} dB"
        console.print(
            f"splat fit: {fit['steps']} of at most {fit['max_steps']} steps in {fit['fit_s']:.0f} s "
            f"(stopped: {fit['stop_reason'].replace('_', ' ')}){psnr}"
        )
    truth = fid.get("ground_truth")
    if truth:
        console.print(
            f"against ground truth: {truth['matched']}/{truth['truth_objects']} objects found, "
            f"position error ≤ {truth['max_position_error_m'] * 100:.2f} cm, "
            f"size error ≤ {truth['max_size_error']:.1%}"
        )


@twin_app.command("calibrate")
def twin_calibrate(
    demo: Path = typer.Argument(..., help="A robot log: a demonstration folder or a LeRobotDataset root."),
    out: Path = typer.Option(None, "-o", "--out", help="Write the cameras to this JSON file."),
    episode: int = typer.Option(None, "--episode", help="Episode index, for a LeRobotDataset."),
    sidecar: Path = typer.Option(None, "--sidecar", help="A LeRobotDataset's robot-log sidecar."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Calibrate a robot log's cameras from its robot: exterior poses from the arm's silhouettes,
    the wrist camera's mount from the hand it sees."""
    import json

    from benchmark.cli.output import UserError
    from twin.build import load_demonstration
    from twin.robot_cameras import (
        RobotCalibrationConfig,
        RobotCalibrationError,
        calibrate_log,
        calibration_entry,
    )

    loaded = load_demonstration(demo, episode, sidecar=sidecar)
    with progress() as bar:
        job = bar.add_task("calibrate", total=len(loaded.cameras))

        def on_camera(name: str) -> None:
            bar.update(
                job, advance=0 if name == next(iter(loaded.cameras)) else 1, description=f"camera {name}"
            )

        try:
            found = calibrate_log(loaded, RobotCalibrationConfig(workers=None), on_camera=on_camera)
        except RobotCalibrationError as err:
            raise UserError(f"{demo}: {err}") from None
        bar.update(job, completed=len(loaded.cameras))
    cameras = {
        name: calibration_entry(c, loaded.cameras[name].width, loaded.cameras[name].height)
        for name, c in found.items()
    }
    base_frame = loaded.robot is None or loaded.robot.base_pose is None
    result = {"world_frame": "robot base" if base_frame else "demonstration", "cameras": cameras}
    if out is not None:
        out.write_text(json.dumps(result, indent=1))
    if as_json:
        emit_json(
            {
                "cameras": {
                    n: {k: v for k, v in c.items() if k != "T_world_camera"} for n, c in cameras.items()
                }
            }
        )
        return
    for name, c in found.items():
        where = "mount on the hand" if c.mount is not None else "pose"
        console.print(
            f"{name}: {where} from {c.method}, silhouette overlap {c.iou:.2f} ({c.summary()['quality']})"
        )


@twin_app.command("package-scene")
def twin_package_scene(
    scene: str = typer.Argument(..., help="A reference scene name, or a scene spec file."),
    out: Path = typer.Option(..., "-o", "--out", help="New twin package folder."),
    task: str = typer.Option(None, "--task", help="Task name within the scene (default: the first)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the output folder if it exists."),
) -> None:
    """Package a hand-authored scene as a twin, so it runs through the same harness."""
    from benchmark.scenes.authored import package_scene
    from benchmark.scenes.registry import load_scene

    path = package_scene(load_scene(scene), out, task=task, overwrite=overwrite)
    console.print(f"[green]twin package written to {path}[/]")


@twin_app.command("show")
def twin_show(
    twin: Path = typer.Argument(..., help="A twin package folder."),
    out: Path = typer.Option(None, "-o", "--out", help="Picture to write (default: the twin's preview.png)."),
) -> None:
    """Write a side-by-side picture: real frame | twin render | difference."""
    from twin.show import show_twin

    console.print(f"wrote {show_twin(twin, out)}")


@twin_app.command("check")
def twin_check(
    twin: Path = typer.Argument(..., help="A twin package folder."),
    strict: bool = typer.Option(False, "--strict", help="Implausibilities fail the check too."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Validate a twin package: manifest, files, hash, splats and scene.xml, then whether it makes
    physical sense (table against the robot's mount, objects on the table, counts and sizes, the
    task's objects present). Problems exit 1; implausibilities are warnings (exit 1 with --strict)."""
    from benchmark.scenes.twins import check_package, plausibility_warnings

    problems = check_package(twin)
    warnings = plausibility_warnings(twin)
    if as_json:
        emit_json({"twin": str(twin), "ok": not problems, "problems": problems, "warnings": warnings})
    else:
        for problem in problems:
            console.print(Text.assemble(("problem:", "red"), f" {problem}"), soft_wrap=True)
        for warning in warnings:
            console.print(Text.assemble(("implausible:", "yellow"), f" {warning}"), soft_wrap=True)
        if not problems and not warnings:
            console.print(f"[green]{twin}: a sound twin package[/]")
        elif not problems:
            noun = "implausibility" if len(warnings) == 1 else "implausibilities"
            console.print(f"{twin}: sound as a package, but {len(warnings)} {noun}")
    if problems or (strict and warnings):
        raise SystemExit(1)
