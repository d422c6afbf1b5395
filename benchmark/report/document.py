"""The report's layout as a list of blocks (headings, text, tables, images), laid out from the report's
data the same way for both renderers (HTML and PDF).

Every number a block shows is a :class:`Num`: a path into the data and the text it formats to, so
the renderers can only show numbers the JSON holds, and the HTML tags each with its path.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from benchmark.campaigns.campaign import UNPERTURBED
from benchmark.report.build import SECTION_TITLES, SECTIONS


@dataclass(frozen=True)
class Num:
    path: str  # dotted path into the data; list items by index: main.axes.curves.0.robustness_score
    value: float | int | None
    text: str


Cell = str | Num | list  # a list: pieces of one cell ("0.25", "–", "0.75")
Text = list[Cell]  # pieces of one line of text


@dataclass
class Heading:
    level: int
    text: str
    anchor: str = ""


@dataclass
class Para:
    parts: Text
    note: bool = False  # a remark ("no data", a caveat) rather than a finding


@dataclass
class Table:
    columns: list[str]
    rows: list[list[Cell]]
    marked: list[bool] = field(default_factory=list)  # rows to highlight (policies that differ)
    widths: list[float] = field(default_factory=list)  # relative column widths (PDF)


@dataclass
class Image:
    id: str
    caption: str
    kind: str  # plot or keyframes


FIDELITY_LABELS = {
    "psnr_db": "held-out PSNR (dB)",
    "ssim": "held-out SSIM",
    "depth_error_m": "depth error (m)",
    "max_position_error_m": "largest object position error (m)",
    "max_size_error": "largest object size error (fraction)",
    "matched": "objects matched",
    "truth_objects": "objects in the ground truth",
    "splats": "splats",
}
FIDELITY_STYLES = {
    "matched": "int",
    "truth_objects": "int",
    "splats": "int",
    "psnr_db": "score",
    "ssim": "rate",
}


def lookup(data: dict, path: str):
    """The value at a dotted path (list items by index)."""
    value = data
    for key in path.split("."):
        value = value[int(key)] if isinstance(value, list) else value[key]
    return value


class Layout:
    """Builds the blocks; :meth:`num` reads each number from the data by its path."""

    def __init__(self, data: dict):
        self.data = data
        self.blocks: list = []

    def num(self, path: str, style: str = "rate") -> Num:
        value = lookup(self.data, path)
        return Num(path, value, fmt(value, style))

    def ci(self, path: str, low: str = "success_ci_low", high: str = "success_ci_high", style: str = "rate"):
        return [self.num(f"{path}.{low}", style), "–", self.num(f"{path}.{high}", style)]

    def change(
        self, path: str, value: str = "change", low: str = "change_ci_low", high: str = "change_ci_high"
    ):
        """A signed difference and its interval: ``+0.250 (−0.062 to +0.500)``."""
        return [
            self.num(f"{path}.{value}", "signed"),
            " (", self.num(f"{path}.{low}", "signed"), " to ", self.num(f"{path}.{high}", "signed"), ")",
        ]  # fmt: skip

    def add(self, block) -> None:
        self.blocks.append(block)

    def para(self, *parts: Cell, note: bool = False) -> None:
        self.add(Para(list(parts), note))

    def notes(self, path: str) -> None:
        for text in lookup(self.data, path):
            self.para(text, note=True)


def fmt(value, style: str = "rate") -> str:
    """A number as the report prints it."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if style == "int":
        return str(int(value))
    if style == "level":
        return f"{value:g}"
    if style == "signed":
        return f"{value:+.3f}"
    if style == "rating":
        return f"{value:.0f}"
    if style == "score":
        return f"{value:.1f}"
    if style == "small":
        return f"{value:.4f}"
    if style == "p":
        return f"{value:.3g}"
    return f"{value:.3f}"


