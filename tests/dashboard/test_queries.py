"""The store queries added for the dashboard, on SQLite and PostgreSQL: stored ratings with rank
intervals, the filter facets, termination counts and the leaderboard's twin/task/axis filters."""

from __future__ import annotations

import pytest

from benchmark.errors import StoreError
from benchmark.store import open_store


@pytest.fixture
def store(seeded):
    with open_store(seeded["url"], seeded["artefacts"]) as store:
        yield store


def test_ratings_facets_and_terminations(store, seeded):
    ratings = store.ratings("state")
    assert [r.policy for r in ratings] == ["alpha", "gamma", "beta"]
    assert all(r.rank_low <= r.rank <= r.rank_high and r.ci_low <= r.rating <= r.ci_high for r in ratings)
    assert store.ratings("human") == [] and store.ratings("state", "seeded") == []
    with pytest.raises(StoreError, match="unknown campaign 'nope'"):
        store.ratings("state", "nope")
    facets = store.facets()
    assert facets.twins == tuple(sorted(seeded["twins"]))
    assert facets.tasks == ("block_to_square", "cube_in_tray") and facets.axes == ("none", "object_yaw")
    assert store.terminations(policy="gamma") == [("policy_error", 16), ("success", 8)]
    assert store.terminations("seeded") == [("success", 32), ("timeout", 24), ("policy_error", 16)]


def test_leaderboard_filters(store, seeded):
    everything = {r.policy: r.n for r in store.leaderboard("state")}
    assert everything == {"alpha": 24, "gamma": 24, "beta": 24}
    twin = seeded["twins"][0]
    by_twin = store.leaderboard("state", twin=twin)
    assert {r.n for r in by_twin} == {12}
    by_cell = {r.policy: r for r in store.leaderboard("vlm", "seeded", twin=twin, axis="object_yaw")}
    assert {r.n for r in by_cell.values()} == {8}
    gamma = {r.policy: r for r in store.leaderboard("state", axis="object_yaw", task="cube_in_tray")}["gamma"]
    assert (gamma.n, gamma.score) == (8, 0.25)
    assert store.leaderboard("state", twin=twin, task="no-such-task") == []
