"""The leaderboard: one row per policy under a chosen judge, with what stands behind each number."""

from __future__ import annotations

import streamlit as st

from benchmark.campaigns.campaign import UNPERTURBED
from benchmark.store.queries import EPISODE_JUDGES, JUDGES
from dashboard import board, data
from dashboard.widgets import ALL, empty_store, optional

JUDGE_NAMES = {
    "state": "state (simulator success)",
    "vlm": "VLM (progress score)",
    "human": "human (blind A/B votes)",
    "vlm-pairwise": "VLM pairwise (A/B verdicts)",
}


def render() -> None:
    st.title("Leaderboard")
    db = data.url()
    facets = data.facets(db)
    campaigns = [c.name for c in data.campaigns(db)]
    if not facets.twins:
        empty_store("leaderboard", data.shown_url())
        return

    judge_col, campaign_col, twin_col, task_col, axis_col = st.columns([1.4, 1, 1, 1, 1])
    judge = judge_col.selectbox(
        "Judge", JUDGES, format_func=JUDGE_NAMES.get, key="judge", help="Whose verdicts rank the policies."
    )
    campaign = optional(campaign_col.selectbox("Campaign", [ALL, *campaigns], key="campaign"))
    twin = optional(twin_col.selectbox("Twin", [ALL, *facets.twins], key="twin"))
    task = optional(task_col.selectbox("Task", [ALL, *facets.tasks], key="task"))
    axis = optional(
        axis_col.selectbox(
            "Perturbation axis",
            [ALL, *facets.axes],
            key="axis",
            format_func=lambda a: "unperturbed" if a == UNPERTURBED else a,
        )
    )
    cells = {"twin": twin, "task": task, "axis": axis}
    filtered = any(v is not None for v in cells.values())

    ratings = {j: data.ratings(db, j, campaign) for j in JUDGES}
    scores = {j: data.leaderboard(db, j, campaign, **cells) for j in EPISODE_JUDGES}
    judged = scores.get(judge) or data.leaderboard(db, judge, campaign)
    rows = board.board(ratings[judge], judged, scores["state"], scores["vlm"], filtered)
    if not rows:
        st.info("No episodes match these filters. Choose another twin, task or axis.")
        return

    st.dataframe(
        board.table(rows),
        hide_index=True,
        width="stretch",
        column_config={
            "rating": st.column_config.NumberColumn(format="%.0f", help="Bradley–Terry rating (Elo scale)"),
            "success rate": st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=1.0),
            "VLM score": st.column_config.NumberColumn(format="%.1f", help="mean 0–100 progress score"),
            "comparisons": st.column_config.NumberColumn(help="pairwise comparisons behind the rating"),
            "episodes": st.column_config.NumberColumn(help="episodes behind the success rate"),
            "details": st.column_config.LinkColumn(display_text="policy page", help="curves and episodes"),
        },
    )
    _explain(judge, ratings[judge], campaign, filtered)
    _agreement(ratings, scores, filtered)


def _explain(judge: str, ratings: list, campaign: str | None, filtered: bool) -> None:
    scope = f"campaign `{campaign}`" if campaign else "the whole store"
    if ratings:
        when = max(r.computed_at for r in ratings)
        st.caption(
            f"Rank, rank interval and rating: Bradley–Terry ({ratings[0].method}) fitted to the {judge} "
            f"judge's comparisons over {scope} by `twinarena rank --judge {judge}` on {when:%Y-%m-%d %H:%M} "
            "UTC; 95 % intervals. Success rate: the state judge with Wilson 95 % intervals. VLM score: "
            "mean 0–100 progress with a normal 95 % interval."
        )
    else:
        rank_cmd = f"twinarena rank --judge {judge}" + (f" --campaign {campaign}" if campaign else "")
        st.caption(
            f"No ratings are stored for the {judge} judge over {scope}: the order is the judge's own "
            f"score and there are no rank intervals yet. `{rank_cmd}` fits and stores them."
        )
    if filtered:
        st.caption(
            "Filters apply to the success rate and VLM columns; ratings and ranks stay those fitted over "
            f"{scope}."
        )


def _agreement(ratings: dict, scores: dict, filtered: bool) -> None:
    st.subheader("How far the judges agree")
    rows = board.agreement_rows(board.judge_scores(ratings, scores))
    if not rows:
        st.caption(
            "Agreement needs two judges that scored at least two of the same policies (so far at most "
            "one judge has)."
        )
        return
    st.dataframe(
        rows,
        hide_index=True,
        column_config={
            "Spearman ρ": st.column_config.NumberColumn(format="%.2f"),
            "Kendall τ-b": st.column_config.NumberColumn(format="%.2f"),
            "pairwise accuracy": st.column_config.NumberColumn(format="percent"),
        },
    )
    st.caption(
        "Between each two judges, over the policies both scored: their stored ratings, else their "
        "leaderboard scores" + (" (these filtered)" if filtered else "") + "."
    )


render()
