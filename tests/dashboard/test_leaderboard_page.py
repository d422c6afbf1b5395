"""The leaderboard page on a seeded store (SQLite and PostgreSQL): a row per policy with its
rating, interval, rank interval, success rate, VLM score and the counts behind them; filters;
the judge selector; judge agreement; the empty state."""

from __future__ import annotations

import pytest
from helpers import button, no_exception, texts

from benchmark.store import open_store

POOLED = {"campaign": "all", "axis": "all"}  # every campaign and cell: the seeded numbers below


def board(at):
    frame = at.dataframe[0].value
    return {row["policy"]: row for row in frame.to_dict("records")}


def test_the_leaderboard_shows_each_policy_with_what_stands_behind_it(seeded, app):
    at = app()
    at.query_params.update(POOLED)
    at.run()
    no_exception(at)
    rows = board(at)
    assert list(rows) == ["alpha", "gamma", "beta"]  # the stored state ratings' order
    with open_store(seeded["url"], seeded["artefacts"]) as store:
        stored = {r.policy: r for r in store.ratings("state")}
    for name, row in rows.items():
        rating = stored[name]
        assert row["rank"] == rating.rank
        assert row["rating"] == pytest.approx(rating.rating)
        assert row["rating 95 % CI"] == f"{rating.ci_low:.0f}–{rating.ci_high:.0f}"
        assert row["comparisons"] == rating.n
        assert row["episodes"] == 24 and row["VLM episodes"] == 24
    # rates in percent points, shown "33 %" (they were 0–1 fractions shown "33.33%")
    assert rows["alpha"]["success rate"] == 100.0 and rows["beta"]["success rate"] == 0.0
    assert rows["gamma"]["success rate"] == pytest.approx(100 * 8 / 24)
    assert rows["alpha"]["success 95 % CI"] == "86–100 %"  # Wilson, 24 of 24
    assert rows["alpha"]["VLM score"] > rows["gamma"]["VLM score"] > rows["beta"]["VLM score"]
    agreement = at.dataframe[1].value.to_dict("records")
    assert agreement == [
        {
            "judges": "state · vlm",
            "policies": 3,
            "Spearman ρ": 1.0,
            "Kendall τ-b": 1.0,
            "pairwise accuracy": 100.0,  # percent points, as every rate
        }
    ]
    assert rows["beta"]["details"] == "policy?policy=beta"
    assert "twinarena rank --judge state" in texts(at.caption)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_filters_narrow_the_success_and_vlm_columns(seeded, app):
    at = app()
    at.query_params.update(POOLED)
    at.run()
    twin = seeded["twins"][0]
    at.selectbox(key="twin").set_value(twin).run()
    no_exception(at)
    rows = board(at)
    assert {r["episodes"] for r in rows.values()} == {12}
    at.selectbox(key="axis").set_value("object_yaw").run()
    rows = board(at)
    assert {r["episodes"] for r in rows.values()} == {8}
    assert rows["gamma"]["success rate"] == pytest.approx(100 * 2 / 8)  # even seeds at level 0.5 only
    assert "Filters apply to the success rate and VLM columns" in texts(at.caption)
    other_task = next(t for t in at.selectbox(key="task").options if t not in ("(all)", twin.split("-")[1]))
    at.selectbox(key="task").set_value(other_task).run()
    no_exception(at)
    assert "No episodes match these filters" in texts(at.info)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_judge_selector_and_campaign_scope(seeded, app):
    at = app()
    at.query_params.update(POOLED)
    at.run()
    at.selectbox(key="judge").set_value("human").run()
    no_exception(at)
    rows = board(at)
    assert all(r["rank"] is None or r["rank"] != r["rank"] for r in rows.values())  # no human ratings
    assert "No ratings are stored for the human judge" in texts(at.caption)
    at.selectbox(key="judge").set_value("vlm").run()
    assert list(board(at)) == ["alpha", "gamma", "beta"]
    at.selectbox(key="campaign").set_value(seeded["campaign"]).run()
    no_exception(at)
    assert "--campaign seeded" in texts(at.caption)  # no ratings fitted to the campaign yet
    assert {r["episodes"] for r in board(at).values()} == {24}


def test_an_empty_store_gets_a_helpful_page_on_every_page(empty, app):
    at = app()
    at.run()
    no_exception(at)
    assert "holds no episodes yet" in texts(at.info)
    assert "twinarena evaluate" in texts(at.markdown)
    for page, words in (
        ("policy", "holds no episodes yet"),
        ("twins", "holds no twins yet"),
        ("submit", "No twins in the store yet"),
    ):
        at.switch_page(f"views/{page}.py").run()
        no_exception(at)
        assert words in texts(at.info), page
    at.switch_page("views/vote.py").run()
    no_exception(at)
    at.text_input[0].input("ann")
    button(at, "Log in").click().run()
    no_exception(at)
    assert "no more known-answer pairs" in texts(at.info)