def layout(data: dict) -> list:
    """The report's blocks, in order."""
    out = Layout(data)
    title = f"Stress test: {data['policy']}" + (f" vs {data['vs']}" if data["vs"] else "")
    out.add(Heading(1, title, "top"))
    scope = f"campaign {data['campaign']}" if data["campaign"] else "every campaign in the store"
    out.para(f"Store {data['store']}, {scope}; generated {data['generated_at']}.", note=True)
    sections = {
        "summary": _summary,
        "axes": _axes,
        "interactions": _interactions,
        "failures": _failures,
        "judges": _judges,
        "twins": _twins,
    }
    for name in SECTIONS:
        out.add(Heading(2, SECTION_TITLES[name], name))
        sections[name](out, "main")
    if data["comparison"] is not None:
        out.add(Heading(2, SECTION_TITLES["comparison"], "comparison"))
        _comparison(out)
    if data.get("paired") is not None:
        out.add(Heading(2, SECTION_TITLES["paired"], "paired"))
        _paired(out)
    out.add(Heading(2, "Definitions", "definitions"))
    for key, text in data["definitions"].items():
        out.para(f"{key}: {text}", note=True)
    return out.blocks


def _figures(out: Layout, section: str, kind: str = "plot") -> None:
    for figure in out.data["figures"]:
        if figure["section"] == section and figure["kind"] == kind:
            out.add(Image(figure["id"], figure["title"], kind))


def _summary(out: Layout, root: str) -> None:
    s = f"{root}.summary"
    summary = lookup(out.data, s)
    out.notes(f"{s}.notes")
    rows: list[list[Cell]] = [["trials (distinct episodes)", out.num(f"{s}.episodes", "int"), ""]]
    if summary["level0"]:
        rows.append(["success at level 0", out.num(f"{s}.level0.success"), out.ci(f"{s}.level0")])
        rows.append(
            [
                "progress at level 0",
                out.num(f"{s}.level0.progress"),
                out.ci(f"{s}.level0", "progress_ci_low", "progress_ci_high"),
            ]
        )
        rows.append(["episodes at level 0", out.num(f"{s}.level0.episodes", "int"), ""])
    rows.append(
        [
            "robustness score",
            out.num(f"{s}.robustness_score"),
            ["over ", out.num(f"{s}.axes", "int"), " axes"],
        ]
    )
    board = summary["leaderboard"]
    if board:
        b = f"{s}.leaderboard"
        rows.append(
            [
                "leaderboard rank (state judge, success rate)",
                [out.num(f"{b}.rank", "int"), " of ", out.num(f"{b}.of", "int")],
                ["rank interval ", out.num(f"{b}.rank_low", "int"), "–", out.num(f"{b}.rank_high", "int")],
            ]
        )
    else:
        rows.append(["leaderboard rank", "none: no judged episodes", ""])
    rating = summary["rating"]
    if rating:
        r = f"{s}.rating"
        rows.append(
            [
                "Bradley–Terry rating (state judge)",
                [out.num(f"{r}.rating", "rating"), " (rank ", out.num(f"{r}.rank", "int"), ")"],
                [
                    out.num(f"{r}.ci_low", "rating"), "–", out.num(f"{r}.ci_high", "rating"),
                    "; rank interval ", out.num(f"{r}.rank_low", "int"), "–",
                    out.num(f"{r}.rank_high", "int"),
                    f"; {rating['source']}",
                ],
            ]
        )  # fmt: skip
    else:
        rows.append(["Bradley–Terry rating", "none: no comparisons with other policies", ""])
    out.add(Table(["", "value", "95 % interval / detail"], rows, widths=[3, 2, 4]))
    _figures(out, "summary")


