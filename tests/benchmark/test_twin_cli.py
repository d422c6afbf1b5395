"""``twinarena twin build / check / show`` as a user runs them: a subprocess, exit codes, JSON on
stdout, and one ``error:`` line on stderr for input that cannot become a twin."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FAST = ["--splat-steps", "30", "--scan-frames", "12"]


def run(*args, columns: str | None = "300"):
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    env.pop("COLUMNS", None)
    if columns is not None:
        env["COLUMNS"] = columns
    return subprocess.run(
        [sys.executable, "-m", "benchmark.cli", *map(str, args)], capture_output=True, text=True, env=env
    )


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def assert_user_error(out, *words) -> str:
    """Exit code 2, no traceback, exactly one ``error:`` line holding every word; returns that line."""
    assert out.returncode == 2, (out.returncode, out.stderr)
    assert "Traceback" not in out.stderr, out.stderr
    lines = error_lines(out.stderr)
    assert len(lines) == 1, out.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def demo(tray_pick_demo) -> Path:
    return tray_pick_demo


@pytest.fixture(scope="module")
def cli_build(demo, tmp_path_factory):
    """``twin build --json`` run once; tests must not modify the twin (copy it first)."""
    out = tmp_path_factory.mktemp("cli_twin") / "twin"
    return out, run("twin", "build", demo, "-o", out, *FAST, "--json")


@pytest.fixture
def twin(cli_build) -> Path:
    out, result = cli_build
    assert result.returncode == 0, result.stderr
    return out


def test_twin_build_prints_json(cli_build):
    out, result = cli_build
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    manifest = json.loads((out / "twin.json").read_text())
    assert data["content_hash"] == manifest["content_hash"] and len(data["content_hash"]) == 64
    assert Path(data["twin"]) == out
    assert data["task"]["family"] == "pick_place"
    assert (data["task"]["object"], data["task"]["target"]) == ("red_object", "blue_object")
    fidelity = data["fidelity"]
    assert {"psnr_db", "ssim", "heldout_frames", "ground_truth"} <= set(fidelity)
    assert "per_frame" not in fidelity
    truth = fidelity["ground_truth"]
    assert truth["truth_objects"] == 3 and truth["matched"] == 3
    assert truth["max_position_error_m"] < 0.01


def test_twin_check_passes_a_fresh_twin(twin):
    out = run("twin", "check", twin)
    assert out.returncode == 0, out.stderr
    out = run("twin", "check", twin, "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"twin": str(twin), "ok": True, "problems": [], "warnings": []}


def test_twin_check_finds_an_edited_file(twin, tmp_path):
    copy = Path(shutil.copytree(twin, tmp_path / "edited"))
    task = json.loads((copy / "task.json").read_text())
    task["instruction"] = "put the red cube next to the blue tray"
    (copy / "task.json").write_text(json.dumps(task))
    out = run("twin", "check", copy, "--json")
    assert out.returncode == 1, (out.stdout, out.stderr)
    report = json.loads(out.stdout)
    assert report["ok"] is False
    assert any("task.json" in p and "changed" in p for p in report["problems"]), report
    plain = run("twin", "check", copy)
    assert plain.returncode == 1 and "task.json: changed since the package was built" in plain.stderr


def test_twin_show_writes_the_picture(twin, tmp_path):
    from PIL import Image

    camera = next(iter(json.loads((twin / "calibration.json").read_text())["cameras"].values()))
    picture = tmp_path / "x.png"
    out = run("twin", "show", twin, "-o", picture)
    assert out.returncode == 0, out.stderr
    with Image.open(picture) as image:
        assert image.size == (3 * camera["width"], camera["height"])


def test_twin_build_of_a_missing_folder(tmp_path):
    missing = tmp_path / "nowhere"
    out = run("twin", "build", missing, "-o", tmp_path / "twin", *FAST)
    assert_user_error(out, str(missing), "not a demonstration folder")
    assert not (tmp_path / "twin").exists()


def test_twin_build_with_a_broken_camera_json(demo, tmp_path):
    folder = Path(shutil.copytree(demo, tmp_path / "demo"))
    (folder / "camera.json").write_text('{"K": [[300, 0, 160], [0, 300')
    out = run("twin", "build", folder, "-o", tmp_path / "twin", *FAST)
    assert_user_error(out, str(folder / "camera.json"), "not valid JSON")
    assert not (tmp_path / "twin").exists()
    assert not list(tmp_path.glob(".twin.*"))


def test_twin_build_into_an_existing_folder(demo, tmp_path):
    existing = tmp_path / "twin"
    existing.mkdir()
    (existing / "keep.txt").write_text("old")
    out = run("twin", "build", demo, "-o", existing, *FAST)
    assert_user_error(out, str(existing), "already exists")
    assert [p.name for p in existing.iterdir()] == ["keep.txt"]


def test_long_error_stays_on_one_line_without_a_terminal(tmp_path):
    missing = tmp_path / ("long_folder_name_" * 4) / "demonstration"
    out = run("twin", "build", missing, "-o", tmp_path / "twin", *FAST, columns=None)
    assert_user_error(out, str(missing), "not a demonstration folder (no such directory)")


def test_error_prints_a_bracketed_path_verbatim(tmp_path):
    missing = tmp_path / "demo[rerun]"
    out = run("twin", "build", missing, "-o", tmp_path / "twin", *FAST)
    assert_user_error(out, str(missing), "not a demonstration folder")
