"""A policy's stress-test report as data: one JSON-able dict read from the store's queries, plus the
images (plots drawn from that dict, keyframes decoded from the episodes' videos).

The HTML and the PDF are both rendered from this dict, so every number they show is in the JSON.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmark.campaigns.campaign import UNPERTURBED, axis_parts
from benchmark.errors import StoreError
from benchmark.report import stats
from benchmark.store.queries import EPISODE_JUDGES, JUDGES

FORMAT = "twinarena-report/1"
SECTIONS = ("summary", "axes", "interactions", "failures", "judges", "twins")
SECTION_TITLES = {
    "summary": "1. Summary",
    "axes": "2. Robustness per perturbation axis",
    "interactions": "3. Interactions between axes",
    "failures": "4. Failure gallery",
    "judges": "5. Judge agreement",
    "twins": "6. Twins",
    "comparison": "7. Side by side",
    "paired": "8. Paired on the same scenarios",
}
FIDELITY_FIELDS = ("psnr_db", "ssim", "depth_error_m")
GROUND_TRUTH_FIELDS = ("max_position_error_m", "max_size_error", "matched", "truth_objects")
RATING_ROUNDS = 100  # bootstrap rounds when ratings are fitted for the report


class ReportError(StoreError):
    """A report that cannot be made: an unknown policy (the message lists the known ones)."""


@dataclass
class Report:
    """The report's data (``data`` is what ``report.json`` holds) and its images by id (PNG plots,
    JPEG keyframes)."""

    data: dict
    images: dict[str, bytes] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(self.data, indent=1, allow_nan=False)


@dataclass
class Standings:
    """What every policy's sections read alike, read once per report: each judge's leaderboard, the
    comparisons each judge implies (``(a, b, winner, count)`` rows), the stored state-judge ratings,
    and Bradley–Terry ratings fitted from the state judge's comparisons on first use."""

    boards: dict[str, list]
    counts: dict[str, list]
    stored_ratings: list
    _fit: Any = field(default=None, repr=False)

    def fitted_ratings(self):
        """The state judge's ratings fitted for this report (not stored); None without comparisons."""
        from benchmark.judges.standings import table_from_counts
        from benchmark.ranking import rank

        if self._fit is None:
            try:
                self._fit = rank(table_from_counts(self.counts["state"]), rounds=RATING_ROUNDS, seed=0)
            except ValueError:
                self._fit = False
        return self._fit or None


def read_standings(store, campaign: str | None) -> Standings:
    """The judges' leaderboards and comparisons in the store (or one campaign)."""
    from benchmark.store.standings import judge_counts

    stored = [judge for judge in JUDGES if judge in EPISODE_JUDGES or judge == "vlm-pairwise"]
    counts = judge_counts(store, stored, campaign)
    counts["human"] = _human_counts(store)
    boards = {judge: store.leaderboard(judge, campaign) for judge in JUDGES}
    return Standings(boards, counts, store.ratings("state", campaign))


def build_report(
    store, policy: str, vs: str | None = None, campaign: str | None = None, gallery: int | None = None
) -> Report:
    """Read everything the report says about ``policy`` (and ``vs``) from the store."""
    from benchmark.report.gallery import EPISODES_PER_REASON
    from benchmark.report.plots import draw_plots

    for name in (policy, vs):
        if name is not None and store.get_policy(name) is None:
            known = ", ".join(p.name for p in store.list_policies()) or "none yet"
            raise ReportError(f"unknown policy {name!r} in {store.url} (policies: {known})")
    if vs == policy:
        raise ReportError(f"--vs {vs!r} is the report's own policy; name another policy")
    if campaign is not None:
        store.resolve_campaign(campaign)  # StoreError naming the known campaigns
    images: dict[str, bytes] = {}
    per_reason = EPISODES_PER_REASON if gallery is None else gallery
    standings = read_standings(store, campaign)
    main = policy_section(store, standings, policy, campaign, per_reason, images)
    data = {
        "format": FORMAT,
        "policy": policy,
        "vs": vs,
        "campaign": campaign,
        "store": store.url,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "definitions": stats.DEFINITIONS,
        "main": main,
        "other": None,
        "comparison": None,
        "paired": None,
        "figures": [],
    }
    if vs is not None:
        data["other"] = policy_section(store, standings, vs, campaign, 0, {})
        data["comparison"] = comparison(main, data["other"])
        data["paired"] = paired_section(store, policy, vs, campaign)
    data = clean(data)
    data["figures"], plots = draw_plots(data)
    images.update(plots)
    data["figures"] += [
        {
            "id": entry["image"],
            "kind": "keyframes",
            "section": "failures",
            "title": f"episode {entry['episode']}",
        }
        for group in main["failures"]["groups"]
        for entry in group["shown"]
        if entry["image"]
    ]
    return Report(data, images)