def _axes(out: Layout, root: str) -> None:
    a = f"{root}.axes"
    out.notes(f"{a}.notes")
    curves = lookup(out.data, f"{a}.curves")
    if curves:
        rows = []
        for k, curve in enumerate(curves):
            c = f"{a}.curves.{k}"
            measured = curve.get("sensitivity_verdict") is not None
            rows.append(
                [
                    curve["axis"] + (" (one level)" if curve["single_level"] else ""),
                    out.num(f"{c}.robustness_score"),
                    out.change(c, "sensitivity", "sensitivity_ci_low", "sensitivity_ci_high")
                    if measured
                    else out.num(f"{c}.sensitivity", "signed"),
                    curve["sensitivity_verdict"] if measured else "n/a (one point)",
                    out.num(f"{c}.perturbed_levels", "int"),
                ]
            )
        out.para("Axes, most sensitive first (sensitivity: first point minus top level, 95 % interval):")
        out.add(
            Table(["axis", "robustness score", "sensitivity (95 % interval)", "verdict", "levels"], rows,
                  widths=[3.4, 1.4, 2.8, 2.6, 0.8])
        )  # fmt: skip
    for k, curve in enumerate(curves):
        c = f"{a}.curves.{k}"
        out.add(Heading(3, curve["axis"], f"axis-{curve['axis']}"))
        for text in curve["notes"]:
            out.para(text, note=True)
        rows = [
            [
                out.num(f"{c}.levels.{j}.level", "level"),
                out.num(f"{c}.levels.{j}.episodes", "int"),
                out.num(f"{c}.levels.{j}.success"),
                out.ci(f"{c}.levels.{j}"),
                out.num(f"{c}.levels.{j}.progress"),
                out.ci(f"{c}.levels.{j}", "progress_ci_low", "progress_ci_high"),
                out.change(f"{c}.levels.{j}") if "change" in level else "",
                level.get("change_verdict", ""),
            ]
            for j, level in enumerate(curve["levels"])
        ]
        first = "level 0" if curve["levels"] and curve["levels"][0]["level"] == 0 else "the first level"
        out.add(Image(f"curve-{curve['axis']}", curve["axis"], "plot"))
        out.add(
            Table(["level", "trials", "success", "95 % interval", "progress", "95 % interval",
                   f"success vs {first} (95 % interval)", "verdict"], rows,
                  widths=[0.8, 1.3, 1.1, 1.6, 1.3, 1.6, 2.9, 2.2])
        )  # fmt: skip


def _interactions(out: Layout, root: str) -> None:
    i = f"{root}.interactions"
    out.notes(f"{i}.notes")
    pairs = lookup(out.data, f"{i}.pairs")
    if not pairs:
        return
    out.para("Worst pairs first. ", out.data["definitions"]["interaction"], ".")
    rows, marked = [], []
    for k, pair in enumerate(pairs):
        for j, level in enumerate(pair["levels"]):
            p = f"{i}.pairs.{k}.levels.{j}"
            singles = [[f"{axis} ", out.num(f"{p}.singles.{axis}")] for axis in level["singles"]] or ["n/a"]
            rows.append(
                [
                    pair["axis"],
                    out.num(f"{p}.level", "level"),
                    out.num(f"{p}.composed.episodes", "int"),
                    out.num(f"{p}.composed.success"),
                    out.ci(f"{p}.composed"),
                    [piece for s in singles for piece in (s if isinstance(s, list) else [s]) + ["; "]][:-1],
                    out.num(f"{p}.predicted"),
                    out.num(f"{p}.interaction", "signed"),
                    level.get("verdict", "n/a"),
                ]
            )
            marked.append(bool(level.get("beyond_ci")))
        for text in pair["notes"]:
            out.para(f"{pair['axis']}: {text}", note=True)
    out.add(
        Table(["pair", "level", "n", "success", "95 % interval", "singles", "predicted", "interaction",
               "composed vs predicted"], rows, marked, widths=[2.6, 0.8, 0.5, 1.1, 1.5, 2.5, 1.5, 1.6, 2.3])
    )  # fmt: skip
    out.para(
        "Marked rows: the prediction lies outside the composed cell's 95 % interval; elsewhere the "
        "interaction is inconclusive.",
        note=True,
    )
    _figures(out, "interactions")


