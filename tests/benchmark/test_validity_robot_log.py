"""``twinarena validate --style robot-log``: the reference world records a robot log through its
sensor, a demonstration of the other style is refused, and the reference world stands where the
log's objects stood (a robot log keeps its poses in the robot's base frame).

One robot log and one short scan of block_push (same seed) are recorded once for the module; no
twin is built (that is ``tests/twin``'s, and minutes long)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from typer.testing import CliRunner

from benchmark.validity.reference import REFERENCE_SENSOR, ValidityError


@pytest.fixture(scope="module")
def demos(tmp_path_factory):
    """(robot log, scan) of block_push's first task, both seed 3 through the reference sensor."""
    from benchmark.scenes.registry import load_scene
    from benchmark.validity.reference import record_reference

    root = tmp_path_factory.mktemp("validity-robot-log")
    scene = load_scene("block_push")
    log = record_reference(scene, scene.task(None), root / "log", seed=3, style="robot-log")
    scan = record_reference(scene, scene.task(None), root / "scan", seed=3, scan_frames=2)
    return log, scan


def test_the_reference_world_records_a_robot_log_through_its_sensor(demos):
    from benchmark.validity.reference import demonstration_sensor, demonstration_style, demonstration_task
    from twin.demonstration import read_demonstration
    from twin.robot_log import is_robot_log

    log, scan = demos
    demo = read_demonstration(log)
    assert list(demo.cameras) == ["exterior_1", "exterior_2", "wrist"] and demo.wrist_camera == "wrist"
    assert all(c.T_world_camera is None and c.depth is None for c in demo.cameras.values())
    assert "joint_positions" in demo.robot.arrays and is_robot_log(demo)
    assert demonstration_sensor(log) == REFERENCE_SENSOR
    assert demonstration_task(log) == ("block_push", "block_to_square")
    # the cheap check (meta.json, camera.json, the npz's names) agrees with the full one
    assert demonstration_style(log) == "robot-log"
    assert demonstration_style(scan) == "scan" and not is_robot_log(read_demonstration(scan))


def test_the_reference_world_stands_where_the_log_found_its_objects(demos):
    """The log's base-frame poses are carried into the scene's frame: the same as the scan's of
    the same seed, and the cameras' true poses are no objects."""
    from benchmark.validity.reference import first_poses
    from twin.transforms import quat_to_mat

    log, scan = demos
    from_log, from_scan = first_poses(log), first_poses(scan)
    assert sorted(from_log) == sorted(from_scan) == ["green_block", "yellow_square"]
    for name, pose in from_scan.items():
        assert np.allclose(from_log[name][:3], pose[:3], atol=1e-6), name
        assert np.allclose(quat_to_mat(from_log[name][3:7]), quat_to_mat(pose[3:7]), atol=1e-6), name


def test_resolve_demo_refuses_a_demonstration_of_the_other_style(demos):
    from benchmark.validity.sources import reference_source
    from benchmark.validity.study import Hooks, StudyConfig, resolve_demo

    log, scan = demos
    source = reference_source("block_push")
    assert resolve_demo(log, source, StudyConfig(style="robot-log"), Hooks()) == log
    assert resolve_demo(scan.parent, source, StudyConfig(), Hooks()) == scan  # the recording's folder
    for demo, asked, found in ((scan, "robot-log", "scan"), (log, "scan", "robot-log")):
        with pytest.raises(ValidityError) as err:
            resolve_demo(demo, source, StudyConfig(style=asked), Hooks())
        message = str(err.value)
        assert message.startswith(f"{demo} is a {found} demonstration, not a {asked} one"), message
        assert f"pass --style {found}" in message and "\n" not in message


def test_validate_rejects_an_unknown_style_with_one_line(tmp_path):
    demo = tmp_path / "demo"
    args = ["validate", "--reference", "block_push", "--demo", str(demo), "--style", "nope"]
    args += ["--db", f"sqlite:///{tmp_path / 'v.db'}"]
    env = {**os.environ, "COLUMNS": "200"}
    command = [sys.executable, "-m", "benchmark.cli", *args]
    out = subprocess.run(command, capture_output=True, text=True, env=env)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == ["error: --style must be one of scan, robot-log, got 'nope'"]
    assert not demo.exists()  # refused before anything was recorded


def test_validate_real_takes_no_style(tmp_path):
    from benchmark.cli import app

    rates = tmp_path / "lab.csv"
    rates.write_text("policy,successes,trials\nrandom,0,2\n")
    args = ["validate", "--real", str(rates), "--twin", str(tmp_path / "twin"), "--style", "robot-log"]
    out = CliRunner().invoke(app, [*args, "--db", f"sqlite:///{tmp_path / 'v.db'}"])
    assert isinstance(out.exception, ValidityError) and "takes no --reference, --demo or --style" in str(
        out.exception
    )


def _package(base_xyz, objects):
    """A stand-in for a read twin package: its robot's mount and its objects."""
    base = np.eye(4)
    base[:3, 3] = base_xyz
    return SimpleNamespace(manifest={"robot": {"base_pose": base.tolist()}}, objects=objects, root="twin")


def _solid(name, pos):
    return SimpleNamespace(name=name, kind="solid", pos=tuple(pos), fixed=False)


def test_a_twin_in_its_robots_base_frame_is_matched_in_the_reference_frame(monkeypatch):
    """A robot log's twin stands in its robot's base frame: its objects are matched to the
    reference's through the robots' mounts, and only its physics hybrid can be made."""
    import twin.package
    from benchmark.validity.ablation import hybrid_package
    from benchmark.validity.reference import matched_objects, same_frame

    reference = _package((-0.5, 0.0, 0.0), [_solid("block", (0.1, 0.2, 0.02))])
    logged = _package((0.0, 0.0, 0.0), [_solid("object_0", (0.6, 0.2, 0.02))])  # 0.5 m ahead of its base
    scanned = _package((-0.5, 0.0, 0.0), [_solid("object_0", (0.1, 0.21, 0.02))])
    assert [(t.name, r.name) for t, r in matched_objects(logged, reference)] == [("object_0", "block")]
    assert [(t.name, r.name) for t, r in matched_objects(scanned, reference)] == [("object_0", "block")]
    assert not same_frame(logged, reference) and same_frame(scanned, reference)
    packages = {"twin": logged, "reference": reference}
    monkeypatch.setattr(twin.package, "read_twin", lambda folder: packages[str(folder)])
    for stage in ("appearance", "geometry"):
        with pytest.raises(ValidityError, match=f"robot's base frame.*the {stage} hybrid"):
            hybrid_package(stage, "twin", "reference", "out")


def test_the_summary_names_the_recording_the_twin_was_built_from():
    from rich.console import Console

    from benchmark.validity.tables import summary_table

    estimate = {"value": 0.99, "low": 0.9, "high": 1.0}
    row = {"reference": "block_push", "task": "block_to_square", "n_policies": 8, "n_scenarios": 48}
    row |= {"pearson": estimate, "mmrv": estimate, "kendall": estimate, "passed": True, "blame": None}
    console = Console(record=True, width=200, file=io.StringIO())
    console.print(summary_table([{**row, "style": "robot-log"}, {**row, "reference": "real:lab"}]))
    lines = console.export_text().splitlines()
    header = next(line for line in lines if "twin from" in line)
    logged = next(line for line in lines if "robot-log" in line)
    real = next(line for line in lines if "real:lab" in line)
    column = header.index("twin from")
    assert logged.index("robot-log") == column and real[column : column + 9].strip() == ""
