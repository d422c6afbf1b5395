"""From stored judgments to stored ratings (SQLite and PostgreSQL), CSV comparisons, and the
``rank`` and ``judge`` commands as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from itertools import combinations

import pytest
from sqlalchemy import select

from benchmark.judges.standings import fit_and_store, judge_table, read_comparisons_csv
from benchmark.ranking import rank
from benchmark.store.models import Comparison, Episode, Rating
from benchmark.store.standings import episode_judge_counts


def cli(*args, env=None):
    env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "benchmark.cli", *args], capture_output=True, text=True, env=env, timeout=300
    )


def expected_state_pairs(outcomes) -> dict[tuple[str, str, str], int]:
    """The comparisons the state judge implies, worked out from the outcomes in plain Python."""
    counts: dict[tuple[str, str, str], int] = {}
    names = sorted(outcomes)  # the filled fixture creates policies in this order: ids ascend
    for cell in outcomes["alpha"]:
        for seed in range(4):
            for pa, pb in combinations(names, 2):
                ka, kb = (1100.0 if outcomes[p][cell][seed] else 10.0 * seed for p in (pa, pb))
                winner = "a" if ka > kb + 1e-6 else "b" if kb > ka + 1e-6 else "tie"
                counts[pa, pb, winner] = counts.get((pa, pb, winner), 0) + 1
    return counts


def test_the_state_judge_implies_same_scenario_comparisons(store, filled, outcomes):
    with store.session() as session:
        counts = {(a, b, w): n for a, b, w, n in episode_judge_counts(session, "state")}
    assert counts == expected_state_pairs(outcomes)
    table = judge_table(store, "state")
    assert len(table) == 3 * 8  # three policy pairs in each of eight scenarios


def test_ratings_are_fitted_stored_and_read_back_by_the_leaderboard(store, filled, outcomes):
    ratings = fit_and_store(store, "state", rounds=50)
    board = {r["policy"]: r for r in ratings.rows()}
    assert board["alpha"]["rank"] == 1 and board["beta"]["rank"] == 3
    with store.session() as session:
        stored = {r.policy_id: r for r in session.scalars(select(Rating).where(Rating.judge == "state"))}
    assert [stored[filled[p]].rating for p in sorted(outcomes)] == pytest.approx(
        [board[p]["rating"] for p in sorted(outcomes)]
    )
    again = fit_and_store(store, "state", rounds=50)  # refitting replaces, never duplicates
    assert list(again.rating) == list(ratings.rating)
    with store.session() as session:
        assert len(session.scalars(select(Rating)).all()) == 3
    # the campaign holds alpha and beta (all unperturbed seeds) and gamma's seed 0: one shared scenario
    scoped = fit_and_store(store, "state", campaign="main", rounds=50)
    assert {r["policy"]: r["n"] for r in scoped.rows()} == {"alpha": 5, "beta": 5, "gamma": 2}


def test_a_pairwise_judge_is_ranked_from_its_comparisons(store, filled):
    with store.session() as session:
        episodes = {(e.policy_id, e.scenario_id): e.id for e in session.scalars(select(Episode)).all()}
        scenarios = sorted({s for _, s in episodes})
        for scenario in scenarios:  # gamma beats alpha everywhere, alpha and beta tie
            for (pa, pb), winner in (
                ((filled["alpha"], filled["gamma"]), "b"),
                ((filled["alpha"], filled["beta"]), "tie"),
            ):
                session.add(
                    Comparison(
                        judge="vlm-pairwise", scenario_id=scenario, policy_a_id=pa, policy_b_id=pb,
                        episode_a_id=episodes[pa, scenario], episode_b_id=episodes[pb, scenario],
                        winner=winner, model="m", prompt_version="pairwise_v1",
                    )
                )  # fmt: skip
    fit_and_store(store, "vlm-pairwise", rounds=50)
    board = store.leaderboard("vlm-pairwise")
    assert board[0].policy == "gamma" and board[0].unit == "comparisons" and board[0].n == 8
    assert {r.policy for r in board} == {"alpha", "beta", "gamma"}
    with pytest.raises(ValueError, match="no human votes|no valid human votes"):
        judge_table(store, "human")
    with pytest.raises(ValueError, match="unknown judge"):
        judge_table(store, "oracle")


def test_comparisons_from_a_csv_file(tmp_path):
    path = tmp_path / "votes.csv"
    path.write_text("policy_a,policy_b,winner\npi0,octo,a\nocto,rt1,tie\nrt1,pi0,B\n")
    table = read_comparisons_csv(path)
    assert table.policies == ("octo", "pi0", "rt1") and len(table) == 3
    assert rank(table, rounds=20).rows()[0]["policy"] == "pi0"
    (tmp_path / "bad.csv").write_text("a,b,winner\nx,y,a\n")
    with pytest.raises(ValueError, match="missing column.*policy_a"):
        read_comparisons_csv(tmp_path / "bad.csv")
    (tmp_path / "self.csv").write_text("policy_a,policy_b,winner\nx,y,a\nx,y,maybe\n")
    with pytest.raises(ValueError, match=r"self.csv: line 3 .*'maybe'"):
        read_comparisons_csv(tmp_path / "self.csv")


def test_rank_and_judge_commands(tmp_path):
    path = tmp_path / "votes.csv"
    rows = ["policy_a,policy_b,winner"] + ["strong,weak,a"] * 8 + ["strong,weak,b"] * 2 + ["weak,mid,a"] * 5
    path.write_text("\n".join(rows) + "\n")
    out = cli("rank", "--comparisons", str(path), "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["comparisons"] == 15
    assert [r["policy"] for r in result["ratings"]] == ["strong", "weak", "mid"]
    assert all(r["ci_low"] <= r["rating"] <= r["ci_high"] for r in result["ratings"])
    out = cli("rank", "--comparisons", str(tmp_path / "missing.csv"))
    assert out.returncode == 2 and "missing.csv" in out.stderr and "Traceback" not in out.stderr
    out = cli("rank")
    assert out.returncode == 2 and "--judge" in out.stderr
    db = f"sqlite:///{tmp_path / 'store.db'}"
    out = cli("rank", "--judge", "state", "--db", db)
    assert out.returncode == 2 and "no state judgments" in out.stderr
    quiet = {"TWINARENA_VLM_MODEL": "", "TWINARENA_VLM_BASE_URL": "", "OPENAI_BASE_URL": ""}
    out = cli("judge", "--vlm", "--db", db, env=quiet)
    assert out.returncode == 0 and "state judge alone" in out.stderr