def _failures(out: Layout, root: str) -> None:
    f = f"{root}.failures"
    failures = lookup(out.data, f)
    if not failures["terminations"]:
        out.para("No episodes: nothing failed yet.", note=True)
        return
    out.para("How the episodes ended:")
    out.add(
        Table(
            ["termination", "trials"],
            [
                [t["termination"], out.num(f"{f}.terminations.{k}.episodes", "int")]
                for k, t in enumerate(failures["terminations"])
            ],
            widths=[3, 1],
        )
    )
    if not failures["groups"]:
        out.para("No failed episodes.", note=True)
    for k, group in enumerate(failures["groups"]):
        g = f"{f}.groups.{k}"
        out.add(Heading(3, f"{group['termination']}", f"failures-{group['termination']}"))
        out.para(
            out.num(f"{g}.episodes", "int"), " failed episodes ended with ", group["termination"],
            "; below, the newest (one per cell first) with their first, middle and last frames.",
        )  # fmt: skip
        for j, entry in enumerate(group["shown"]):
            e = f"{g}.shown.{j}"
            cell = "unperturbed" if entry["axis"] == UNPERTURBED else entry["axis"]
            out.para(
                "episode ", out.num(f"{e}.episode", "int"), f" · {entry['twin']} · {cell} ",
                out.num(f"{e}.level", "level"), " · seed ", out.num(f"{e}.seed", "int"),
                " · progress ", out.num(f"{e}.progress"), " · steps ", out.num(f"{e}.steps", "int"),
                (f" · {entry['detail']}" if entry["detail"] else ""),
            )  # fmt: skip
            if entry["image"]:
                out.add(Image(entry["image"], f"episode {entry['episode']}", "keyframes"))
            if entry["note"]:
                out.para(entry["note"], note=True)


def _judges(out: Layout, root: str) -> None:
    j = f"{root}.judges"
    judges = lookup(out.data, j)
    rows = []
    for k, board in enumerate(judges["leaderboards"]):
        b = f"{j}.leaderboards.{k}"
        if board["has_data"]:
            style = (
                "rate" if board["judge"] == "state" else ("score" if board["judge"] == "vlm" else "rating")
            )
            rows.append(
                [
                    board["judge"],
                    [out.num(f"{b}.rank", "int"), " of ", out.num(f"{b}.of", "int")],
                    out.num(f"{b}.score", style),
                    [out.num(f"{b}.ci_low", style), "–", out.num(f"{b}.ci_high", style)],
                    [out.num(f"{b}.n", "int"), f" {board['unit']}"],
                ]
            )
        else:
            rows.append([board["judge"], "no data", "", "", ""])
    out.para("The policy under each judge's leaderboard:")
    out.add(Table(["judge", "rank", "score", "95 % interval", "behind it"], rows, widths=[2, 1.2, 1.2, 2, 2]))
    if judges["state_vs_vlm"]:
        out.para("State judge against the VLM judge, episode by episode (scores 0–100):")
        rows = []
        for k, row in enumerate(judges["state_vs_vlm"]):
            p = f"{j}.state_vs_vlm.{k}"
            rows.append(
                [
                    row["model"] or "(default)",
                    out.num(f"{p}.episodes", "int"),
                    out.num(f"{p}.mean_state", "score"),
                    out.num(f"{p}.mean_vlm", "score"),
                    out.num(f"{p}.pearson"),
                    out.num(f"{p}.vlm_on_successes", "score"),
                    out.num(f"{p}.vlm_on_failures", "score"),
                ]
            )
        out.add(
            Table(["VLM model", "episodes", "state mean", "VLM mean", "Pearson r", "VLM on successes",
                   "VLM on failures"], rows)
        )  # fmt: skip
    rows = []
    for k, head in enumerate(judges["head_to_head"]):
        for m, opponent in enumerate(head["opponents"]):
            h = f"{j}.head_to_head.{k}.opponents.{m}"
            rows.append(
                [
                    head["judge"],
                    opponent["opponent"],
                    out.num(f"{h}.wins", "int"),
                    out.num(f"{h}.ties", "int"),
                    out.num(f"{h}.losses", "int"),
                    out.num(f"{h}.score"),
                ]
            )
    if rows:
        out.para("Head to head: comparisons involving this policy under each judge (score: wins + ties/2):")
        out.add(
            Table(["judge", "opponent", "wins", "ties", "losses", "score"], rows, widths=[2, 4, 1, 1, 1, 1])
        )
    if judges["agreement"]:
        rows = []
        for k, entry in enumerate(judges["agreement"]):
            a = f"{j}.agreement.{k}"
            rows.append(
                [
                    " / ".join(entry["judges"]),
                    out.num(f"{a}.opponents", "int"),
                    out.num(f"{a}.same_verdict"),
                    out.num(f"{a}.kendall_tau_b") if "kendall_tau_b" in entry else "n/a (one opponent)",
                ]
            )
        out.para("Do the judges agree on this policy's head-to-head outcomes?")
        out.add(Table(["judges", "opponents", "same verdict", "Kendall tau-b"], rows, widths=[3, 1, 1, 1.5]))
    out.notes(f"{j}.notes")


