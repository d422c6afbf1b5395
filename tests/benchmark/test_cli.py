"""The command line as a user runs it: a subprocess, exit codes, one-line errors."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.cli import app

COMMANDS = [c.name or c.callback.__name__ for c in app.registered_commands] + [
    f"twin {c.name or c.callback.__name__}"
    for g in app.registered_groups
    for c in g.typer_instance.registered_commands
]


def run(*args, cwd=None):
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "benchmark.cli", *args], capture_output=True, text=True, cwd=cwd, env=env
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command):
    out = run(*command.split(), "--help")
    assert out.returncode == 0
    assert "Usage" in out.stdout


def test_scenes_json_lists_scenes_and_tasks():
    out = run("scenes", "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert {"tray_pick", "block_push", "cube_stack", "kitchen_clutter"} <= {r["name"] for r in rows}
    assert all(r["tasks"] and r["tasks"][0]["instruction"] for r in rows)


def test_tables_are_not_cut_when_piped():
    """Piped into a file or another program, a table keeps every name whole (no 80-column cut)."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    piped = subprocess.run(
        [sys.executable, "-m", "benchmark.cli", "perturbations"], capture_output=True, text=True, env=env
    )
    assert piped.returncode == 0, piped.stderr
    axes = json.loads(run("perturbations", "--json").stdout)
    assert "…" not in piped.stdout
    for axis in axes:
        assert axis["description"] in piped.stdout


def test_record_writes_demonstrations_and_json(tmp_path):
    out = run(
        "record",
        "--scene",
        "block_push",
        "--episodes",
        "1",
        "--seed",
        "2",
        "--scan-frames",
        "3",
        "-o",
        str(tmp_path / "rec"),
        "--json",
    )
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert rows[0]["success"] is True and rows[0]["seed"] == 2
    assert (tmp_path / "rec" / "episode_000000" / "rgb.mp4").is_file()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--scene", "nowhere"], "unknown scene 'nowhere'; reference scenes:"),
        (["--scene", "tray_pick", "--task", "juggle"], "has no task 'juggle'"),
        (["--scene", "BROKEN"], "objects[0] (a).size: a box takes 3 numbers, got 1"),
        (["--scene", "tray_pick", "-o", "EXISTING"], "already exists"),
    ],
)
def test_record_bad_input_is_one_clear_line(tmp_path, args, message):
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "name: b\ndescription: d\nobjects: [{name: a, shape: box, size: [0.1]}]\n"
        "tasks: [{name: t, family: push, object: a, target: a, instruction: i}]\n"
        "cameras: [{name: c, pos: [1, 0, 1]}]\n"
    )
    (tmp_path / "existing").mkdir()
    args = [
        str(broken) if a == "BROKEN" else str(tmp_path / "existing") if a == "EXISTING" else a for a in args
    ]
    if "-o" not in args:
        args += ["-o", str(tmp_path / "new")]
    out = run("record", *args)
    assert out.returncode == 2
    assert message in " ".join(out.stderr.split())
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "new").exists()


def test_demo_runs_end_to_end(tmp_path):
    out = run("demo", "--episodes", "1", "--splat-steps", "20", "-o", str(tmp_path / "demo"), "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert len(result["scenes"]) >= 5  # every task of every reference scene
    assert all(r["successes"] == r["episodes"] for r in result["scenes"])
    previews = list((tmp_path / "demo" / "previews").glob("*.png"))
    assert len(previews) == len(result["scenes"])
    info = json.loads((tmp_path / "demo" / "lerobot" / "meta" / "info.json").read_text())
    assert info["codebase_version"] == "v3.0" and info["total_episodes"] == len(result["scenes"])
    assert len(result["twins"]) == len(result["scenes"])
    for row in result["twins"]:
        assert (Path(row["twin"]) / "twin.json").is_file()
        assert row["roles_correct"] and row["expert_success_in_twin"], row
    evaluation = result["evaluation"]  # three policies, unperturbed and moved, two seeds each
    assert evaluation["campaign"]["stored"] == evaluation["campaign"]["jobs"] == 12
    assert evaluation["campaign"]["errors"] == []
    board = evaluation["leaderboard"]
    assert sorted(r["policy"] for r in board) == ["random", "vision-expert", "vision-expert?noise=0.015"]
    assert all(r["n"] == 2 and r["unit"] == "trials" for r in board)  # unperturbed, 2 seeds: 2 trials
    db = f"sqlite:///{result['artifacts']['store']}/twinarena.db"
    stored = run("leaderboard", "--campaign", "demo", "--db", db, "--json")  # unperturbed by default
    assert stored.returncode == 0, stored.stderr
    printed = json.loads(stored.stdout)
    assert printed["rows"] == board  # the store answers what the demo printed
    assert printed["scope"] == evaluation["leaderboard_scope"] and "unperturbed" in printed["scope"]
    ratings = evaluation["ratings"]  # Bradley–Terry over the same episodes, as comparisons
    assert sorted(r["policy"] for r in ratings) == sorted(r["policy"] for r in board)
    assert all(
        r["ci_low"] <= r["rating"] <= r["ci_high"] and 1 <= r["rank_low"] <= r["rank_high"] for r in ratings
    )
    stress = result["stress"]  # a second campaign along two axes and their composition, then reports
    assert stress["campaign"]["errors"] == [] and stress["campaign"]["stored"] == 30
    assert sorted(stress["reports"]) == sorted(r["policy"] for r in board)
    for paths in stress["reports"].values():
        assert sorted(Path(p).name for p in paths.values()) == ["report.html", "report.json", "report.pdf"]
        assert all(Path(p).stat().st_size > 0 for p in paths.values())
    again = run("demo", "--episodes", "1", "-o", str(tmp_path / "demo"))
    assert again.returncode == 2 and "--overwrite" in again.stderr


def test_rank_says_when_there_are_too_few_comparisons(tmp_path):
    votes = tmp_path / "votes.csv"
    votes.write_text("policy_a,policy_b,winner\nx,y,a\nx,y,a\n")
    out = run("rank", "--comparisons", str(votes))
    assert out.returncode == 0, out.stderr
    assert "too few comparisons" in out.stdout and "x (2)" in out.stdout
    rows = json.loads(run("rank", "--comparisons", str(votes), "--json").stdout)["ratings"]
    assert all(r["ci_high"] - r["ci_low"] > 100 for r in rows)