def test_an_unreachable_store_is_one_error_not_a_traceback(tmp_path, monkeypatch, app):
    monkeypatch.setenv("TWINARENA_DB", "mysql://nobody@127.0.0.1/none")
    at = app()
    at.run()
    no_exception(at)
    assert "cannot be opened" in texts(at.error) and "not supported" in texts(at.error)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_default_scope_is_the_clis_said_on_the_page_and_in_the_url(seeded, app):
    """The page opens where `twinarena leaderboard` does: the newest campaign, unperturbed."""
    at = app()
    at.run()
    no_exception(at)
    assert f"Scope: campaign `{seeded['campaign']}` · unperturbed episodes only" in texts(at.info)
    assert dict(at.query_params) == {
        "judge": "state",
        "campaign": seeded["campaign"],
        "twin": "all",
        "task": "all",
        "axis": "none",
    }
    with open_store(seeded["url"], seeded["artefacts"]) as store:
        cli = {r.policy: r for r in store.leaderboard("state", seeded["campaign"], axis="none")}
    for name, row in board(at).items():
        assert row["success rate"] == pytest.approx(100 * cli[name].score) and row["episodes"] == cli[name].n
    assert {r["episodes"] for r in board(at).values()} == {8}
    at.selectbox(key="axis").set_value("(all)").run()
    at.selectbox(key="campaign").set_value("(all)").run()
    assert "Scope: all campaigns, pooled · all perturbations, pooled" in texts(at.info)
    assert at.query_params["axis"] == "all" and at.query_params["campaign"] == "all"
    assert {r["episodes"] for r in board(at).values()} == {24}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_url_opens_the_scope_it_names(seeded, app):
    at = app()
    at.query_params.update({"campaign": seeded["campaign"], "axis": "none", "judge": "vlm"})
    at.run()
    no_exception(at)
    assert (
        at.selectbox(key="campaign").value == seeded["campaign"] and at.selectbox(key="judge").value == "vlm"
    )
    assert f"campaign `{seeded['campaign']}`" in texts(at.info) and "unperturbed" in texts(at.info)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("param", "value"), [("campaign", "nope"), ("judge", "oracle"), ("axis", "wind")])
def test_an_unknown_value_in_the_url_is_named_not_replaced(seeded, app, param, value):
    at = app()
    at.query_params[param] = value
    at.run()
    no_exception(at)
    assert f"There is no {'perturbation axis' if param == 'axis' else param} {value} in" in texts(at.error)
    assert not at.dataframe  # no leaderboard of some other scope


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_chart_of_ratings_and_success_rates_with_their_intervals(seeded, app):
    import json

    at = app()
    at.query_params.update(POOLED)
    at.run()
    charts = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    assert len(charts) == 2
    marks = [[layer["mark"]["type"] for layer in chart["layer"]] for chart in charts]
    assert marks == [["bar", "errorbar"], ["bar", "errorbar"]]
    ratings, success = (chart_values(at, k) for k in range(2))
    assert ratings["policy"] == ["alpha", "gamma", "beta"]
    assert all(
        lo <= r <= hi for lo, r, hi in zip(ratings["low"], ratings["rating"], ratings["high"], strict=True)
    )
    assert success["success rate"][0] == 100.0 and success["low"][0] == pytest.approx(86, abs=0.5)


def chart_values(at, k: int) -> dict:
    """The rows chart ``k`` was given (Arrow IPC in its message), as columns."""
    import pyarrow as pa

    chart = at.get("vega_lite_chart")[k]
    data = chart.proto.data.data or chart.proto.datasets[0].data.data
    return pa.ipc.open_stream(data).read_all().to_pydict()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_without_a_second_judge_the_agreement_section_says_why(seeded, app):
    from sqlalchemy import delete

    from benchmark.store.models import Judgment, Rating

    with open_store(seeded["url"], seeded["artefacts"]) as store, store.session() as session:
        session.execute(delete(Judgment).where(Judgment.judge == "vlm"))
        session.execute(delete(Rating).where(Rating.judge == "vlm"))
    at = app()
    at.query_params.update(POOLED)
    at.run()
    no_exception(at)
    assert len(at.dataframe) == 1  # the leaderboard, no empty agreement table
    assert "No VLM or human judgments are stored" in texts(at.info)
    assert "twinarena judge --vlm" in texts(at.code)
