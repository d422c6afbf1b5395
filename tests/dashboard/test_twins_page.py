"""The twins gallery: a reconstructed twin's real frame beside its render, an authored twin said
to have none, fidelity figures and cameras."""

from __future__ import annotations

import pytest
from helpers import no_exception, texts

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def test_each_twin_with_its_pictures_and_fidelity(seeded, app):
    at = app()
    at.run()
    at.switch_page("views/twins.py").run()
    no_exception(at)
    assert [s.value for s in at.subheader] == sorted(seeded["twins"])
    images = at.get("image")
    assert len(images) == 4  # real | render | difference, and the authored twin's render
    assert "No real frame: this twin was authored" in texts(at.info)
    fidelity = at.dataframe[0].value.to_dict("records")
    assert {"metric": "psnr_db", "value": "31.6"} in fidelity
    assert {"metric": "ground_truth.max_position_error_m", "value": "0.0007"} in fidelity
    assert "calibrated cameras: front" in texts(at.caption)
