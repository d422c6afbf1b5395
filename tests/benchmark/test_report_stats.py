"""The report's pure parts: composed campaign cells and the report's arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.campaigns.campaign import (
    CampaignSpec,
    Sweep,
    axis_parts,
    campaign_identity,
    cells,
    composed_cells,
    perturbations,
    scenario_identity,
    scenario_key,
)
from benchmark.report import stats
from benchmark.store.queries import wilson_interval


def test_interactions_off_leaves_cells_and_identities_as_they_were():
    sweeps = (Sweep("object_yaw", (0.5, 1.0)), Sweep("camera_pose", (1.0,)))
    plain = CampaignSpec(("p",), ("t",), sweeps, 2)
    assert cells(sweeps) == [("none", 0.0), ("object_yaw", 0.5), ("object_yaw", 1.0), ("camera_pose", 1.0)]
    assert cells(sweeps, interactions=False) == cells(sweeps)
    identity = campaign_identity([("p", None)], ["h"], plain)
    assert identity["cells"] == [[a, lv] for a, lv in cells(sweeps)] and "interactions" not in identity
    on = campaign_identity([("p", None)], ["h"], CampaignSpec(("p",), ("t",), sweeps, 2, interactions=True))
    assert on != identity  # the composed cells make it another campaign


def test_composed_cells_at_shared_levels_or_the_lower_top():
    sweeps = (
        Sweep("object_yaw", (0.5, 1.0)),
        Sweep("camera_pose", (0.5, 1.0)),
        Sweep("image_noise", (0.25,)),
    )
    got = composed_cells(sweeps)
    assert ("camera_pose+object_yaw", 0.5) in got and ("camera_pose+object_yaw", 1.0) in got
    # image_noise shares no level with the others: composed at min(top, top) = 0.25
    assert ("image_noise+object_yaw", 0.25) in got and ("camera_pose+image_noise", 0.25) in got
    assert len(got) == 4
    assert cells(sweeps, interactions=True)[-4:] == got
    assert [str(p) for p in perturbations("camera_pose+object_yaw", 0.5)] == [
        "camera_pose=0.5",
        "object_yaw=0.5",
    ]
    assert axis_parts("camera_pose+object_yaw") == ("camera_pose", "object_yaw")
    assert perturbations("none", 0.0) == ()


def test_a_single_axis_scenario_key_is_unchanged():
    settings = CampaignSpec(("p",), ("t",)).settings
    identity = scenario_identity("h", "task", "object_yaw", 0.5, 3, settings)
    assert identity["perturbations"] == ["object_yaw=0.5"]
    # the key is the digest of exactly what it was before composed cells existed
    assert scenario_key(identity) == scenario_key(
        {
            "twin_hash": "h",
            "task": "task",
            "perturbations": ["object_yaw=0.5"],
            "seed": 3,
            "config": settings.to_dict(),
        }
    )


def test_curve_area_is_the_normalised_trapezoid():
    assert stats.curve_area([0, 0.5, 1], [1, 0.5, 0.5]) == pytest.approx((0.5 * 0.75 + 0.5 * 0.5) / 1)
    assert stats.curve_area([0, 0.5], [1.0, 0.5]) == pytest.approx(0.75)  # swept to 0.5: over [0, 0.5]
    assert stats.curve_area([0.5], [0.25]) == 0.25
    with pytest.raises(ValueError):
        stats.curve_area([], [])


def _cell(n, k, progress=0.5):
    return stats.cell_stats(n, k, progress, progress * progress)


def test_axis_curve_flags_one_level_and_sorts_by_sensitivity():
    level0 = _cell(4, 4)
    flat = stats.axis_curve("flat", level0, [(0.5, _cell(4, 4)), (1.0, _cell(4, 4))])
    steep = stats.axis_curve("steep", level0, [(1.0, _cell(4, 0))])
    assert steep["single_level"] and steep["notes"] and not flat["single_level"]
    assert steep["sensitivity"] == 1.0 and steep["robustness_score"] == 0.5
    assert [c["axis"] for c in stats.sort_axes([flat, steep])] == ["steep", "flat"]
    no_zero = stats.axis_curve("x", None, [(0.5, _cell(2, 1)), (1.0, _cell(2, 0))])
    assert no_zero["levels"][0]["level"] == 0.5 and "no unperturbed" in no_zero["notes"][-1]
    low, high = wilson_interval(3, 4)
    assert _cell(4, 3)["success_ci_low"] == low and _cell(4, 3)["success_ci_high"] == high


def test_interaction_prediction_and_worst_pair_first():
    level0 = _cell(4, 4)
    curves = {
        "a": stats.axis_curve("a", level0, [(1.0, _cell(4, 2))]),
        "b": stats.axis_curve("b", level0, [(1.0, _cell(4, 2))]),
        "c": stats.axis_curve("c", level0, [(1.0, _cell(4, 4))]),
    }
    bad = stats.interaction_rows("a+b", ("a", "b"), [(1.0, _cell(8, 0))], curves, 1.0)
    fine = stats.interaction_rows("a+c", ("a", "c"), [(1.0, _cell(4, 2))], curves, 1.0)
    row = bad["levels"][0]
    assert row["predicted"] == pytest.approx(0.25) and row["interaction"] == pytest.approx(-0.25)
    assert row["beyond_ci"] is (not (row["composed"]["success_ci_low"] <= 0.25))
    assert fine["levels"][0]["interaction"] == pytest.approx(0.0)
    assert [p["axis"] for p in stats.sort_interactions([fine, bad])] == ["a+b", "a+c"]
    # halfway between level 0 and 1 the single is read off the line
    assert stats.success_at(curves["a"], 0.5) == pytest.approx(0.75)
    missing = stats.interaction_rows("a+z", ("a", "z"), [(1.0, _cell(4, 1))], curves, 1.0)
    assert missing["worst_interaction"] is None and "z" in missing["notes"][0]
    assert stats.predicted_success(0.0, 0.0, 0.0) == 0.0 and stats.predicted_success(None, 0.5, 0.5) == 0.25


def test_pearson_from_sums_matches_numpy():
    rng = np.random.default_rng(0)
    x, y = rng.random(20), rng.random(20)
    sums = (len(x), x.sum(), y.sum(), (x * x).sum(), (y * y).sum(), (x * y).sum())
    assert stats.pearson_from_sums(*sums) == pytest.approx(np.corrcoef(x, y)[0, 1])
    assert stats.pearson_from_sums(1, 1, 1, 1, 1, 1) is None
    assert stats.pearson_from_sums(3, 3, 1, 3, 1, 1) is None  # x constant


def test_head_to_head():
    counts = [("p", "q", "a", 3), ("p", "q", "b", 1), ("q", "p", "tie", 2), ("q", "r", "a", 5)]
    rows = stats.head_to_head(counts, "p")
    assert rows == {"q": {"opponent": "q", "wins": 3, "ties": 2, "losses": 1, "n": 6, "score": 4 / 6}}