def _twins(out: Layout, root: str) -> None:
    t = f"{root}.twins"
    twins = lookup(out.data, t)
    out.notes(f"{t}.notes")
    for k, twin in enumerate(twins["twins"]):
        w = f"{t}.twins.{k}"
        out.add(Heading(3, twin["name"], f"twin-{k}"))
        out.para(
            f"task {twin['task']} · hash {twin['content_hash'][:12]} · ", out.num(f"{w}.episodes", "int"),
            " episodes, ", out.num(f"{w}.successes", "int"), " successes",
        )  # fmt: skip
        if twin["fidelity"]:
            rows = [
                [
                    FIDELITY_LABELS.get(key, key),
                    out.num(f"{w}.fidelity.{key}", FIDELITY_STYLES.get(key, "small")),
                ]
                for key in twin["fidelity"]
            ]
            out.add(Table(["fidelity", "value"], rows, widths=[3, 2]))
        for m, row in enumerate(twin["validity"]):
            v = f"{w}.validity.{m}"
            cells = []
            for key, value in row.items():
                if isinstance(value, list):
                    continue  # shown beside its value
                shown = out.num(f"{v}.{key}", "small") if isinstance(value, int | float) else str(value)
                ci = row.get(f"{key}_ci")
                interval = (
                    [out.num(f"{v}.{key}_ci.0", "small"), "–", out.num(f"{v}.{key}_ci.1", "small")]
                    if ci
                    else ""
                )
                cells.append([key, shown, interval])
            out.add(Table(["validity study", "value", "95 % interval"], cells, widths=[3, 2, 2]))
        for text in twin["notes"]:
            out.para(text, note=True)


