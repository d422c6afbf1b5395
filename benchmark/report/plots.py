"""The report's plots, drawn from the report's data (never from the store) with matplotlib's Agg
canvas: no display, no global backend state."""

from __future__ import annotations

import io

COLOURS = ("#1f5fa8", "#c8553d")  # the policy, the --vs policy
DPI = 110


def _figure(width: float = 6.4, height: float = 3.2):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    return figure, figure.add_subplot()


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def draw_plots(data: dict) -> tuple[list[dict], dict[str, bytes]]:
    """Every plot of the report: (figure entries for ``data["figures"]``, PNG bytes by id)."""
    sections = [data["main"]] + ([data["other"]] if data.get("other") else [])
    figures, images = [], {}
    curves = data["main"]["axes"]["curves"]
    if curves:
        images["overview"] = overview(sections)
        figures.append(
            {"id": "overview", "kind": "plot", "section": "summary", "title": "robustness per axis"}
        )
    for curve in curves:
        key = f"curve-{curve['axis']}"
        others = [_curve(s, curve["axis"]) for s in sections[1:]]
        images[key] = axis_plot(curve, data["policy"], others, data.get("vs"))
        figures.append({"id": key, "kind": "plot", "section": "axes", "title": curve["axis"]})
    pairs = data["main"]["interactions"]["pairs"]
    if pairs:
        images["interactions"] = interaction_plot(pairs)
        figures.append(
            {"id": "interactions", "kind": "plot", "section": "interactions", "title": "interactions"}
        )
    return figures, images


def _curve(section: dict, axis: str) -> dict | None:
    return next((c for c in section["axes"]["curves"] if c["axis"] == axis), None)


def overview(sections: list[dict]) -> bytes:
    """Robustness score per axis (most sensitive axis on top), one bar per policy."""
    import numpy as np

    axes = [c["axis"] for c in sections[0]["axes"]["curves"]]
    figure, ax = _figure(6.4, 0.9 + 0.32 * len(axes) * len(sections) ** 0.5)
    y = np.arange(len(axes))
    height = 0.8 / len(sections)
    for k, section in enumerate(sections):
        scores = [(_curve(section, a) or {}).get("robustness_score") for a in axes]
        values = [s if s is not None else 0.0 for s in scores]
        bars = ax.barh(y + k * height, values, height, color=COLOURS[k], label=section["policy"])
        ax.bar_label(bars, labels=["n/a" if s is None else f"{s:.2f}" for s in scores], padding=3, fontsize=7)
    ax.set_yticks(y + height * (len(sections) - 1) / 2, axes)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("robustness score (mean success over the swept levels)")
    ax.grid(axis="x", alpha=0.3)
    if len(sections) > 1:
        ax.legend(loc="lower right", fontsize=8)
    return _png(figure)


def axis_plot(curve: dict, policy: str, others: list[dict | None], vs: str | None) -> bytes:
    """Success against level with its 95 % interval and the episodes behind each point; mean
    progress dotted; the ``--vs`` policy dashed."""
    figure, ax = _figure(6.4, 2.9)
    for k, (c, name) in enumerate([(curve, policy)] + [(o, vs) for o in others]):
        if c is None:
            continue
        levels = [r["level"] for r in c["levels"]]
        success = [r["success"] for r in c["levels"]]
        style = "-" if k == 0 else "--"
        ax.fill_between(
            levels,
            [r["success_ci_low"] for r in c["levels"]],
            [r["success_ci_high"] for r in c["levels"]],
            color=COLOURS[k],
            alpha=0.15,
            linewidth=0,
        )
        ax.plot(levels, success, style, marker="o", color=COLOURS[k], label=f"{name}: success")
        ax.plot(
            levels,
            [r["progress"] for r in c["levels"]],
            ":",
            color=COLOURS[k],
            alpha=0.8,
            label=f"{name}: progress",
        )
        for r in c["levels"]:
            ax.annotate(
                f"n={r['episodes']}",
                (r["level"], r["success"]),
                textcoords="offset points",
                xytext=(0, 7) if k == 0 else (0, -13),
                ha="center",
                fontsize=7,
                color=COLOURS[k],
            )
    ax.set_ylim(-0.05, 1.1)
    ax.set_xlim(-0.03, max(1.0, max(r["level"] for r in curve["levels"])) + 0.03)
    ax.set_xlabel(f"{curve['axis']} level")
    ax.set_ylabel("success")
    ax.set_title(curve["axis"], fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False)
    return _png(figure)


def interaction_plot(pairs: list[dict]) -> bytes:
    """Each composed cell: its success with the 95 % interval beside the single-axis prediction."""
    import numpy as np

    rows = [(p["axis"], r) for p in pairs for r in p["levels"]]
    figure, ax = _figure(6.4, 1.5 + 0.38 * len(rows))
    y = np.arange(len(rows))
    success = np.array([r["composed"]["success"] for _, r in rows])
    low = success - np.array([r["composed"]["success_ci_low"] for _, r in rows])
    high = np.array([r["composed"]["success_ci_high"] for _, r in rows]) - success
    ax.barh(y, success, 0.6, xerr=[low, high], color=COLOURS[0], alpha=0.8, label="composed (95 % interval)")
    predicted = [(k, r["predicted"]) for k, (_, r) in enumerate(rows) if r["predicted"] is not None]
    if predicted:
        ax.scatter([p for _, p in predicted], [k for k, _ in predicted], marker="D", color="black", zorder=3,
                   label="predicted from the single axes")  # fmt: skip
    ax.set_yticks(y, [f"{axis} @ {r['level']:g}" for axis, r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.05)
    ax.set_xlabel("success")
    ax.grid(axis="x", alpha=0.3)
    figure.legend(loc="outside lower center", ncol=2, fontsize=7, frameon=False)
    return _png(figure)