def policy_section(
    store, standings: Standings, policy: str, campaign: str | None, per_reason: int, images: dict
) -> dict:
    """Sections 1–6 for one policy."""
    from benchmark.report.gallery import failure_gallery

    cells = store.cell_outcomes(policy, campaign)
    by_cell = {
        (c.axis, c.level): stats.cell_stats(c.episodes, c.successes, c.mean_progress, c.mean_progress_sq)
        for c in cells
    }
    level0 = by_cell.get((UNPERTURBED, 0.0))
    curves = axis_curves(by_cell, level0)
    interactions = interaction_section(by_cell, curves, level0)
    failures, keyframes = (
        failure_gallery(store, policy, campaign, per_reason)
        if per_reason
        else ({"failed_episodes": None, "terminations": [], "groups": []}, {})
    )
    images.update(keyframes)
    episodes = sum(c.episodes for c in cells)
    return {
        "policy": policy,
        "episodes": episodes,
        "summary": summary(standings, policy, campaign, episodes, level0, curves),
        "axes": {"curves": curves, "notes": axes_notes(episodes, level0, curves)},
        "interactions": interactions,
        "failures": failures,
        "judges": judges_section(store, standings, policy, campaign),
        "twins": twins_section(store, policy, campaign),
    }


def axis_curves(by_cell: dict, level0: dict | None) -> list[dict]:
    points: dict[str, list] = {}
    for (axis, level), cell in by_cell.items():
        if axis != UNPERTURBED and len(axis_parts(axis)) == 1:
            points.setdefault(axis, []).append((level, cell))
    return stats.sort_axes([stats.axis_curve(axis, level0, rows) for axis, rows in points.items()])


def axes_notes(episodes: int, level0: dict | None, curves: list[dict]) -> list[str]:
    if episodes == 0:
        return ["no episodes of this policy in the store: nothing to plot"]
    notes = []
    if not curves:
        notes.append("no perturbation axis was evaluated: only the unperturbed scenario")
    single = [c["axis"] for c in curves if c["single_level"]]
    if single:
        notes.append(
            f"{len(single)} of {len(curves)} axes were swept at one level only ({', '.join(single)}): "
            "their curves are straight lines and their sensitivity rests on one point"
        )
    if level0 is None and curves:
        notes.append("no unperturbed episodes: curves start at their lowest level")
    return notes


def interaction_section(by_cell: dict, curves: list[dict], level0: dict | None) -> dict:
    by_axis = {c["axis"]: c for c in curves}
    points: dict[str, list] = {}
    for (axis, level), cell in by_cell.items():
        if len(axis_parts(axis)) > 1:
            points.setdefault(axis, []).append((level, cell))
    s0 = level0["success"] if level0 else None
    pairs = stats.sort_interactions(
        [stats.interaction_rows(axis, axis_parts(axis), rows, by_axis, s0) for axis, rows in points.items()]
    )
    notes = []
    if not pairs:
        notes.append(
            "no composed cells (a+b) were evaluated: "
            "run the campaign with `twinarena evaluate --interactions`"
        )
    return {"pairs": pairs, "notes": notes}


def summary(standings: Standings, policy, campaign, episodes, level0, curves) -> dict:
    from benchmark.ranking import rank_intervals

    board = standings.boards["state"]
    row = next((r for r in board if r.policy == policy), None)
    place = None
    if row is not None:
        best, worst = rank_intervals([r.ci_low for r in board], [r.ci_high for r in board])
        k = board.index(row)
        place = {
            "judge": "state",
            "rank": row.rank,
            "of": len(board),
            "rank_low": int(best[k]),
            "rank_high": int(worst[k]),
            "score": row.score,
            "ci_low": row.ci_low,
            "ci_high": row.ci_high,
            "n": row.n,
        }
    scores = [c["robustness_score"] for c in curves]
    notes = []
    if episodes == 0:
        notes.append("this policy has no episodes in the store: it has not been evaluated yet")
    elif level0 is None:
        notes.append("no unperturbed episodes: no level-0 success")
    if episodes and not curves:
        notes.append("no perturbation axes evaluated: no robustness score")
    return {
        "episodes": episodes,
        "level0": level0,
        "robustness_score": sum(scores) / len(scores) if scores else None,
        "axes": len(curves),
        "leaderboard": place,
        "rating": rating(standings, policy, campaign),
        "notes": notes,
    }


