"""Campaigns as a user runs them (``twinarena evaluate`` in a subprocess): killed with SIGKILL in
the middle and run again, nothing is lost or stored twice; unknown names are one-line errors."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from benchmark.campaigns.campaign import CampaignSpec, RunSettings, Sweep, cells, parse_sweep
from benchmark.errors import CampaignError, PerturbationError, ScenarioError

CAMPAIGN = [
    "evaluate",
    "--policy",
    "vision-expert",
    "--policy",
    "random",
    "--twin",
    "tray_pick",
    "--perturb",
    "object_placement=0.5",
    "--seeds",
    "5",
    "--render",
    "mesh",
    "--image-size",
    "160x160",
    "--workers",
    "2",
    "--name",
    "resume",
]
JOBS = 2 * 2 * 5  # policies × cells × seeds


def cli(*args, home, **kwargs):
    env = {**os.environ, "COLUMNS": "200", "TWINARENA_HOME": str(home)}
    return subprocess.Popen(
        [sys.executable, "-m", "benchmark.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        **kwargs,
    )


def run_cli(*args, home):
    process = cli(*args, home=home)
    out, err = process.communicate(timeout=600)
    return process.returncode, out, err


def stored(db) -> list[tuple]:
    """(id, policy_id, scenario_id, sha256, artefact) of every episode, read with plain sqlite3."""
    if not db.exists():
        return []
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as connection:
        try:
            return connection.execute(
                "SELECT id, policy_id, scenario_id, sha256, artefact FROM episodes ORDER BY id"
            ).fetchall()
        except sqlite3.OperationalError:  # the schema is not there yet
            return []


def test_kill_9_mid_campaign_then_rerun_loses_and_duplicates_nothing(tmp_path):
    home = tmp_path / "home"
    db = home / "twinarena.db"
    evaluator = cli(*CAMPAIGN, home=home)
    deadline = time.monotonic() + 300
    while len(stored(db)) < 3:
        assert evaluator.poll() is None, f"the campaign ended before it was killed: {evaluator.stderr.read()}"
        assert time.monotonic() < deadline, "no episode stored within 5 minutes"
        time.sleep(0.2)
    os.kill(evaluator.pid, signal.SIGKILL)
    evaluator.wait(timeout=30)
    assert evaluator.returncode == -signal.SIGKILL
    before = stored(db)
    assert 3 <= len(before) < JOBS, "the kill must land in the middle of the campaign"

    code, out, err = run_cli(*CAMPAIGN, "--json", home=home)
    assert code == 0, err
    report = json.loads(out)
    after = stored(db)
    assert report["jobs"] == JOBS and report["errors"] == []
    assert report["already_done"] >= len(before)  # what was stored before the kill is kept...
    assert report["already_done"] + report["stored"] == JOBS and report["missing"] == 0
    assert len(after) == JOBS  # ...nothing is lost...
    assert len({(p, s) for _, p, s, _, _ in after}) == JOBS  # ...and no job is stored twice
    assert set(before) <= set(after)  # the episodes from before the kill are untouched
    with sqlite3.connect(db) as connection:
        judged = connection.execute(
            "SELECT COUNT(*), COUNT(DISTINCT episode_id) FROM judgments WHERE judge = 'state'"
        ).fetchone()
    assert judged == (JOBS, JOBS)
    for _, _, _, _, artefact in after:  # every row points to a complete episode folder
        folder = home / "artefacts" / artefact
        assert {"episode.json", "trajectory.npz"} <= {p.name for p in folder.iterdir()}
        assert any(p.suffix == ".mp4" for p in folder.iterdir())

    code, out, err = run_cli(*CAMPAIGN, "--json", home=home)  # a third run has nothing to do
    assert code == 0, err
    assert json.loads(out)["stored"] == 0 and json.loads(out)["already_done"] == JOBS
    assert stored(db) == after
    assert sum(row["n"] for row in json.loads(out)["leaderboard"]) == JOBS


def test_unknown_policy_or_twin_is_a_one_line_error_before_anything_runs(tmp_path):
    home = tmp_path / "home"
    code, _, err = run_cli("evaluate", "--policy", "nobody", "--twin", "tray_pick", home=home)
    assert code == 2
    assert "unknown policy 'nobody'" in err and "twinarena submit" in err and "Traceback" not in err
    code, _, err = run_cli("evaluate", "--policy", "random", "--twin", "no_such_scene", home=home)
    assert code == 2
    assert "unknown twin 'no_such_scene'" in err and "Traceback" not in err
    broken = tmp_path / "broken_twin"
    broken.mkdir()
    (broken / "twin.json").write_text("{")
    code, _, err = run_cli("evaluate", "--policy", "random", "--twin", str(broken), home=home)
    assert code == 2 and f"{broken}/twin.json: not valid JSON" in err and "Traceback" not in err
    code, _, err = run_cli(
        "evaluate", "--policy", "random", "--twin", "tray_pick", "--perturb", "gravity=1", home=home
    )
    assert code == 2 and "unknown perturbation axis 'gravity'" in err
    code, _, err = run_cli(
        "evaluate",
        "--policy",
        "random",
        "--twin",
        "tray_pick",
        "--db",
        "postgresql+psycopg://u:secret@127.0.0.1:1/x",
        home=home,
    )
    assert code == 2 and "127.0.0.1:1" in err and "secret" not in err and "Traceback" not in err


def test_a_failed_submission_cannot_join_a_campaign(tmp_path):
    from benchmark.campaigns.evaluate import resolve_policies
    from benchmark.policies.protocol import PolicyInfo
    from benchmark.store import open_store

    with open_store(f"sqlite:///{tmp_path / 'db'}", tmp_path / "artefacts") as store:
        store.add_policy(PolicyInfo("broken", kind="torchscript"))
        store.mark_policy_failed("broken", "its action is NaN")
        with pytest.raises(CampaignError, match="'broken' failed validation .*NaN"):
            resolve_policies(store, ("broken",))
        [record] = resolve_policies(store, ("vision-expert?noise=0.01",))  # built-ins register themselves
        assert record.kind == "builtin" and store.get_policy("vision-expert?noise=0.01") is not None


# -- the campaign spec, pure ----------------------------------------------------------------------
def test_sweeps_parse_and_expand_one_axis_at_a_time():
    assert parse_sweep("light_intensity=1, 0.5,0.5") == Sweep("light_intensity", (0.5, 1.0))
    sweeps = (parse_sweep("light_intensity=0,0.5,1"), parse_sweep("object_yaw=1"))
    assert cells(sweeps) == [
        ("none", 0.0),
        ("light_intensity", 0.5),
        ("light_intensity", 1.0),
        ("object_yaw", 1.0),
    ]
    with pytest.raises(PerturbationError, match="level must be in"):
        parse_sweep("light_intensity=2")
    with pytest.raises(ScenarioError, match="AXIS=LEVEL"):
        parse_sweep("light_intensity")
    with pytest.raises(ScenarioError, match="at least one --policy"):
        CampaignSpec((), ("tray_pick",))


def test_scenario_keys_name_the_world_not_the_policy():
    from benchmark.campaigns.campaign import scenario_identity, scenario_key

    base = scenario_identity("h" * 64, "pick", "none", 0.0, 3, RunSettings())
    assert scenario_key(base) == scenario_key(
        scenario_identity("h" * 64, "pick", "none", 0.0, 3, RunSettings())
    )
    variants = [
        scenario_identity("g" * 64, "pick", "none", 0.0, 3, RunSettings()),
        scenario_identity("h" * 64, "pick", "object_yaw", 0.5, 3, RunSettings()),
        scenario_identity("h" * 64, "pick", "none", 0.0, 4, RunSettings()),
        scenario_identity("h" * 64, "pick", "none", 0.0, 3, RunSettings(render="mesh")),
        scenario_identity("h" * 64, "pick", "none", 0.0, 3, RunSettings(step_timeout=5)),
    ]
    assert len({scenario_key(v) for v in variants} | {scenario_key(base)}) == len(variants) + 1


def test_evaluate_max_seconds_sets_the_episode_length(tmp_path):
    home = tmp_path / "home"
    args = ["--policy", "random", "--twin", "tray_pick", "--seeds", "1", "--render", "mesh"]
    code, _, err = run_cli("evaluate", *args, "--image-size", "64x64", "--max-seconds", "0.5", home=home)
    assert code == 0, err
    with sqlite3.connect(home / "twinarena.db") as connection:
        rows = connection.execute("SELECT steps, termination FROM episodes").fetchall()
    assert rows == [(5, "timeout")]  # 0.5 s at the twin's 10 Hz
