"""A policy's page: robustness per perturbation axis, its worst scenarios, a paired comparison with
another policy, its episodes (videos and why they ended) and its stress-test report."""

from __future__ import annotations

import shlex
from pathlib import Path

import streamlit as st

from benchmark.campaigns.campaign import cell_label
from benchmark.errors import StoreError
from benchmark.report.gallery import episode_videos
from dashboard import board, data
from dashboard.fmt import interval, or_empty, p_value, percent, plain, signed_interval, signed_percent
from dashboard.widgets import ALL, empty_store, optional, rate_column, table, url_choice

EPISODES_SHOWN = 50
VIDEO_WIDTH = 336  # px: the episodes' 224 px camera videos at 1.5×, not stretched across the page
REPORTS = (("PDF", "report.pdf", "application/pdf"), ("HTML", "report.html", "text/html"))


def render() -> None:
    st.title("Policy")
    db = data.url()
    names = [p.name for p in data.policies(db)]
    if not names:
        empty_store("policy", data.shown_url())
        return
    name = url_choice(st, "Policy", names, "policy", "policy", "policy")
    campaigns = [c.name for c in data.campaigns(db)]
    campaign = optional(
        url_choice(st, "Campaign", [ALL, *campaigns], "policy_campaign", "campaign", "campaign")
    )

    record = next(p for p in data.policies(db) if p.name == name)
    if record.status == "failed":
        st.error(f"{plain(name)} failed validation when it was submitted: {plain(record.reason)}")
    rows = data.robustness(db, campaign, name)
    state = {r.policy: r for r in data.leaderboard(db, "state", campaign)}
    vlm = {r.policy: r for r in data.leaderboard(db, "vlm", campaign)}
    _summary(record, state.get(name), vlm.get(name))
    if not rows:
        st.info(f"{plain(name)} has no episodes in the store yet: queue a campaign on the Submit page.")
        _report(name)
        return
    _curves(rows)
    st.subheader("Worst scenarios")
    table(
        board.worst_cells(rows),
        {
            "success rate": rate_column(),
            "mean progress": st.column_config.NumberColumn(format="%.2f"),
        },
    )
    _compare(db, campaign, name, names)
    _episodes(db, campaign, name, rows)
    _report(name)


def _summary(record, state, vlm) -> None:
    cols = st.columns(4)
    if state is not None:
        cols[0].metric("Success rate", percent(state.score), help="state judge, all its episodes")
        cols[1].metric("95 % interval", interval(state.ci_low, state.ci_high, as_percent=True))
        cols[2].metric("Episodes", state.n)
    if vlm is not None:
        cols[3].metric("VLM score", f"{vlm.score:.1f}", help=f"mean over {vlm.n} judged episodes")
    st.caption(
        f"{record.kind} · {record.action_space} · {'×'.join(map(str, record.image_size))} · "
        f"owner {or_empty(record.owner)} · licence {or_empty(record.licence)}"
    )