def rating(standings: Standings, policy: str, campaign: str | None) -> dict | None:
    """The policy's Bradley–Terry rating under the state judge: stored by ``twinarena rank``, else
    fitted for this report (not stored), else None (no comparisons involve it)."""
    scope = campaign or ""
    stored = standings.stored_ratings
    for row in stored:
        if row.policy == policy:
            keys = (
                "policy",
                "judge",
                "rating",
                "ci_low",
                "ci_high",
                "rank",
                "rank_low",
                "rank_high",
                "n",
                "method",
            )
            return {
                **{k: getattr(row, k) for k in keys},
                "scope": scope,
                "of": len(stored),
                "source": "stored",
            }
    ratings = standings.fitted_ratings()
    if ratings is None:
        return None
    rows = ratings.rows()
    for row in rows:
        if row["policy"] == policy:
            return {
                **row,
                "judge": "state",
                "scope": scope,
                "method": ratings.method,
                "of": len(rows),
                "source": "fitted for this report (not stored)",
            }
    return None


def judges_section(store, standings: Standings, policy: str, campaign: str | None) -> dict:
    """Section 5: the policy under every judge, state against VLM per episode, and its head-to-head
    outcomes under each judge with the judges' agreement on them."""
    from benchmark.ranking import agreement

    boards = []
    for judge in JUDGES:
        rows = standings.boards[judge]
        row = next((r for r in rows if r.policy == policy), None)
        boards.append(
            {"judge": judge, "has_data": row is not None, "of": len(rows), **(_board_row(row) if row else {})}
        )
    pairing = []
    for model, groups in _by_model(store.judge_pairing(policy, "vlm", campaign)).items():
        n = sum(g.n for g in groups)
        sums = [sum(getattr(g, k) for g in groups) for k in ("sum_x", "sum_y", "sum_xx", "sum_yy", "sum_xy")]
        won = [g for g in groups if g.state_success]
        lost = [g for g in groups if not g.state_success]
        pairing.append(
            {
                "model": model,
                "episodes": n,
                "mean_state": sums[0] / n,
                "mean_vlm": sums[1] / n,
                "pearson": stats.pearson_from_sums(n, *sums),
                "successes": sum(g.n for g in won),
                "vlm_on_successes": sum(g.sum_y for g in won) / sum(g.n for g in won) if won else None,
                "failures": sum(g.n for g in lost),
                "vlm_on_failures": sum(g.sum_y for g in lost) / sum(g.n for g in lost) if lost else None,
            }
        )
    heads = {judge: stats.head_to_head(standings.counts[judge], policy) for judge in JUDGES}
    notes = []
    if campaign is not None:
        notes.append("human votes are counted over the whole store, not per campaign")
    if not pairing:
        notes.append("no VLM judgments of this policy's episodes: state against VLM cannot be compared")
    for judge in JUDGES:
        if not heads[judge]:
            notes.append(f"{judge}: no comparisons involving this policy")
    agreements = []
    for i, first in enumerate(JUDGES):
        for second in JUDGES[i + 1 :]:
            shared = sorted(set(heads[first]) & set(heads[second]))
            if not shared:
                continue
            x = [heads[first][o]["score"] for o in shared]
            y = [heads[second][o]["score"] for o in shared]
            same = sum((a > 0.5) - (a < 0.5) == (b > 0.5) - (b < 0.5) for a, b in zip(x, y, strict=True))
            entry = {"judges": [first, second], "opponents": len(shared), "same_verdict": same / len(shared)}
            if len(shared) >= 2:
                coefficients = agreement(x, y)
                entry.update(kendall_tau_b=coefficients["kendall_tau_b"], spearman=coefficients["spearman"])
            agreements.append(entry)
    return {
        "leaderboards": boards,
        "state_vs_vlm": pairing,
        "head_to_head": [
            {"judge": judge, "has_data": bool(heads[judge]), "opponents": list(heads[judge].values())}
            for judge in JUDGES
        ],
        "agreement": agreements,
        "notes": notes,
    }


def _board_row(row) -> dict:
    return {k: getattr(row, k) for k in ("rank", "score", "ci_low", "ci_high", "n", "unit")}


def _by_model(rows) -> dict[str, list]:
    out: dict[str, list] = {}
    for row in rows:
        out.setdefault(row.model, []).append(row)
    return out


def _human_counts(store) -> list[tuple[str, str, str, int]]:
    from collections import Counter

    from benchmark.judges.preferences import human_comparisons

    return [(*key, n) for key, n in Counter(tuple(r)[:3] for r in human_comparisons(store)).items()]


def twins_section(store, policy: str, campaign: str | None) -> dict:
    """Section 6: each twin the policy played in, its fidelity, and its validity if studied."""
    rows = []
    for twin in store.policy_twins(policy, campaign):
        entry = {
            "name": twin.name,
            "content_hash": twin.content_hash,
            "task": twin.task,
            "episodes": twin.episodes,
            "successes": twin.successes,
            "fidelity": {},
            "validity": [],
            "notes": [],
        }
        record = store.get_twin(twin.content_hash)
        try:
            fidelity = json.loads((store.artefact_path(record.artefact) / "fidelity.json").read_text())
        except (StoreError, OSError, ValueError, AttributeError) as err:
            entry["notes"].append(f"no fidelity report: {err}")
        else:
            entry["fidelity"] = fidelity_numbers(fidelity)
        entry["validity"] = [_plain(r) for r in store.validity_results(twin.content_hash)]
        if not entry["validity"]:
            entry["notes"].append("no validity study for this twin")
        rows.append(entry)
    return {"twins": rows, "notes": [] if rows else ["no twins: the policy has no episodes"]}


