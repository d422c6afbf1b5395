"""The twins gallery: a reconstructed twin's real frame beside its render, an authored twin said
to have none, fidelity figures and cameras."""

from __future__ import annotations

import pytest
from helpers import no_exception, point_dashboard_at, texts


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_each_twin_with_its_pictures_and_fidelity(seeded, app):
    at = app()
    at.run()
    at.switch_page("views/twins.py").run()
    no_exception(at)
    assert [s.value for s in at.subheader] == sorted(seeded["twins"])
    images = at.get("image")
    assert len(images) == 4  # real | render | difference, and the authored twin's render
    assert "No real frame: this twin was authored" in texts(at.info)
    listed = at.dataframe[0].value.to_dict("records")
    assert [row["twin"] for row in listed] == sorted(seeded["twins"])  # every stored twin
    assert "2 twins in the store." in texts(at.caption)
    fidelity = at.dataframe[1].value.to_dict("records")  # readable names with units (were raw keys)
    assert {"metric": "PSNR of held-out frames (dB)", "value": "31.6"} in fidelity
    assert {"metric": "largest object position error (mm)", "value": "0.7"} in fidelity
    assert {"metric": "mean depth error (mm)", "value": "11.0"} in fidelity
    assert not any("_" in row["metric"] for row in fidelity)
    assert "calibrated cameras: front" in texts(at.caption)


def test_one_twin_is_one_twin(twin_folders, tmp_path, monkeypatch, app):
    from benchmark.store import open_store

    url = f"sqlite:///{tmp_path / 'one.db'}"
    with open_store(url, tmp_path / "artefacts") as store:
        store.add_twin(twin_folders[0])
    point_dashboard_at(monkeypatch, url, tmp_path / "artefacts")
    at = app()
    at.run()
    at.switch_page("views/twins.py").run()
    no_exception(at)
    assert "1 twin in the store." in texts(at.caption)
    assert len(at.dataframe[0].value) == 1
