"""Text from outside is text: names are plain printable text or refused; reasons are stored
without NUL or control characters and capped; the CLI prints markup-like names as written."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from benchmark.errors import SubmissionError
from benchmark.policies.protocol import PolicyInfo
from benchmark.text import MAX_NAME, MAX_REASON, clean_text, name_problem


def test_clean_text_drops_controls_and_overrides_and_caps_the_length():
    assert clean_text("a\x00b\x1b[31mc\u202ed\nline\ttab") == "ab[31mcd\nline\ttab"
    long = clean_text("x" * (MAX_REASON + 500))
    assert long.startswith("x" * MAX_REASON) and long.endswith("(500 more characters cut)")
    assert clean_text("vision-expert?noise=0.015") == "vision-expert?noise=0.015"


@pytest.mark.parametrize(
    "name",
    ["", "   ", "a\x00b", "two\nlines", "rtl\u202eoverride", "x" * (MAX_NAME + 1), " padded", 7],
)
def test_names_that_are_not_plain_text_are_refused(name):
    assert name_problem(name) is not None
    with pytest.raises(SubmissionError):
        PolicyInfo(name)


@pytest.mark.parametrize(
    "name", ["random", "vision-expert?noise=0.015", "closing[/]tag", "ünïcödé 策略", "a b"]
)
def test_plain_names_are_kept_as_written(name):
    assert name_problem(name) is None and PolicyInfo(name).name == name


def test_stored_reasons_are_clean_on_every_database(store):
    from benchmark.store.policies import add_policy, mark_policy_failed

    with store.session() as session:
        add_policy(session, PolicyInfo("broken"))
        record = mark_policy_failed(session, "broken", "token=\x00secret\x07 " + "y" * 5000)
    assert "\x00" not in record.reason and "\x07" not in record.reason
    assert len(record.reason) < MAX_REASON + 40
    with pytest.raises(ValueError, match="needs a reason"), store.session() as session:
        mark_policy_failed(session, "broken", "\x00\x01")


def test_the_cli_prints_a_markup_like_name_as_written(tmp_path):
    db = f"sqlite:///{tmp_path / 'store.db'}"
    code = (
        "import sys\nfrom benchmark.store import open_store\n"
        "from benchmark.policies.protocol import PolicyInfo\n"
        "with open_store(sys.argv[1], sys.argv[2]) as s: s.add_policy(PolicyInfo('closing[/]tag'))"
    )
    subprocess.run([sys.executable, "-c", code, db, str(tmp_path / "artefacts")], check=True)
    out = subprocess.run(
        [sys.executable, "-m", "benchmark.cli", "policies", "--db", db],
        capture_output=True,
        text=True,
        env={"TWINARENA_ARTEFACTS": str(tmp_path / "artefacts"), "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stderr
    assert "closing[/]tag" in out.stdout
    listed = subprocess.run(
        [sys.executable, "-m", "benchmark.cli", "policies", "--db", db, "--json"],
        capture_output=True,
        text=True,
    )
    assert [p["name"] for p in json.loads(listed.stdout)] == ["closing[/]tag"]


def test_distinct_policy_names_get_distinct_report_folders():
    from benchmark.report.paths import report_slug

    names = [
        "random",
        "random!",
        "random?",
        "random_",
        "vision-expert?noise=0.015",
        "vision-expert_noise_0.015",
    ]
    slugs = [report_slug(n) for n in names]
    assert len(set(slugs)) == len(names) and slugs[0] == "random"
    assert all(s and "/" not in s and not s.startswith(".") for s in slugs)
