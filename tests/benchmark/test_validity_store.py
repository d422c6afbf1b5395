"""Validity studies in the store: written by Store.add_validity, read by Store.validity_results."""

from __future__ import annotations

import pytest

from benchmark.errors import StoreError

TWIN, OTHER, REFERENCE = "t" * 64, "o" * 64, "r" * 64


def _result(pearson: float, blame: str | None = None) -> dict:
    return {
        "reference": "block_push",
        "task": "block_to_square",
        "n_policies": 2,
        "n_scenarios": 8,
        "pearson": {"value": pearson, "low": pearson - 0.1, "high": 1.0},
        "mmrv": {"value": 0.02, "low": 0.0, "high": 0.1},
        "kendall": {"value": 1.0, "low": 0.5, "high": 1.0},
        "passed": pearson >= 0.95,
        "per_policy": [
            {"policy": "vision-expert", "reference_success": 1.0, "twin_success": 0.875, "n": 8},
            {"policy": "random", "reference_success": 0.0, "twin_success": 0.0, "n": 8},
        ],
        "blame": blame,
        "detail": {"campaigns": {"reference": "r", "twin": "t"}, "ablation": []},
    }


@pytest.fixture
def twins(store):
    from benchmark.store import campaigns as rows

    with store.session() as session:
        for content_hash, name in ((TWIN, "twin"), (OTHER, "other"), (REFERENCE, "reference")):
            rows.add_twin(session, content_hash, name, "block_to_square", "/src", "s" * 64, f"a/{name}", {})
    return store


def test_validity_round_trip(twins):
    store = twins
    first = store.add_validity(TWIN, REFERENCE, _result(0.99))
    second = store.add_validity(TWIN, REFERENCE, _result(0.80, blame="appearance"))
    store.add_validity(OTHER, REFERENCE, _result(0.97))
    rows = store.validity_results(TWIN)
    assert [r.id for r in rows] == [second, first]  # newest first, only this twin's
    row = rows[0]
    assert (row.twin_hash, row.twin, row.reference_hash) == (TWIN, "twin", REFERENCE)
    assert (row.reference, row.task, row.n_policies, row.n_scenarios) == (
        "block_push",
        "block_to_square",
        2,
        8,
    )
    assert row.pearson == pytest.approx(0.80)
    assert row.pearson_ci == pytest.approx((0.70, 1.0))
    assert (row.mmrv, row.mmrv_ci) == (0.02, (0.0, 0.1))
    assert (row.kendall, row.kendall_ci) == (1.0, (0.5, 1.0))
    assert row.passed is False and rows[1].passed is True
    assert row.blame == "appearance" and rows[1].blame is None
    assert row.per_policy[0] == {
        "policy": "vision-expert",
        "reference_success": 1.0,
        "twin_success": 0.875,
        "n": 8,
    }
    assert row.detail["campaigns"] == {"reference": "r", "twin": "t"}
    assert row.created_at.tzinfo is not None
    assert len(store.validity_results()) == 3
    assert store.validity_results("x" * 64) == []


def test_validity_needs_registered_twins(twins):
    with pytest.raises(StoreError, match="not a registered twin"):
        twins.add_validity("x" * 64, REFERENCE, _result(0.99))


def test_validity_blame_is_one_of_the_stages(twins):
    with pytest.raises(Exception):  # noqa: B017 - the database's check constraint (IntegrityError)
        twins.add_validity(TWIN, REFERENCE, _result(0.5, blame="lighting"))
    assert twins.validity_results() == []