def _comparison(out: Layout) -> None:
    c = "comparison"
    comparison = out.data[c]
    a, b = comparison["policies"]
    rows = []
    for root, name in (("main", a), ("other", b)):
        s = f"{root}.summary"
        summary = lookup(out.data, s)
        level0 = summary["level0"]
        rows.append(
            [
                name,
                out.num(f"{s}.episodes", "int"),
                out.num(f"{s}.level0.success") if level0 else "n/a",
                out.ci(f"{s}.level0") if level0 else "n/a",
                out.num(f"{s}.level0.progress") if level0 else "n/a",
                out.num(f"{s}.robustness_score"),
            ]
        )
    out.add(
        Table(["policy", "trials", "success at 0", "95 % interval", "progress at 0", "robustness"], rows,
              widths=[3, 1, 1.2, 1.8, 1.2, 1.2])
    )  # fmt: skip
    out.para(
        out.num(f"{c}.differing_cells", "int"),
        " cells where the difference in success is clear of 0 at 95 % (marked; each policy's own "
        f"episodes, compared as independent rates). A = {a}, B = {b}.",
    )
    rows, marked = [], []
    for k, row in enumerate(comparison["cells"]):
        r = f"{c}.cells.{k}"
        cells: list[Cell] = [row["axis"], out.num(f"{r}.level", "level")]
        for side in ("a", "b"):
            if row[side]:
                cells += [
                    [out.num(f"{r}.{side}.success"), " (n ", out.num(f"{r}.{side}.episodes", "int"), ")"],
                    out.ci(f"{r}.{side}"),
                ]
            else:
                cells += ["n/a", ""]
        if "difference" in row:
            cells += [out.change(r, "difference", "difference_ci_low", "difference_ci_high"), row["verdict"]]
        else:
            cells += ["n/a", "n/a: one policy has no episodes here"]
        rows.append(cells)
        marked.append(row["differs"])
    out.add(
        Table(["axis", "level", "A success", "A interval", "B success", "B interval", "A − B (95 % interval)",
               "verdict"], rows, marked, widths=[2.0, 0.7, 1.6, 1.7, 1.6, 1.7, 2.8, 2.2])
    )  # fmt: skip


def _paired(out: Layout) -> None:
    p = "paired"
    paired = out.data[p]
    a, b = paired["policies"]
    out.notes(f"{p}.notes")
    out.para(
        f"A = {a}, B = {b}, on the scenarios both played (the same scenario: twin, task, perturbation "
        "and seed). The difference A − B has Newcombe's paired 95 % interval; McNemar's exact test "
        "counts the scenarios where only one of them succeeded. Verdict on A: better or worse only when "
        "the interval lies clear of 0 and p < 0.05."
    )
    o = f"{p}.overall"
    overall = paired["overall"]
    if overall["pairs"] == 0:
        return
    out.para(
        "Overall: ", out.num(f"{o}.pairs", "int"), " pairs; A ", out.num(f"{o}.success_a"), ", B ",
        out.num(f"{o}.success_b"), "; A − B ", *out.change(o, "difference", "ci_low", "ci_high"),
        "; only A succeeded in ", out.num(f"{o}.only_a", "int"), ", only B in ",
        out.num(f"{o}.only_b", "int"), "; McNemar p = ", out.num(f"{o}.p_value", "p"), ". Verdict: ",
        overall["reason"], ".",
    )  # fmt: skip
    rows, marked = [], []
    for k, row in enumerate(paired["cells"]):
        r = f"{p}.cells.{k}"
        rows.append(
            [
                row["twin"],
                row["task"],
                "unperturbed"
                if row["axis"] == UNPERTURBED
                else [f"{row['axis']} ", out.num(f"{r}.level", "level")],
                out.num(f"{r}.pairs", "int"),
                out.num(f"{r}.success_a"),
                out.num(f"{r}.success_b"),
                out.change(r, "difference", "ci_low", "ci_high"),
                [out.num(f"{r}.only_a", "int"), " / ", out.num(f"{r}.only_b", "int")],
                out.num(f"{r}.p_value", "p"),
                row["reason"],
            ]
        )
        marked.append(row["verdict"] != "inconclusive")
    out.add(
        Table(["twin", "task", "cell", "pairs", "A", "B", "A − B (95 % interval)", "only A / only B",
               "McNemar p", "verdict"], rows, marked,
              widths=[1.8, 1.0, 1.9, 0.9, 0.9, 0.9, 2.6, 1.4, 1.5, 2.9])
    )  # fmt: skip
    out.para("Marked rows: a verdict (better or worse); the others are inconclusive.", note=True)
