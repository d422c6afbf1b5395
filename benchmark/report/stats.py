"""The numbers of a stress-test report: pure functions over counts, no store and no plotting.

Definitions (the report states them too):

- a cell's success rate has a Wilson 95 % interval, its mean progress a normal 95 % interval;
- an axis's curve is success against level, starting at the unperturbed cell (level 0);
- an axis's **robustness score** is the trapezoid area under that curve divided by the levels'
  span: the mean success over the swept range, equal to the area over [0, 1] when the sweep
  reaches 1. An axis with one perturbed level is a straight line from level 0 (it is flagged);
  with no point at level 0 the curve starts at its lowest level;
- an axis's **sensitivity** is the drop in success from its first point (level 0) to its top level;
  axes are listed most sensitive first;
- the policy's robustness score is the mean of its axes' scores (composed axes excluded);
- a composed cell ``a+b`` at level L is **predicted** from the single axes as if each removed its
  own share of successes independently: ``s0 · (sa(L)/s0) · (sb(L)/s0)``, with ``sa(L)`` read off
  axis a's curve (linear between its levels, held flat past its ends) and ``s0`` the success at
  level 0. The **interaction** is composed success minus the prediction; the worst pairs have the
  most negative interaction. It is *beyond the interval* when the prediction lies outside the
  composed cell's Wilson interval;
- a **change** (a level against level 0, an axis's sensitivity, two policies' rates in a cell) is
  a difference of two success rates from separate episodes, with Newcombe's hybrid score 95 %
  interval for independent rates; it is *inconclusive* when that interval crosses 0;
- two policies **differ** in a cell when the interval of their difference lies clear of 0;
- **paired** (``--vs``): the two policies on the scenarios both played, per cell and overall:
  the difference with Newcombe's paired 95 % interval and McNemar's exact p; the verdict is
  *better* or *worse* only when the interval lies clear of 0 and p < 0.05, else *inconclusive*.
"""

from __future__ import annotations

from math import sqrt

import numpy as np

from benchmark.ranking.paired import unpaired_difference
from benchmark.store.queries import mean_interval, wilson_interval

DEFINITIONS = {
    "trials": "distinct episodes: two episodes with the same trace (same observations, actions and "
    "ending) count once",
    "success": "success rate over distinct trials with a Wilson 95 % interval",
    "progress": "mean progress (0-1) with a normal 95 % interval",
    "robustness_score": (
        "per axis: trapezoid area under success against level, from level 0, divided by the span of "
        "levels (the mean success over the swept range; the area over [0, 1] when the sweep reaches 1); "
        "the policy's score is the mean over its single axes"
    ),
    "sensitivity": "success at level 0 minus success at the axis's top level; axes are sorted by it",
    "interaction": (
        "composed success minus the prediction s0 * (sa/s0) * (sb/s0) from the single axes at the "
        "same level (independent effects); most negative first"
    ),
    "change": (
        "a difference of two success rates from separate episodes (a level against level 0, the "
        "sensitivity, two policies in a cell) with Newcombe's hybrid score 95 % interval for "
        "independent rates; 'inconclusive' when the interval crosses 0"
    ),
    "differs": "the 95 % interval of the two policies' difference in success lies clear of 0",
    "paired": (
        "the two policies on the scenarios both played: difference in success with Newcombe's "
        "paired 95 % interval (method 10) and McNemar's exact two-sided p; 'better' or 'worse' only "
        "when the interval lies clear of 0 and p < 0.05, else 'inconclusive'"
    ),
}


def change(successes: int, episodes: int, successes_from: int, episodes_from: int) -> dict:
    """The change in success rate from one set of episodes to another (``to − from``), with its
    95 % interval for independent rates and the verdict in words."""
    difference, low, high = unpaired_difference(successes, episodes, successes_from, episodes_from)
    return {
        "change": difference,
        "change_ci_low": low,
        "change_ci_high": high,
        "change_verdict": words(low, high),
    }


def words(low: float, high: float, higher: str = "higher", lower: str = "lower", line: str = "0") -> str:
    """An interval against a line in words: ``higher``, ``lower``, or ``inconclusive: the interval
    crosses 0``."""
    if low <= 0 <= high:
        return f"inconclusive: the interval crosses {line}"
    return higher if low > 0 else lower


def cell_stats(episodes: int, successes: int, mean_progress: float, mean_progress_sq: float) -> dict:
    """A cell's numbers: counts, success rate and mean progress with their 95 % intervals."""
    low, high = wilson_interval(successes, episodes)
    p_low, p_high = mean_interval(mean_progress, mean_progress_sq, episodes, bounds=(0.0, 1.0))
    return {
        "episodes": int(episodes),
        "successes": int(successes),
        "success": successes / episodes if episodes else 0.0,
        "success_ci_low": low,
        "success_ci_high": high,
        "progress": float(mean_progress),
        "progress_ci_low": max(0.0, p_low),
        "progress_ci_high": min(1.0, p_high),
    }


def curve_area(levels, values) -> float:
    """Trapezoid area under ``values`` against ``levels`` divided by the levels' span (the value
    itself for a single point)."""
    x, y = np.asarray(levels, np.float64), np.asarray(values, np.float64)
    if len(x) == 0:
        raise ValueError("curve_area: no points")
    if len(x) == 1 or x[-1] == x[0]:
        return float(y.mean())
    area = float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2))
    return area / float(x[-1] - x[0])


