"""The leaderboard: one row per policy under a chosen judge, with what stands behind each number,
its scope said in words and kept in the URL, and a chart of ratings and success rates with their
intervals."""

from __future__ import annotations

import streamlit as st

from benchmark.campaigns.campaign import UNPERTURBED
from benchmark.store.queries import EPISODE_JUDGES, JUDGES
from dashboard import board, data
from dashboard.widgets import ALL, empty_store, optional, percent_column, rate_column, table, url_choice

JUDGE_NAMES = {
    "state": "state (simulator success)",
    "vlm": "VLM (progress score)",
    "human": "human (blind A/B votes)",
    "vlm-pairwise": "VLM pairwise (A/B verdicts)",
}
GREEN, RED = "#1e8449", "#c0392b"  # success above half, up to half (as the table's bars)
# the columns as shown: short labels (the full meaning in the help) so the table fits the page
COLUMNS = {
    "rank": st.column_config.NumberColumn("rank", width=45, help="rank under the chosen judge"),
    "rank interval": st.column_config.TextColumn("rank CI", width=62, help="95 % interval of the rank"),
    "details": st.column_config.LinkColumn(
        "policy", display_text=r"policy\?policy=(.*)$", width=105, help="opens the policy's page"
    ),
    "rating": st.column_config.NumberColumn(
        "rating", format="%.0f", width=58, help="Bradley–Terry rating (Elo scale)"
    ),
    "rating 95 % CI": st.column_config.TextColumn("95 % CI", width=88, help="95 % interval of the rating"),
    "comparisons": st.column_config.NumberColumn(
        "pairs", width=50, help="pairwise comparisons behind the rating"
    ),
    "success rate": rate_column("success", "state judge: episodes that succeeded", width=118),
    "success 95 % CI": st.column_config.TextColumn("95 % CI", width=78, help="Wilson 95 % interval"),
    "episodes": st.column_config.NumberColumn("episodes", width=66, help="episodes behind the success rate"),
    "VLM score": st.column_config.NumberColumn("VLM", format="%.1f", width=48, help="mean 0–100 progress"),
    "VLM 95 % CI": st.column_config.TextColumn("95 % CI", width=82, help="95 % interval of the VLM score"),
    "VLM episodes": st.column_config.NumberColumn("judged", width=56, help="episodes the VLM judged"),
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
    judge = url_choice(
        judge_col, "Judge", JUDGES, "judge", "judge", "judge", JUDGE_NAMES.get,
        help="Whose verdicts rank the policies.",
    )  # fmt: skip
    newest = campaigns[-1] if campaigns else None  # the default scope: the newest campaign, unperturbed
    campaign = optional(
        url_choice(
            campaign_col, "Campaign", [*campaigns[::-1], ALL], "campaign", "campaign", "campaign",
            lambda c: "all, pooled" if c == ALL else c, default=newest,
        )
    )  # fmt: skip
    twin = optional(url_choice(twin_col, "Twin", [ALL, *facets.twins], "twin", "twin", "twin"))
    task = optional(url_choice(task_col, "Task", [ALL, *facets.tasks], "task", "task", "task"))
    axis = optional(
        url_choice(
            axis_col, "Perturbation axis", [ALL, *facets.axes], "axis", "axis", "perturbation axis",
            lambda a: "unperturbed" if a == UNPERTURBED else "all, pooled" if a == ALL else a,
            default=UNPERTURBED,
        )
    )  # fmt: skip
    st.info(board.scope_label(campaign, axis, twin, task), icon=":material/filter_alt:")
    cells = {"twin": twin, "task": task, "axis": axis}
    filtered = any(v is not None for v in cells.values())

    ratings = {j: data.ratings(db, j, campaign) for j in JUDGES}
    scores = {j: data.leaderboard(db, j, campaign, **cells) for j in EPISODE_JUDGES}
    judged = scores.get(judge) or data.leaderboard(db, judge, campaign)
    rows = board.board(ratings[judge], judged, scores["state"], scores["vlm"], filtered)
    if not rows:
        st.info("No episodes match these filters. Choose another twin, task or axis.")
        return

    table(board.table(rows), COLUMNS, column_order=list(COLUMNS))
    _explain(judge, ratings[judge], campaign, filtered)
    _chart(rows, judge)
    _agreement(ratings, scores, filtered)


def _explain(judge: str, ratings: list, campaign: str | None, filtered: bool) -> None:
    scope = f"campaign `{campaign}`" if campaign else "the whole store (all campaigns, pooled)"
    if ratings:
        when = max(r.computed_at for r in ratings)
        st.caption(
            f"Rank, rank interval and rating: Bradley–Terry ({ratings[0].method}) fitted to the {judge} "
            f"judge's comparisons over {scope}, all perturbations pooled, by `twinarena rank --judge "
            f"{judge}` on {when:%Y-%m-%d %H:%M} UTC; 95 % intervals. Success rate: the state judge with "
            "Wilson 95 % intervals. VLM score: mean 0–100 progress with a normal 95 % interval."
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


def _chart(rows: list, judge: str) -> None:
    """Ratings and success rates as bars with their 95 % intervals as error bars."""
    import altair as alt

    ratings, success = board.chart_rows(rows)
    if not ratings and not success:
        return
    st.subheader("Ratings and success rates with their 95 % intervals")
    order = [r.policy for r in rows]
    y = alt.Y("policy:N", sort=order, title=None)
    left, right = st.columns(2)
    if ratings:
        base = alt.Chart(alt.Data(values=ratings)).encode(y=y)
        bars = base.mark_bar(color="#4c78a8", opacity=0.8).encode(
            x=alt.X("rating:Q", title=f"Bradley–Terry rating ({judge} judge)"),
            tooltip=["policy:N", alt.Tooltip("rating:Q", format=".0f"), "low:Q", "high:Q", "n:Q"],
        )
        whiskers = base.mark_errorbar(color="#222222", ticks=True, thickness=1.5).encode(
            x=alt.X("low:Q", title=None), x2="high:Q"
        )
        left.altair_chart(bars + whiskers, width="stretch")
    else:
        left.caption(f"No ratings are stored for the {judge} judge in this scope: nothing to chart.")
    if success:
        base = alt.Chart(alt.Data(values=success)).encode(y=y)
        x = alt.X("success rate:Q", title="success rate (state judge, %)", scale=alt.Scale(domain=[0, 100]))
        bars = base.mark_bar(opacity=0.85).encode(
            x=x,
            # the table's bars' colours: green above half, red up to half
            color=alt.condition("datum['success rate'] > 50", alt.value(GREEN), alt.value(RED)),
            tooltip=[
                "policy:N",
                alt.Tooltip("success rate:Q", format=".0f"),
                "low:Q",
                "high:Q",
                "episodes:Q",
            ],
        )
        whiskers = base.mark_errorbar(color="#222222", ticks=True, thickness=1.5).encode(
            x=alt.X("low:Q", title=None), x2="high:Q"
        )
        right.altair_chart(bars + whiskers, width="stretch")
    st.caption(
        "Bars: the ratings (left) and the success rates (right, green above half); black whiskers: "
        "their 95 % intervals (Wilson for success rates)."
    )


def _agreement(ratings: dict, scores: dict, filtered: bool) -> None:
    st.subheader("How far the judges agree")
    judges = board.judge_scores(ratings, scores)
    rows = board.agreement_rows(judges)
    if not rows:
        _no_agreement(list(judges))
        return
    table(
        rows,
        {
            "Spearman ρ": st.column_config.NumberColumn(format="%.2f"),
            "Kendall τ-b": st.column_config.NumberColumn(format="%.2f"),
            "pairwise accuracy": percent_column(),
        },
    )
    st.caption(
        "Between each two judges, over the policies both scored: their stored ratings, else their "
        "leaderboard scores" + (" (these filtered)" if filtered else "") + "."
    )


def _no_agreement(judges: list[str]) -> None:
    """Why there is no agreement table, in words, with the commands that add a second judge."""
    have = ", ".join(f"**{j}**" for j in judges) or "no judge"
    st.info(
        f"Nothing to compare yet: agreement needs two judges that scored at least two of the same "
        f"policies, and in this scope only {have} has. No VLM or human judgments are stored for "
        "these policies yet."
    )
    db = data.shown_url()
    st.markdown("Add a second judge with:")
    st.code(
        f"twinarena judge --vlm --db {db}         # VLM progress scores ($TWINARENA_VLM_MODEL, …)\n"
        f"twinarena rank --judge human --db {db}  # after annotators voted on the Vote page",
        language="bash",
        wrap_lines=True,
    )


render()
