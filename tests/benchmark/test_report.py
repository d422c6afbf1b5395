"""``twinarena report`` on a small store built without simulating: known outcomes in one twin,
episode folders holding tiny MP4s written by PyAV. The report's numbers are checked against the
store's queries and the known outcomes, the HTML against the JSON, the PDF's images and text."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from html.parser import HTMLParser

import numpy as np
import pytest

from benchmark.judges.state import judge_state
from benchmark.policies.protocol import PolicyInfo
from benchmark.report.build import SECTIONS, ReportError, build_report
from benchmark.report.document import fmt, lookup
from benchmark.report.paths import REPORT_FILES, default_report_dir
from benchmark.report.write import write_report
from benchmark.store.queries import mean_interval, wilson_interval

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

COMPOSED = "camera_pose+object_yaw"
OUTCOMES = {  # policy: (axis, level) -> success per seed
    "alpha": {
        ("none", 0.0): [1, 1, 1, 1],
        ("object_yaw", 0.5): [1, 1, 1, 0],
        ("object_yaw", 1.0): [1, 0, 0, 0],
        ("camera_pose", 1.0): [1, 1, 0, 0],  # one level only
        (COMPOSED, 1.0): [0, 0, 0, 0],
    },
    "beta": {("none", 0.0): [0, 0, 0, 0], ("object_yaw", 1.0): [0, 0, 1, 0]},
}
FIDELITY = {"psnr_db": 30.5, "ssim": 0.91, "depth_error_m": 0.012, "splats": {"count": 1234},
            "ground_truth": {"max_position_error_m": 0.002, "max_size_error": 0.05}}  # fmt: skip


def _progress(success: int, seed: int) -> float:
    return 1.0 if success else 0.1 * (seed + 1)


def _termination(success: int, seed: int) -> str:
    return "success" if success else ("timeout" if seed % 2 == 0 else "policy_error")


def _episode_folder(root, seed: int, video: bool):
    from twin.video import write_mp4

    root.mkdir(parents=True)
    (root / "episode.json").write_text(json.dumps({"seed": seed}))
    if video:
        frames = np.zeros((7, 32, 48, 3), np.uint8)
        frames[:, :, :, 0] = np.arange(7)[:, None, None] * 30 + seed
        write_mp4(root / "front.mp4", frames, 10)


@pytest.fixture
def report_store(store, tmp_path):
    """alpha and beta with OUTCOMES in one twin, ``idle`` registered with no episodes."""
    from benchmark.store import campaigns as rows

    twin_dir = tmp_path / "twin"
    twin_dir.mkdir()
    (twin_dir / "fidelity.json").write_text(json.dumps(FIDELITY))
    sha, rel = store.put_artefact(twin_dir)
    with store.session() as session:
        twin = rows.add_twin(session, "t" * 64, "bench_twin", "pick", "/src", sha, rel, {})
    ids = {name: store.add_policy(PolicyInfo(name=name, kind="builtin")).id for name in (*OUTCOMES, "idle")}
    cells = {cell for by_cell in OUTCOMES.values() for cell in by_cell}
    scenarios = [
        {"key": f"{axis}-{level}-{seed}", "twin_id": twin.id, "task": "pick", "axis": axis, "level": level,
         "perturbations": [], "seed": seed, "config": {}}
        for axis, level in cells for seed in range(4)
    ]  # fmt: skip
    with store.session() as session:
        scenario_ids = rows.add_scenarios(session, scenarios)
    for name, by_cell in OUTCOMES.items():
        for (axis, level), successes in by_cell.items():
            for seed, success in enumerate(successes):
                termination = _termination(success, seed)
                folder = tmp_path / "episodes" / f"{name}-{axis}-{level}-{seed}"
                _episode_folder(folder, seed, video=termination != "policy_error" or seed == 1)
                outcome = {"success": bool(success), "progress": _progress(success, seed),
                           "steps": 10 + seed, "termination": termination}  # fmt: skip
                store.add_episode(
                    ids[name],
                    scenario_ids[f"{axis}-{level}-{seed}"],
                    outcome,
                    folder,
                    judgment=judge_state(outcome),
                )
    return store


def test_numbers_equal_the_store_queries_and_the_known_outcomes(report_store):
    data = build_report(report_store, "alpha").data
    main = data["main"]
    assert data["format"] == "twinarena-report/1" and set(SECTIONS) <= set(main)
    rows = {(r.axis, r.level): r for r in report_store.robustness(policy="alpha")}
    curves = {c["axis"]: c for c in main["axes"]["curves"]}
    assert set(curves) == {"object_yaw", "camera_pose"}  # the composed cell is an interaction, not an axis
    for axis, curve in curves.items():
        for point in curve["levels"]:
            cell = ("none", 0.0) if point["level"] == 0 else (axis, point["level"])
            row, seeds = rows[cell], OUTCOMES["alpha"][cell]
            assert point["episodes"] == row.episodes == len(seeds)
            assert point["success"] == pytest.approx(row.success_rate) and point["successes"] == sum(seeds)
            assert point["progress"] == pytest.approx(row.mean_progress)
            assert (point["success_ci_low"], point["success_ci_high"]) == wilson_interval(
                sum(seeds), len(seeds)
            )
            progress = [_progress(s, k) for k, s in enumerate(seeds)]
            mean, mean_sq = np.mean(progress), np.mean(np.square(progress))
            low, high = mean_interval(mean, mean_sq, len(progress), bounds=(0.0, 1.0))
            assert point["progress_ci_low"] == pytest.approx(low)
            assert point["progress_ci_high"] == pytest.approx(high)
            assert high - low > 0  # a few equal outcomes are not certainty
    level0 = main["summary"]["level0"]
    assert level0["success"] == 1.0 and level0["episodes"] == 4
    # object_yaw: 1 -> 0.75 -> 0.25 over [0, 1]; camera_pose: 1 -> 0.5, one level
    yaw, pose = curves["object_yaw"], curves["camera_pose"]
    assert yaw["robustness_score"] == pytest.approx(0.5 * (1 + 0.75) / 2 + 0.5 * (0.75 + 0.25) / 2)
    assert pose["robustness_score"] == pytest.approx(0.75) and pose["single_level"]
    assert [c["axis"] for c in main["axes"]["curves"]] == ["object_yaw", "camera_pose"]  # 0.75 > 0.5 drop
    assert main["summary"]["robustness_score"] == pytest.approx((yaw["robustness_score"] + 0.75) / 2)
    board = {r.policy: r for r in report_store.leaderboard("state")}
    place = main["summary"]["leaderboard"]
    assert place["rank"] == board["alpha"].rank and place["score"] == board["alpha"].score
    assert (place["ci_low"], place["ci_high"], place["n"]) == (
        board["alpha"].ci_low,
        board["alpha"].ci_high,
        20,
    )
    # interactions: composed 0/4 against 1 * 0.25 * 0.5 predicted
    (pair,) = main["interactions"]["pairs"]
    row = pair["levels"][0]
    assert pair["axis"] == COMPOSED and row["predicted"] == pytest.approx(0.125)
    assert row["interaction"] == pytest.approx(-0.125) and row["composed"]["episodes"] == 4
    assert not row["beyond_ci"] and row["verdict"] == "inconclusive: the interval crosses the prediction"
    # failures grouped by reason, with the counts the store holds
    terminations = dict(report_store.terminations(policy="alpha"))
    groups = {g["termination"]: g for g in main["failures"]["groups"]}
    assert set(groups) == {"timeout", "policy_error"}
    assert sum(g["episodes"] for g in groups.values()) == main["failures"]["failed_episodes"] == 10
    assert groups["timeout"]["episodes"] == terminations["timeout"] == 4  # failures at even seeds
    assert groups["policy_error"]["episodes"] == terminations["policy_error"] == 6
    assert all(len(g["shown"]) <= 3 for g in groups.values())
    shown = [e for g in groups.values() for e in g["shown"]]
    assert any(e["image"] and e["frames"] == [0, 3, 6] and e["frame_count"] == 7 for e in shown)
    assert any(e["note"] == "no video recorded" for e in shown)  # policy errors at even seeds: no video
    (twin,) = main["twins"]["twins"]
    assert twin["fidelity"]["psnr_db"] == 30.5 and twin["fidelity"]["splats"] == 1234
    assert twin["episodes"] == 20 and twin["successes"] == 10
    assert "no validity study for this twin" in twin["notes"]


def test_rating_is_read_from_the_store_when_stored(report_store):
    from benchmark.judges.standings import fit_and_store

    fitted = build_report(report_store, "alpha").data["main"]["summary"]["rating"]
    assert (
        fitted["source"].startswith("fitted") and fitted["rank_low"] <= fitted["rank"] <= fitted["rank_high"]
    )
    fit_and_store(report_store, "state")
    rating = build_report(report_store, "alpha").data["main"]["summary"]["rating"]
    (stored,) = [r for r in report_store.ratings("state") if r.policy == "alpha"]
    assert rating["source"] == "stored" and rating["rating"] == stored.rating
    assert (rating["rank_low"], rating["rank_high"]) == (stored.rank_low, stored.rank_high)


def test_judge_agreement_state_against_vlm(report_store):
    from benchmark.store.models import Judgment

    episodes = report_store.episodes(limit=100)
    vlm = {e.id: 90.0 if e.success else 20.0 + e.seed for e in episodes}
    with report_store.session() as session:
        session.add_all(
            Judgment(episode_id=k, judge="vlm", model="m", score=v, detail={}) for k, v in vlm.items()
        )
    judges = build_report(report_store, "alpha").data["main"]["judges"]
    (pairing,) = judges["state_vs_vlm"]
    state = {e.id: 100 * e.progress for e in episodes if e.policy == "alpha"}
    keys = sorted(state)
    assert pairing["episodes"] == 20 and pairing["model"] == "m"
    assert pairing["pearson"] == pytest.approx(
        np.corrcoef([state[k] for k in keys], [vlm[k] for k in keys])[0, 1]
    )
    assert pairing["vlm_on_successes"] == pytest.approx(90.0)
    boards = {b["judge"]: b for b in judges["leaderboards"]}
    assert boards["vlm"]["has_data"] and not boards["human"]["has_data"]
    heads = {h["judge"]: h for h in judges["head_to_head"]}
    (beta,) = heads["state"]["opponents"]  # alpha and beta share the none and object_yaw=1 scenarios
    assert beta["opponent"] == "beta" and beta["n"] == 8 and beta["wins"] + beta["ties"] + beta["losses"] == 8
    assert any("human: no comparisons" in n for n in judges["notes"])
    # state and VLM both compare alpha with beta in the 8 shared scenarios: do they agree?
    (vlm_beta,) = heads["vlm"]["opponents"]
    (entry,) = [a for a in judges["agreement"] if a["judges"] == ["state", "vlm"]]
    same = (beta["score"] > 0.5) == (vlm_beta["score"] > 0.5)
    assert entry["opponents"] == 1 and entry["same_verdict"] == float(same) and "kendall_tau_b" not in entry


class _Page(HTMLParser):
    """Collects the numbers (path, value, text), images and section ids of the report's HTML."""

    def __init__(self):
        super().__init__()
        self.numbers, self.images, self.ids, self.links, self._num = [], [], [], [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "span" and attrs.get("class") == "num":
            self._num = [attrs["data-path"], attrs["data-value"], ""]
        if tag == "img":
            self.images.append(attrs)
        for key in ("src", "href"):
            if key in attrs:
                self.links.append(attrs[key])

    def handle_data(self, data):
        if self._num is not None:
            self._num[2] += data

    def handle_endtag(self, tag):
        if tag == "span" and self._num is not None:
            self.numbers.append(tuple(self._num))
            self._num = None


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def _pdf(path):
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    document = pdfium.PdfDocument(str(path))
    images, text = 0, []
    for page in document:
        images += sum(1 for _ in page.get_objects(filter=(raw.FPDF_PAGEOBJ_IMAGE,)))
        text.append(page.get_textpage().get_text_range())
    return len(document), images, "\n".join(text)


def _check_files(paths, data):
    page = _parse(paths["html"].read_text())
    assert page.numbers, "the HTML shows no tagged numbers"
    for path, value, text in page.numbers:
        expected = lookup(data, path)
        assert json.loads(value) == expected, path
        assert text == fmt(expected, _style_of(text, expected)), (path, text)
    assert all(link.startswith(("data:", "#")) for link in page.links), "the HTML fetches something"
    plots = [i for i in page.images if i["class"] == "plot"]
    keyframes = [i for i in page.images if i["class"] == "keyframes"]
    assert len(plots) == sum(f["kind"] == "plot" for f in data["figures"])
    assert len(keyframes) == sum(f["kind"] == "keyframes" for f in data["figures"])
    pages, images, text = _pdf(paths["pdf"])
    assert pages >= 1 and images == len(data["figures"])
    return page, text


def _style_of(text: str, value) -> str:
    """The style that formats ``value`` as ``text`` (the report picks one per place)."""
    for style in ("rate", "int", "level", "signed", "rating", "score", "small", "p"):
        if fmt(value, style) == text:
            return style
    return "rate"


def test_html_pdf_and_json_hold_the_same_numbers(report_store, tmp_path):
    paths = write_report(report_store, "alpha", out=tmp_path / "out")
    assert sorted(p.name for p in paths.values()) == sorted(REPORT_FILES)
    data = json.loads(paths["json"].read_text())
    page, text = _check_files(paths, data)
    for section in (*SECTIONS, "definitions"):
        assert section in page.ids
    # overview + one curve per single axis + the interaction chart; keyframes per failed episode shown
    assert [f["id"] for f in data["figures"] if f["kind"] == "plot"] == [
        "overview", "curve-object_yaw", "curve-camera_pose", "interactions"
    ]  # fmt: skip
    shown = [e for g in data["main"]["failures"]["groups"] for e in g["shown"] if e["image"]]
    assert sum(f["kind"] == "keyframes" for f in data["figures"]) == len(shown) >= 2
    assert "one level only (1)" in page_text(paths["html"])
    for title in ("1. Summary", "2. Robustness per perturbation", "3. Interactions", "4. Failure gallery",
                  "5. Judge agreement", "6. Twins"):  # fmt: skip
        assert title in text
    level0 = data["main"]["summary"]["level0"]
    assert fmt(level0["success_ci_low"]) in text and fmt(data["main"]["summary"]["robustness_score"]) in text


def page_text(path) -> str:
    return path.read_text()


def test_a_policy_with_no_episodes_gets_a_report_that_says_so(report_store, tmp_path):
    paths = write_report(report_store, "idle", out=tmp_path / "idle")
    data = json.loads(paths["json"].read_text())
    summary = data["main"]["summary"]
    assert summary["episodes"] == 0 and summary["level0"] is None and summary["robustness_score"] is None
    assert data["figures"] == [] and summary["leaderboard"] is None
    html = paths["html"].read_text()
    assert "has no episodes in the store" in html and "<img" not in html
    _check_files(paths, data)


def test_vs_marks_cells_that_differ_beyond_their_intervals(report_store, tmp_path):
    default = default_report_dir(report_store, "alpha", "beta")
    paths = write_report(report_store, "alpha", vs="beta")
    assert paths["html"].parent == default
    data = json.loads(paths["json"].read_text())
    cells = {(c["axis"], c["level"]): c for c in data["comparison"]["cells"]}
    # level 0: 4/4 against 0/4, Wilson intervals 0.51–1 and 0–0.49: they differ
    assert cells[("none", 0.0)]["differs"] and cells[("none", 0.0)]["difference"] == 1.0
    assert not cells[("object_yaw", 1.0)]["differs"]  # 1/4 against 1/4
    assert cells[("object_yaw", 0.5)]["b"] is None  # beta never played it
    assert data["comparison"]["differing_cells"] == sum(c["differs"] for c in cells.values())
    page, _ = _check_files(paths, data)
    assert "comparison" in page.ids
    assert paths["html"].read_text().count('<tr class="marked">') >= data["comparison"]["differing_cells"]


def test_validity_rows_are_shown_when_the_store_has_a_study(report_store):
    (twin,) = build_report(report_store, "alpha").data["main"]["twins"]["twins"]
    assert twin["validity"] == [] and "no validity study for this twin" in twin["notes"]
    study = {"twin_hash": "t" * 64, "reference": "pick_scene", "pearson": 0.8, "pearson_ci": (0.6, 0.9),
             "mmrv": 0.05, "kendall": 0.6, "passed": True, "per_policy": [{}], "detail": {}}  # fmt: skip
    report_store.validity_results = lambda twin_hash=None: [study] if twin_hash == "t" * 64 else []
    report = build_report(report_store, "alpha")
    (twin,) = report.data["main"]["twins"]["twins"]
    assert twin["validity"][0]["pearson"] == 0.8 and twin["validity"][0]["pearson_ci"] == [0.6, 0.9]
    assert "no validity study for this twin" not in twin["notes"]
    from benchmark.report.html import render_html

    page = _parse(render_html(report.data, report.images))
    assert ("main.twins.twins.0.validity.0.pearson_ci.1", "0.9", "0.9000") in page.numbers


def test_unknown_policy_is_one_line_naming_it_and_the_known_ones(report_store, db_url, tmp_path):
    with pytest.raises(ReportError, match="unknown policy 'nope'.*alpha, beta, idle"):
        build_report(report_store, "nope")
    env = {**os.environ, "COLUMNS": "200"}
    out = subprocess.run(
        [sys.executable, "-m", "benchmark.cli", "report", "--policy", "nope", "--db", db_url,
         "-o", str(tmp_path / "x")],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "unknown policy 'nope'" in out.stderr and "alpha" in out.stderr
    assert not (tmp_path / "x").exists()
    ok = subprocess.run(
        [sys.executable, "-m", "benchmark.cli", "report", "--policy", "beta", "--db", db_url, "-o",
         str(tmp_path / "y"), "--json"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert (
        sorted(json.loads(ok.stdout)) == ["html", "json", "pdf"] and (tmp_path / "y" / "report.pdf").is_file()
    )