def _curves(rows) -> None:
    import altair as alt

    st.subheader("Robustness per perturbation axis")
    twins = sorted({r.twin for r in rows})
    tasks = sorted({r.task for r in rows})
    left, right = st.columns(2)
    twin = optional(left.selectbox("Twin", [ALL, *twins], key="curve_twin"))
    task = optional(right.selectbox("Task", [ALL, *tasks], key="curve_task"))
    points = board.curves(rows, twin, task)
    if not points:
        st.info("No episodes in that twin and task.")
        return
    colours = board.axis_colours([p.axis for p in points])
    composed = any("+" in axis for axis in colours)
    values = [{**p.__dict__, "kind": "composed" if "+" in p.axis else "single"} for p in points]
    legend = {"symbolType": "stroke", "symbolStrokeWidth": 3, "symbolOpacity": 1}
    base = alt.Chart(alt.Data(values=values)).encode(
        x=alt.X("level:Q", title="perturbation level", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color(
            "axis:N",
            title="axis",
            scale=alt.Scale(domain=list(colours), range=list(colours.values())),
            legend=alt.Legend(**legend),
        ),
        strokeDash=alt.StrokeDash(
            "kind:N",
            title="axes",
            scale=alt.Scale(domain=["single", "composed"], range=[[1, 0], [6, 3]]),
            legend=alt.Legend(**legend) if composed else None,
        ),
    )
    band = base.mark_area(opacity=0.15).encode(y="low:Q", y2="high:Q")
    line = base.mark_line(point=True).encode(
        y=alt.Y("success_rate:Q", title="success rate", scale=alt.Scale(domain=[0, 1])),
        tooltip=["axis:N", "level:Q", "successes:Q", "episodes:Q", "low:Q", "high:Q"],
    )
    st.altair_chart(band + line, width="stretch")
    st.caption(
        "Success against level with Wilson 95 % intervals (shaded); level 0 is the unperturbed "
        "scenario of the same twins and tasks. Several twins or tasks are pooled. Composed axes "
        "(`a+b`, both perturbations at once) are dashed."
    )


def _compare(db: str, campaign: str | None, name: str, names: list[str]) -> None:
    """The policy against another on the scenarios both played: per cell and overall, the two
    success rates, the difference with its interval, McNemar's p and the verdict in words."""
    st.subheader("Compare with another policy")
    others = [n for n in names if n != name]
    if not others:
        st.caption("No other policy in the store to compare with.")
        return
    other = st.selectbox(
        "Compare with", others, index=None, placeholder="choose a policy", key="compare_with"
    )
    if other is None:
        return
    paired = data.paired(db, campaign, name, other)
    overall = paired.overall.comparison
    if overall.pairs == 0:
        st.info(
            f"{plain(name)} and {plain(other)} share no scenario: evaluate both in one campaign to "
            "compare them."
        )
        return
    rows = [
        ("all cells", "", "", paired.overall),
        *((r.twin, r.task, cell_label(r.axis, r.level), r) for r in paired.cells),
    ]
    table(
        [
            {
                "twin": twin,
                "task": task,
                "perturbation": cell,
                "pairs": row.comparison.pairs,
                f"{name} success": percent(row.comparison.success_a),
                f"{other} success": percent(row.comparison.success_b),
                "difference": signed_percent(row.comparison.difference),
                "95 % interval": signed_interval(row.comparison.ci_low, row.comparison.ci_high),
                "McNemar p": p_value(row.comparison.p_value),
                "verdict": row.comparison.reason,
            }
            for twin, task, cell, row in rows
        ]
    )
    st.caption(
        f"Pairs: the scenarios (same twin, task, perturbation and seed) both played. Difference: "
        f"{name} − {other} with Newcombe's paired 95 % interval; McNemar's exact test counts the "
        f"scenarios only one of them solved. {name} is called better or worse only when the interval "
        "lies clear of 0 and p < 0.05; otherwise the comparison is inconclusive."
    )


def _episodes(db: str, campaign: str | None, name: str, rows) -> None:
    st.subheader("Episodes")
    reasons = data.terminations(db, campaign, name)
    st.caption("How they ended: " + ", ".join(f"{reason} {n}" for reason, n in reasons))
    left, middle, right = st.columns(3)
    twin = optional(left.selectbox("Twin", [ALL, *sorted({r.twin for r in rows})], key="ep_twin"))
    axis = optional(middle.selectbox("Axis", [ALL, *sorted({r.axis for r in rows})], key="ep_axis"))
    ending = optional(right.selectbox("Ended by", [ALL, *(r for r, _ in reasons)], key="ep_termination"))
    shown = data.episodes(
        db, campaign, policy=name, twin=twin, axis=axis, termination=ending, limit=EPISODES_SHOWN
    )
    if not shown:
        st.info("No episodes match.")
        return
    table(
        [
            {
                "id": e.id,
                "twin": e.twin,
                "task": e.task,
                "perturbation": cell_label(e.axis, e.level),
                "seed": e.seed,
                "success": e.success,
                "progress": e.progress,
                "steps": e.steps,
                "ended by": e.termination,
                "failure reason": e.detail,
            }
            for e in shown
        ],
        {
            "id": st.column_config.NumberColumn(width=50),
            "twin": st.column_config.TextColumn(width=160),
            "task": st.column_config.TextColumn(width=105),
            "perturbation": st.column_config.TextColumn(width=100),
            "seed": st.column_config.NumberColumn(width=45),
            "success": st.column_config.CheckboxColumn(width=60),
            "progress": st.column_config.NumberColumn(format="%.2f", width=65),
            "steps": st.column_config.NumberColumn(width=50),
            "ended by": st.column_config.TextColumn(width=88),
            "failure reason": st.column_config.TextColumn(
                width=170, help="the whole reason: below, as you watch"
            ),
        },
    )
    st.caption(f"The newest {len(shown)} (at most {EPISODES_SHOWN}).")
    labels = {
        e.id: f"#{e.id} · {e.twin} · {e.axis}={e.level:g} · seed {e.seed} · {e.termination}" for e in shown
    }
    chosen = st.selectbox("Watch episode", list(labels), format_func=labels.get, key="ep_watch")
    episode = next(e for e in shown if e.id == chosen)
    try:
        folder = data.store().artefact_path(episode.artefact)
    except StoreError as err:  # a missing artefact folder is shown, not raised
        st.warning(f"Episode #{episode.id}: its files are not available ({plain(err)}).")
        return
    videos = episode_videos(episode.files)
    if episode.detail:
        st.markdown(f"**Why it ended:** {plain(episode.termination)}: {plain(episode.detail)}")
    if not videos:
        st.caption("This episode has no videos.")
    for column, video in zip(st.columns(max(2, len(videos))), videos, strict=False):
        column.caption(Path(video).stem)
        column.video(str(folder / video), width=VIDEO_WIDTH)


def _report(name: str) -> None:
    """The stress-test report as downloads (PDF and HTML, where written), else the command that
    writes it; no server path is shown."""
    from benchmark.report.paths import default_report_dir

    st.subheader("Stress-test report")
    folder = default_report_dir(data.store(), name)
    found = [(kind, folder / file, mime) for kind, file, mime in REPORTS if (folder / file).is_file()]
    if found:
        for column, (kind, path, mime) in zip(st.columns(len(REPORTS)), found, strict=False):
            column.download_button(
                f"Download the report ({kind})",
                data=path.read_bytes(),
                file_name=f"{folder.name}-{path.name}",
                mime=mime,
                icon=":material/download:",
                key=f"report_{kind}",
            )
        if len(found) < len(REPORTS):
            st.caption(f"Only the {found[0][0]} version of the report was written.")
    else:
        st.markdown(f"No report yet for {plain(name)}. Write one with:")
        command = ["twinarena", "report", "--policy", name, "--db", data.shown_url()]
        st.code(shlex.join(command), language="bash", wrap_lines=True)


render()