def axis_curve(axis: str, level0: dict | None, points: list[tuple[float, dict]]) -> dict:
    """An axis's curve: level 0 (the unperturbed cell, if any) then its levels; its robustness
    score, sensitivity and flags."""
    rows = ([{"level": 0.0, **level0}] if level0 is not None else []) + [
        {"level": float(level), **stats} for level, stats in sorted(points, key=lambda p: p[0]) if level > 0
    ]
    for row in rows[1:]:
        row.update(change(row["successes"], row["episodes"], rows[0]["successes"], rows[0]["episodes"]))
    levels = [r["level"] for r in rows]
    success = [r["success"] for r in rows]
    drop = change(rows[0]["successes"], rows[0]["episodes"], rows[-1]["successes"], rows[-1]["episodes"])
    perturbed = sum(1 for r in rows if r["level"] > 0)
    notes = []
    if perturbed == 1:
        notes.append(
            f"one level only ({rows[-1]['level']:g}): the curve is a straight line from "
            + ("level 0" if level0 is not None else "nothing")
        )
    if level0 is None:
        notes.append("no unperturbed episodes: the curve starts at its lowest level")
    return {
        "axis": axis,
        "levels": rows,
        "perturbed_levels": perturbed,
        "single_level": perturbed == 1,
        "robustness_score": curve_area(levels, success),
        "sensitivity": success[0] - success[-1],
        "sensitivity_ci_low": drop["change_ci_low"] if len(rows) > 1 else None,
        "sensitivity_ci_high": drop["change_ci_high"] if len(rows) > 1 else None,
        "sensitivity_verdict": (
            words(drop["change_ci_low"], drop["change_ci_high"], "a drop", "a rise")
            if len(rows) > 1
            else None
        ),
        "notes": notes,
    }


def sort_axes(curves: list[dict]) -> list[dict]:
    """Most sensitive first, then the lower robustness score, then by name."""
    return sorted(curves, key=lambda c: (-c["sensitivity"], c["robustness_score"], c["axis"]))


def success_at(curve: dict, level: float) -> float:
    """An axis's success at ``level``, linear between its points and flat past its ends."""
    xs = [r["level"] for r in curve["levels"]]
    ys = [r["success"] for r in curve["levels"]]
    return float(np.interp(level, xs, ys))


def predicted_success(s0: float | None, sa: float, sb: float) -> float:
    """Success if the two axes removed their shares independently: ``s0·(sa/s0)·(sb/s0)``; without
    a level-0 success the product ``sa·sb``; 0 when nothing succeeded unperturbed."""
    if s0 is None:
        return sa * sb
    if s0 <= 0:
        return 0.0
    return float(min(1.0, max(0.0, sa * sb / s0)))


def interaction_rows(
    axis: str, parts: tuple[str, ...], points: list[tuple[float, dict]], curves: dict, s0: float | None
) -> dict:
    """One composed axis ``a+b``: per level, the composed cell, the singles read off their curves,
    the prediction and the interaction; the worst (lowest) interaction over its levels."""
    missing = [p for p in parts if p not in curves]
    rows = []
    for level, stats in sorted(points, key=lambda p: p[0]):
        row = {
            "level": float(level),
            "composed": stats,
            "singles": {},
            "predicted": None,
            "interaction": None,
        }
        if not missing and len(parts) == 2:
            sa, sb = (success_at(curves[p], level) for p in parts)
            row["singles"] = {parts[0]: sa, parts[1]: sb}
            row["predicted"] = predicted_success(s0, sa, sb)
            row["interaction"] = stats["success"] - row["predicted"]
            row["beyond_ci"] = not (stats["success_ci_low"] <= row["predicted"] <= stats["success_ci_high"])
            row["verdict"] = words(
                stats["success_ci_low"] - row["predicted"],
                stats["success_ci_high"] - row["predicted"],
                "above the prediction",
                "below the prediction",
                "the prediction",
            )
        rows.append(row)
    scored = [r["interaction"] for r in rows if r["interaction"] is not None]
    notes = [f"no single-axis episodes of {', '.join(missing)}: no prediction"] if missing else []
    return {
        "axis": axis,
        "axes": list(parts),
        "levels": rows,
        "worst_interaction": min(scored) if scored else None,
        "notes": notes,
    }


def sort_interactions(pairs: list[dict]) -> list[dict]:
    """Worst (most negative interaction) first; pairs without a prediction last."""
    return sorted(
        pairs,
        key=lambda p: (p["worst_interaction"] is None, p["worst_interaction"] or 0.0, p["axis"]),
    )


def pearson_from_sums(n: int, sx: float, sy: float, sxx: float, syy: float, sxy: float) -> float | None:
    """Pearson's r from sums (None when undefined: fewer than 2 points or a constant variable)."""
    if n < 2:
        return None
    vx, vy = sxx - sx * sx / n, syy - sy * sy / n
    if vx <= 1e-12 or vy <= 1e-12:
        return None
    return float(max(-1.0, min(1.0, (sxy - sx * sy / n) / sqrt(vx * vy))))


def head_to_head(counts: list[tuple[str, str, str, int]], policy: str) -> dict[str, dict]:
    """``policy``'s wins, ties and losses against each opponent from ``(a, b, winner, count)`` rows."""
    out: dict[str, dict] = {}
    for a, b, winner, count in counts:
        if policy not in (a, b) or a == b:
            continue
        opponent = b if a == policy else a
        row = out.setdefault(opponent, {"opponent": opponent, "wins": 0, "ties": 0, "losses": 0, "n": 0})
        if winner == "tie":
            row["ties"] += count
        elif (winner == "a") == (a == policy):
            row["wins"] += count
        else:
            row["losses"] += count
        row["n"] += count
    for row in out.values():
        row["score"] = (row["wins"] + row["ties"] / 2) / row["n"] if row["n"] else 0.0
    return dict(sorted(out.items()))
