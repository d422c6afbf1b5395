"""One number format on every page: rates as whole percents with a space ("57 %") in tables,
metrics and text, empty cells as "—" (never "None"), success bars coloured by value."""

from __future__ import annotations

import json
import re

import pytest
from helpers import no_exception

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
OTHER_PERCENT = re.compile(r"\d%|\d+\.\d+ ?%")  # "50%", "57.14%", "57.1 %"


def pages(app):
    """The leaderboard, a policy page and the twins page, each as it first renders."""
    at = app()
    at.run()
    yield "leaderboard", at
    at.switch_page("views/policy.py").run()
    at.selectbox(key="policy").set_value("gamma").run()
    yield "policy", at
    at.switch_page("views/twins.py").run()
    yield "twins", at


def test_every_table_and_text_uses_one_format(seeded, app):
    tables = 0
    for page, at in pages(app):
        no_exception(at)
        for frame in at.dataframe:
            tables += 1
            assert frame.proto.placeholder == "—", page  # missing values read "—", not "None"
            for name, config in json.loads(frame.proto.columns).items():
                kind = config.get("type_config", {})
                assert kind.get("format") != "percent", (page, name)  # "33.33%"
                if kind.get("type") == "progress":
                    assert kind["format"] == "%.0f %%" and kind["max_value"] == 100, (page, name)
                    assert kind["color"] == "auto", (page, name)  # not red at every value
        text = "\n".join(
            str(e.value)
            for kind in ("markdown", "caption", "info", "metric", "subheader")
            for e in at.get(kind)
        )
        assert "None" not in text and "–%" not in text, page
        assert not OTHER_PERCENT.search(text), (page, OTHER_PERCENT.findall(text))
    assert tables >= 6
