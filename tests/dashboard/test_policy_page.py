"""A policy's page: robustness curves, worst scenarios, episodes with videos and failure reasons,
and the stress-test report (a download when it exists, the command that writes it when not)."""

from __future__ import annotations

import pytest
from helpers import contrast_with_white, no_exception, texts

from benchmark.store import open_store

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def policy_page(app, name: str):
    at = app()
    at.run()
    at.switch_page("views/policy.py").run()
    at.selectbox(key="policy").set_value(name).run()
    no_exception(at)
    return at


def policy_page_from_url(app, value: str):
    """The policy page opened from an address with ``?policy=value``."""
    at = app()
    at.query_params["policy"] = value
    at.run()
    at.switch_page("views/policy.py").run()
    no_exception(at)
    return at


def chart_data(chart) -> dict:
    """The rows a chart was given (Arrow IPC in its message), as columns."""
    import pyarrow as pa

    return pa.ipc.open_stream(chart.proto.data.data).read_all().to_pydict()


def test_curves_worst_scenarios_and_failure_reasons(seeded, app):
    at = policy_page(app, "gamma")
    assert len(at.get("vega_lite_chart")) == 1
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Success rate"] == "33 %" and metrics["Episodes"] == "24"
    worst = at.dataframe[0].value.to_dict("records")
    assert worst[0]["perturbation"] == "object_yaw=1" and worst[0]["success rate"] == 0.0
    assert worst[0]["episodes"] == 4
    assert "policy_error 16, success 8" in texts(at.caption)
    episodes = at.dataframe[1].value
    assert len(episodes) == 24
    failed = episodes[episodes["ended by"] == "policy_error"]
    assert set(failed["failure reason"]) == {"RuntimeError: gripper command out of range"}
    at.selectbox(key="ep_termination").set_value("policy_error").run()
    assert set(at.dataframe[1].value["ended by"]) == {"policy_error"}
    assert len(at.get("video")) == 1  # the chosen episode's one camera
    assert "Why it ended" in texts(at.markdown)


def test_curves_follow_the_twin_filter(seeded, app):
    at = policy_page(app, "gamma")
    at.selectbox(key="curve_twin").set_value(seeded["twins"][0]).run()
    no_exception(at)
    points = chart_data(at.get("vega_lite_chart")[0])
    assert set(points["episodes"]) == {4}  # one twin: 4 seeds per level
    assert points["level"] == [0.0, 0.5, 1.0] and points["successes"] == [2, 2, 0]


def test_the_report_link(seeded, app):
    at = policy_page(app, "alpha")
    assert "twinarena report --policy alpha" in texts(at.code)
    assert not at.get("download_button")
    from benchmark.report.paths import default_report_dir

    with open_store(seeded["url"], seeded["artefacts"]) as store:
        folder = default_report_dir(store, "alpha")
    folder.mkdir(parents=True)
    (folder / "report.html").write_text("<html>alpha</html>")
    at = policy_page(app, "alpha")
    assert len(at.get("download_button")) == 1
    (folder / "report.pdf").write_bytes(b"%PDF-1.4 alpha")
    at = policy_page(app, "alpha")
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Download the report (PDF)", "Download the report (HTML)"]
    shown = texts([*at.markdown, *at.caption, *at.code, *at.info])
    assert str(seeded["artefacts"]) not in shown and "report.html" not in shown  # no server path


def test_an_unknown_policy_in_the_url_is_named_not_another_policys_page(seeded, app):
    at = policy_page_from_url(app, "unknown")
    assert "There is no policy unknown in the store" in texts(at.error)
    assert not at.metric and not at.dataframe and not at.get("vega_lite_chart")


def test_the_episode_video_keeps_a_sensible_width(seeded, app):
    at = policy_page(app, "alpha")
    (video,) = at.get("video")
    assert 224 <= video.proto.width_config.pixel_width <= 448  # not stretched across the page
    assert not video.proto.width_config.use_stretch


def test_the_robustness_curves_have_visible_colours(seeded, app):
    import json

    at = policy_page(app, "gamma")
    spec = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    colour = spec["layer"][0]["encoding"]["color"]
    assert colour["scale"]["domain"] == ["object_yaw"]
    assert all(contrast_with_white(c) >= 3 for c in colour["scale"]["range"])


def test_a_policy_link_opens_its_page(seeded, app):
    at = policy_page_from_url(app, "beta")
    assert at.selectbox(key="policy").value == "beta"


def compare_table(at):
    """The paired comparison's table (the one with a McNemar column), as records."""
    (frame,) = [f for f in at.dataframe if "McNemar p" in f.value.columns]
    return frame.value.to_dict("records")


def test_compare_with_another_policy_pairs_their_scenarios(seeded, app):
    at = policy_page(app, "alpha")
    assert not [f for f in at.dataframe if "McNemar p" in f.value.columns]  # nothing chosen yet
    assert (
        "gamma" in at.selectbox(key="compare_with").options
        and "alpha" not in at.selectbox(key="compare_with").options
    )
    at.selectbox(key="compare_with").set_value("gamma").run()
    no_exception(at)
    rows = compare_table(at)
    overall = rows[0]
    # 24 shared scenarios (2 twins x 3 cells x 4 seeds): alpha solves all, gamma 8
    assert overall["perturbation"] == "" and overall["twin"] == "all cells" and overall["pairs"] == 24
    assert overall["alpha success"] == "100 %" and overall["gamma success"] == "33 %"
    assert overall["difference"] == "+67 %" and overall["McNemar p"] == "< 0.001"
    assert overall["verdict"] == "better: the whole interval lies above 0"
    cells = rows[1:]
    assert len(cells) == 6 and {r["pairs"] for r in cells} == {4}
    assert all(r["verdict"].startswith("inconclusive") for r in cells)  # four pairs decide nothing
    unperturbed = next(r for r in cells if r["perturbation"] == "unperturbed")
    assert unperturbed["gamma success"] == "50 %" and unperturbed["McNemar p"] == "0.500"
    assert "inconclusive" in texts(at.caption)


def test_compare_the_other_way_round_reads_worse(seeded, app):
    at = policy_page(app, "gamma")
    at.selectbox(key="compare_with").set_value("alpha").run()
    no_exception(at)
    overall = compare_table(at)[0]
    assert overall["difference"] == "-67 %" and overall["verdict"] == "worse: the whole interval lies below 0"


def test_names_and_reasons_are_shown_as_written_never_as_markdown(seeded, app):
    """A submitter's name or failure reason cannot put a link, an image or emphasis on the page."""
    import markdown_it

    from benchmark.policies.protocol import PolicyInfo

    name = "[click me](http://evil.example)"
    reason = "![tracker](http://track.example/p.png) **loud** :red[alarm] <img src=x>"
    with open_store(seeded["url"], seeded["artefacts"]) as store:
        store.add_policy(PolicyInfo(name))
        with store.session() as session:
            from benchmark.store.policies import mark_policy_failed

            mark_policy_failed(session, name, reason)
    at = policy_page(app, name)
    no_exception(at)
    shown = [*at.error, *at.info, *at.markdown, *at.caption, *at.warning]
    assert any("click me" in str(e.value) for e in at.error) and any(
        "tracker" in str(e.value) for e in at.error
    )
    rendered = markdown_it.MarkdownIt().render("\n\n".join(str(e.value) for e in shown))
    assert "<a " not in rendered and "<img" not in rendered and "<strong>loud" not in rendered
    assert "[click me](http://evil.example)" in rendered  # the name as written
