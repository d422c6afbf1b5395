"""The demo's stress stage, shrunk (one seed, one level per axis): a real campaign with a composed
cell in a packaged reference scene, then a report per baseline policy whose PDF pages render."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmark import demo
from benchmark.report.paths import report_slug


@pytest.mark.slow
def test_the_demo_writes_a_report_for_each_baseline(tmp_path, monkeypatch):
    from benchmark.scenes.authored import reference_twin

    monkeypatch.setattr(demo, "STRESS_SWEEPS", ("object_placement=1", "camera_pose=1"))
    monkeypatch.setattr(demo, "DEMO_SEEDS", 1)
    (tmp_path / "store").mkdir()
    stress = demo._stress_reports(tmp_path, reference_twin("block_push"), None)
    campaign = stress["campaign"]
    assert campaign["errors"] == [] and campaign["jobs"] == 3 * 4  # none, two axes, their composition
    assert sorted(stress["reports"]) == sorted(demo.DEMO_POLICIES)
    assert stress["folder"] == str(tmp_path / "store" / "artefacts" / "reports")
    for policy, paths in stress["reports"].items():
        assert Path(paths["html"]).parent == Path(stress["folder"]) / report_slug(
            policy
        )  # the dashboard's link
        data = json.loads(Path(paths["json"]).read_text())
        main = data["main"]
        assert data["policy"] == policy and main["episodes"] == 4
        assert sorted(c["axis"] for c in main["axes"]["curves"]) == ["camera_pose", "object_placement"]
        assert all(c["single_level"] for c in main["axes"]["curves"])  # one level each here: said so
        assert [p["axis"] for p in main["interactions"]["pairs"]] == ["camera_pose+object_placement"]
        assert main["summary"]["rating"]["source"] == "stored"
        html = Path(paths["html"]).read_text()
        assert html.count('<img class="plot"') == 4  # overview, two curves, interactions
        _render_pages(paths["pdf"])


def _render_pages(path) -> None:
    import numpy as np
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(path)
    assert len(document) >= 2
    for page in document:
        image = np.asarray(page.render(scale=0.5).to_pil().convert("L"))
        assert image.min() < 100 and image.mean() > 150  # ink on a white page