def fidelity_numbers(fidelity: dict) -> dict:
    """The headline numbers of a twin's ``fidelity.json``: image and depth error, pose and size
    error of its objects against the ground truth, the splat count."""
    out = {k: fidelity[k] for k in FIDELITY_FIELDS if isinstance(fidelity.get(k), int | float)}
    truth = fidelity.get("ground_truth") or {}
    out.update({k: truth[k] for k in GROUND_TRUTH_FIELDS if isinstance(truth.get(k), int | float)})
    splats = fidelity.get("splats") or {}
    if isinstance(splats.get("count"), int):
        out["splats"] = splats["count"]
    return out


def _plain(row) -> dict:
    """A validity row (a dataclass or a mapping) as a flat dict."""
    values = asdict(row) if is_dataclass(row) else dict(row)
    out = {}
    for key, value in values.items():
        if isinstance(value, str | int | float | bool | type(None)):
            out[key] = value
        elif isinstance(value, list | tuple) and all(isinstance(v, int | float) for v in value):
            out[key] = list(value)  # an interval
        elif isinstance(value, datetime):
            out[key] = value.isoformat(timespec="seconds")
    return out


def comparison(main: dict, other: dict) -> dict:
    """Section 7: the two policies cell by cell, each from its own episodes: the difference in
    success with its interval for independent rates, marked where that interval is clear of 0."""
    rows = []
    cells_a, cells_b = _cells(main), _cells(other)
    for key in sorted(set(cells_a) | set(cells_b), key=lambda k: (k[0] != UNPERTURBED, k)):
        a, b = cells_a.get(key), cells_b.get(key)
        row = {"axis": key[0], "level": key[1], "a": _brief(a), "b": _brief(b), "differs": False}
        if a and b:
            found = stats.change(a["successes"], a["episodes"], b["successes"], b["episodes"])
            row.update(
                difference=found["change"],
                difference_ci_low=found["change_ci_low"],
                difference_ci_high=found["change_ci_high"],
                verdict=stats.words(found["change_ci_low"], found["change_ci_high"], "A higher", "A lower"),
            )
            row["differs"] = not row["verdict"].startswith("inconclusive")
        rows.append(row)
    scores_a = {c["axis"]: c["robustness_score"] for c in main["axes"]["curves"]}
    scores_b = {c["axis"]: c["robustness_score"] for c in other["axes"]["curves"]}
    return {
        "policies": [main["policy"], other["policy"]],
        "cells": rows,
        "differing_cells": sum(r["differs"] for r in rows),
        "axes": [
            {"axis": axis, "a": scores_a.get(axis), "b": scores_b.get(axis)}
            for axis in sorted(set(scores_a) | set(scores_b))
        ],
    }


def paired_section(store, policy: str, vs: str, campaign: str | None) -> dict:
    """Section 8: the two policies on the scenarios both played (same scenario id), per cell
    (twin, task, axis, level) and overall (:func:`benchmark.store.paired.paired_comparison`)."""
    from benchmark.store.paired import paired_comparison

    table = paired_comparison(store, policy, vs, campaign)
    notes = []
    if table.overall.comparison.pairs == 0:
        notes.append(
            f"{policy} and {vs} share no scenario: nothing to pair. Evaluate both in one campaign "
            "(`twinarena evaluate --policy A --policy B ...`) to compare them scenario by scenario"
        )
    return {**table.as_dict(), "notes": notes}


def _cells(section: dict) -> dict[tuple[str, float], dict]:
    """Every cell of a policy section by (axis, level): level 0, single axes, composed ones."""
    cells = {}
    if section["summary"]["level0"]:
        cells[(UNPERTURBED, 0.0)] = section["summary"]["level0"]
    for curve in section["axes"]["curves"]:
        cells.update({(curve["axis"], r["level"]): r for r in curve["levels"] if r["level"] > 0})
    for pair in section["interactions"]["pairs"]:
        cells.update({(pair["axis"], r["level"]): r["composed"] for r in pair["levels"]})
    return cells


def _brief(cell: dict | None) -> dict | None:
    if cell is None:
        return None
    keys = ("episodes", "successes", "success", "success_ci_low", "success_ci_high", "progress")
    return {k: cell[k] for k in keys}


def clean(value):
    """JSON-safe: numpy scalars to Python, non-finite floats to None, tuples to lists."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return value
