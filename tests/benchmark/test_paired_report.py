"""Two policies paired on the same scenarios: the store's count (benchmark.store.paired), the
report's paired section and its words for intervals against a line, ``twinarena report --vs`` and
``twinarena plan`` as a user runs them, and the failure gallery's frame size."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from benchmark.errors import StoreError
from benchmark.report.document import lookup
from benchmark.report.write import write_report
from benchmark.store.paired import PairedCell, paired_cells, paired_comparison

SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

SEEDS = 10
OUTCOMES = {  # policy: (axis, level) -> success per seed
    "alpha": {("none", 0.0): [1] * 10, ("object_yaw", 1.0): [1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0]},  # + seed 10
    "beta": {("none", 0.0): [0] * 10, ("object_yaw", 1.0): [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]},
}
# alpha against beta on the scenarios both played: (both, only_a, only_b, neither)
NONE_TABLE, YAW_TABLE = (0, 10, 0, 0), (3, 2, 1, 4)


@pytest.fixture
def paired_store(store):
    """alpha and beta in one twin, OUTCOMES over the same scenarios (alpha also plays object_yaw seed
    10, which beta does not); ``idle`` has no episodes; campaign ``half`` holds both policies'
    unperturbed jobs at seeds 0-4."""
    from benchmark.judges.state import judge_state
    from benchmark.policies.protocol import PolicyInfo
    from benchmark.store import campaigns as rows
    from benchmark.store.policies import add_policy

    with store.session() as session:
        twin = rows.add_twin(session, "t" * 64, "bench_twin", "pick", "/src", "s" * 64, "ab/cd", {})
        ids = {name: add_policy(session, PolicyInfo(name)).id for name in (*OUTCOMES, "idle")}
        scenarios = [
            {"key": f"{axis}-{level}-{seed}", "twin_id": twin.id, "task": "pick", "axis": axis,
             "level": level, "perturbations": [], "seed": seed, "config": {}}
            for axis, level in OUTCOMES["alpha"] for seed in range(SEEDS + 1)
        ]  # fmt: skip
        scenario_ids = rows.add_scenarios(session, scenarios)
        for name, by_cell in OUTCOMES.items():
            for (axis, level), successes in by_cell.items():
                for seed, success in enumerate(successes):
                    outcome = {"success": bool(success), "progress": 1.0 if success else 0.2,
                               "steps": 10, "termination": "success" if success else "timeout"}  # fmt: skip
                    key = f"{axis}-{level}-{seed}"
                    rows.add_episode(
                        session, ids[name], scenario_ids[key], outcome, "e" * 64, f"ep/{name}{key}", [],
                        judgment=judge_state(outcome),
                    )  # fmt: skip
        campaign = rows.add_campaign(session, "k" * 64, "half", {})
        jobs = [(ids[p], scenario_ids[f"none-0.0-{s}"]) for p in OUTCOMES for s in range(5)]
        rows.add_jobs(session, campaign.id, jobs)
    return store


@SQLITE
def test_paired_cells_count_the_scenarios_both_played(paired_store):
    with paired_store.session() as session:
        cells = paired_cells(session, "alpha", "beta")
        mirrored = paired_cells(session, "beta", "alpha")
        in_half = paired_cells(session, "alpha", "beta", paired_store.resolve_campaign("half"))
        assert paired_cells(session, "alpha", "idle") == []
    assert cells == [
        PairedCell("bench_twin", "pick", "none", 0.0, *NONE_TABLE),
        PairedCell("bench_twin", "pick", "object_yaw", 1.0, *YAW_TABLE),  # seed 10: alpha alone, unpaired
    ]
    assert [(c.both, c.only_a, c.only_b, c.neither) for c in mirrored] == [(0, 0, 10, 0), (3, 1, 2, 4)]
    assert in_half == [PairedCell("bench_twin", "pick", "none", 0.0, 0, 5, 0, 0)]


@SQLITE
def test_paired_comparison_per_cell_and_overall(paired_store):
    table = paired_comparison(paired_store, "alpha", "beta")
    none, yaw = table.cells
    assert none.comparison.verdict == "better" and none.comparison.p_value == pytest.approx(2 / 2**10)
    assert yaw.comparison.pairs == 10 and yaw.comparison.success_a == 0.5 and yaw.comparison.success_b == 0.4
    assert yaw.comparison.reason == "inconclusive: the interval crosses 0"
    overall = table.overall.comparison
    assert (overall.both, overall.only_a, overall.only_b, overall.neither) == (3, 12, 1, 4)
    assert overall.p_value == pytest.approx(2 * (1 + 13) / 2**13) and overall.verdict == "better"
    assert table.overall.as_dict()["axis"] is None
    with pytest.raises(StoreError, match="'alpha' against itself"):
        paired_comparison(paired_store, "alpha", "alpha")
    with pytest.raises(StoreError, match=r"unknown policy 'nope'.*alpha, beta, idle"):
        paired_comparison(paired_store, "alpha", "nope")
    with pytest.raises(StoreError, match="unknown campaign"):
        paired_comparison(paired_store, "alpha", "beta", "nope")


def _numbers(html: str) -> list[tuple[str, str, str]]:
    return re.findall(r'<span class="num" data-path="([^"]+)" data-value="([^"]*)">([^<]*)</span>', html)


@SQLITE
def test_the_report_pairs_the_two_policies_and_says_inconclusive_in_words(paired_store, tmp_path):
    import html as html_module

    import pypdfium2 as pdfium

    paths = write_report(paired_store, "alpha", vs="beta", out=tmp_path / "r", gallery=0)
    data = json.loads(paths["json"].read_text())
    paired = data["paired"]
    assert paired["policies"] == ["alpha", "beta"] and paired["notes"] == []
    rows = {(c["axis"], c["level"]): c for c in paired["cells"]}
    assert [rows[("none", 0.0)][k] for k in ("both", "only_a", "only_b", "neither")] == list(NONE_TABLE)
    assert rows[("object_yaw", 1.0)]["reason"] == "inconclusive: the interval crosses 0"
    assert paired["overall"]["pairs"] == 20 and paired["overall"]["verdict"] == "better"
    # the side-by-side section (each policy's own episodes): 5/11 against 4/10 is inconclusive
    side = {(c["axis"], c["level"]): c for c in data["comparison"]["cells"]}
    assert side[("object_yaw", 1.0)]["verdict"] == "inconclusive: the interval crosses 0"
    assert not side[("object_yaw", 1.0)]["differs"] and side[("none", 0.0)]["verdict"] == "A higher"
    # the axis against level 0: 5/11 against 10/10 is lower, with its interval
    (curve,) = data["main"]["axes"]["curves"]
    top = curve["levels"][-1]
    assert top["change_verdict"] == "lower" and top["change_ci_high"] < 0 < curve["sensitivity_ci_low"]
    assert curve["sensitivity_verdict"] == "a drop"
    html = html_module.unescape(paths["html"].read_text())
    assert 'id="paired"' in html and "8. Paired on the same scenarios" in html
    assert html.count("inconclusive: the interval crosses 0") >= 2
    numbers = _numbers(paths["html"].read_text())
    assert any(path.startswith("paired.cells.") for path, _, _ in numbers)
    for path, value, _ in numbers:
        assert json.loads(html_module.unescape(value)) == lookup(data, path), path
    pages = pdfium.PdfDocument(str(paths["pdf"]))
    text = " ".join(" ".join(page.get_textpage().get_text_range() for page in pages).split())  # cells wrap
    pages.close()
    assert "8. Paired on the same scenarios" in text and "inconclusive: the interval crosses 0" in text


@SQLITE
def test_a_report_on_policies_without_shared_scenarios_says_so(paired_store, tmp_path):
    paths = write_report(paired_store, "alpha", vs="idle", out=tmp_path / "r", gallery=0)
    paired = json.loads(paths["json"].read_text())["paired"]
    assert paired["cells"] == [] and paired["overall"]["pairs"] == 0
    assert "share no scenario" in paired["notes"][0]


def _cli(*args):
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "benchmark.cli", *args], capture_output=True, text=True, env=env
    )


@SQLITE
def test_report_vs_an_unknown_policy_is_one_line_and_exit_2(paired_store, db_url, tmp_path):
    out = _cli("report", "--policy", "alpha", "--vs", "nope", "--db", db_url, "-o", str(tmp_path / "x"))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip().count("\n") == 0 and "unknown policy 'nope'" in out.stderr
    assert not (tmp_path / "x").exists()


def test_plan_prints_the_size_and_its_assumption():
    out = _cli("plan", "--detect", "0.1", "--base", "0.5")
    assert out.returncode == 0, out.stderr
    assert "scenarios per policy: 662 (paired" in out.stdout and "independent given their rates" in out.stdout
    planned = json.loads(_cli("plan", "--detect", "0.1", "--unpaired", "--json").stdout)
    assert planned["scenarios"] == 636 and not planned["paired"] and planned["achieved"] >= 0.95
    bad = _cli("plan", "--detect", "0.7")
    assert (
        bad.returncode == 2
        and bad.stderr.strip() == "error: --detect 0.7 around --base 0.5: base ± detect leaves [0, 1]"
    )


@pytest.mark.parametrize(("size", "frame"), [((48, 32), (320, 213)), ((640, 480), (480, 360))])
def test_gallery_frames_are_large_enough_to_see_the_failure(tmp_path, size, frame):
    from PIL import Image

    from benchmark.report.gallery import KEYFRAMES, keyframe_strip
    from twin.video import write_mp4

    width, height = size
    frames = np.zeros((5, height, width, 3), np.uint8)
    frames[:, :, :, 1] = np.arange(5)[:, None, None] * 50
    write_mp4(tmp_path / "front.mp4", frames, 10)
    jpeg, picks, count = keyframe_strip(tmp_path / "front.mp4")
    with Image.open(io.BytesIO(jpeg)) as image:
        assert image.size == (KEYFRAMES * frame[0], frame[1])
    assert picks == [0, 2, 4] and count == 5
    assert len(jpeg) < 200_000  # a sane size for a report holding a few dozen of them
