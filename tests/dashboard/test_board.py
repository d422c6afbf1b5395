"""The leaderboard's and policy page's tables from query records (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from helpers import contrast_with_white

from benchmark.store.queries import LeaderboardRow, RatingRow, RobustnessRow, wilson_interval
from dashboard import board

NOW = datetime(2026, 11, 22, tzinfo=UTC)


def rating(rank, policy, value, low=None, high=None, n=10, judge="state"):
    return RatingRow(
        rank, rank, rank + 1, policy, judge, value, low or value - 50, high or value + 50, n, "bt", NOW
    )


def scored(rank, policy, score, n=20, judge="state"):
    return LeaderboardRow(rank, policy, judge, score, score - 0.1, score + 0.1, n, "episodes")


def test_ratings_order_the_board_and_every_number_keeps_its_count():
    rows = board.board(
        [rating(1, "b", 1100, n=30), rating(2, "a", 900, n=30)],
        [scored(1, "a", 0.9), scored(2, "b", 0.8)],
        [scored(1, "a", 0.9, n=20), scored(2, "b", 0.8, n=20), scored(3, "c", 0.1, n=5)],
        [scored(1, "a", 80.0, n=7, judge="vlm")],
    )
    assert [r.policy for r in rows] == ["b", "a", "c"]
    assert [r.rank for r in rows] == [1, 2, None]  # c has no rating: no rank made up for it
    assert (rows[0].comparisons, rows[0].episodes, rows[0].vlm_episodes) == (30, 20, 0)
    assert (rows[1].vlm_score, rows[1].vlm_episodes) == (80.0, 7)
    assert board.rank_interval(rows[0]) == "1–2" and board.rank_interval(rows[2]) == "—"


def test_without_ratings_the_judges_own_order_and_ranks_show():
    rows = board.board(
        [], [scored(1, "a", 0.9), scored(2, "b", 0.8)], [scored(1, "a", 0.9), scored(2, "b", 0.8)], []
    )
    assert [(r.rank, r.policy, r.rating) for r in rows] == [(1, "a", None), (2, "b", None)]


def test_filtered_boards_keep_only_policies_with_episodes_there():
    rows = board.board(
        [rating(1, "b", 1100), rating(2, "a", 900)], [scored(1, "a", 0.5)], [scored(1, "a", 0.5)], [], True
    )
    assert [r.policy for r in rows] == ["a"]


def test_table_formats_intervals_and_keeps_numbers():
    row = board.table(board.board([rating(1, "a", 1000.4, 980.2, 1020.7)], [], [scored(1, "a", 0.5)], []))[0]
    assert row["rating 95 % CI"] == "980–1021" and row["rating"] == 1000.4
    assert row["success 95 % CI"] == "40–60 %" and row["VLM 95 % CI"] == "—"


def test_agreement_between_judges_over_common_policies():
    scores = board.judge_scores(
        {"state": [rating(1, "a", 3), rating(2, "b", 2), rating(3, "c", 1)], "human": []},
        {
            "vlm": [
                scored(1, "c", 90, judge="vlm"),
                scored(2, "b", 50, judge="vlm"),
                scored(3, "a", 10, judge="vlm"),
            ]
        },
    )
    assert set(scores) == {"state", "vlm"}
    (row,) = board.agreement_rows(scores)
    assert row["judges"] == "state · vlm" and row["policies"] == 3
    assert row["Spearman ρ"] == pytest.approx(-1) and row["pairwise accuracy"] == 0.0
    assert board.agreement_rows({"state": {"a": 1.0}, "vlm": {"a": 2.0, "b": 1.0}}) == []


def cell(twin, axis, level, successes, n, task="pick", progress=0.5):
    return RobustnessRow("p", twin, task, axis, level, n, successes / n, progress)


def test_curves_start_from_the_unperturbed_cell_and_pool_twins():
    rows = [
        cell("t1", "none", 0.0, 4, 4),
        cell("t2", "none", 0.0, 2, 4),
        cell("t1", "light_intensity", 1.0, 1, 4),
        cell("t2", "light_intensity", 1.0, 0, 4),
        cell("t1", "object_yaw", 0.5, 3, 4),
    ]
    points = board.curves(rows)
    light = [p for p in points if p.axis == "light_intensity"]
    assert [(p.level, p.successes, p.episodes) for p in light] == [(0.0, 6, 8), (1.0, 1, 8)]
    assert (light[1].low, light[1].high) == wilson_interval(1, 8)
    only_t1 = board.curves(rows, twin="t1")
    assert [(p.axis, p.level, p.successes) for p in only_t1] == [
        ("light_intensity", 0.0, 4),
        ("light_intensity", 1.0, 1),
        ("object_yaw", 0.0, 4),
        ("object_yaw", 0.5, 3),
    ]
    assert [(p.axis, p.episodes) for p in board.curves(rows[:2])] == [("none", 8)]
    assert board.curves(rows, task="other") == []


def test_worst_cells_lowest_success_first():
    rows = [
        cell("t1", "none", 0.0, 4, 4),
        cell("t1", "object_yaw", 1.0, 0, 4, progress=0.2),
        cell("t2", "distractors", 1.0, 0, 8, progress=0.2),
    ]
    worst = board.worst_cells(rows, k=2)
    assert [w["perturbation"] for w in worst] == [
        "distractors=1",
        "object_yaw=1",
    ]  # more episodes first on a tie
    assert worst[0]["success 95 % CI"] == "0–32 %"


def test_every_axis_composed_ones_too_gets_a_visible_colour():
    axes = [f"axis{k}" for k in range(9)] + ["object_yaw+light_intensity", "axis0+axis1"]
    colours = board.axis_colours(axes)
    assert set(colours) == set(axes)
    assert all(contrast_with_white(c) >= 3 for c in colours.values()), colours  # none near-white
    assert len({colours[a] for a in axes[:10]}) == 10  # the first ten apart


def test_one_number_format():
    from dashboard import fmt

    assert fmt.percent(4 / 7) == "57 %" and fmt.percent(1.0) == "100 %" and fmt.percent(None) == "—"
    assert fmt.interval(0.18, 0.53, as_percent=True) == "18–53 %" and fmt.interval(None, 1) == "—"
    assert fmt.plural(1, "twin") == "1 twin" and fmt.plural(2, "twin") == "2 twins"
    assert fmt.or_empty(None) == "—" and fmt.or_empty("") == "—"
    rows = board.board([rating(1, "a", 1000)], [], [scored(1, "a", 0.5)], [])
    assert board.table(rows)[0]["success rate"] == 50.0  # percent points, shown as "50 %"


def test_the_scope_says_what_is_pooled():
    """(The page's default scope, the newest campaign unperturbed, is tested on the page.)"""
    assert board.scope_label(None, None, None, None).startswith(
        "Scope: all campaigns, pooled · all perturbations, pooled"
    )
    label = board.scope_label("c1", "none", "t", None)
    assert "campaign `c1`" in label and "unperturbed episodes only" in label and "twin `t`" in label
    assert "its levels pooled" in board.scope_label(None, "object_yaw", None, None)
