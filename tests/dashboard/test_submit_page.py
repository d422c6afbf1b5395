"""The submit page: a checkpoint upload validated in a worker and registered; oversized, wrong-type
and pickled uploads refused with a message; a campaign queued for the new policy."""

from __future__ import annotations

import io
import json
import textwrap
import zipfile

import pytest
from helpers import button, no_exception, texts

from benchmark.store import open_store

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

POLICY = textwrap.dedent("""
    import numpy as np

    class Policy:
        def reset(self, instruction):
            pass

        def act(self, observation):
            return np.zeros(7)

    def make():
        return Policy()
""")


def code_zip(entry: str = "still:make") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("still/still.py", POLICY)
        archive.writestr("still/policy.json", json.dumps({"entry": entry, "licence": "MIT"}))
    return buffer.getvalue()


def submit_page(app):
    at = app()
    at.run()
    at.switch_page("views/submit.py").run()
    no_exception(at)
    return at


def upload(at, name: str, filename: str, content: bytes):
    at.text_input[0].input(name)
    at.file_uploader[0].set_value((filename, content, "application/octet-stream"))
    button(at, "Validate and register").click().run()
    no_exception(at)
    return at


def test_a_good_upload_is_validated_registered_and_queued(seeded, app):
    at = upload(submit_page(app), "still-v1", "still.zip", code_zip())
    assert "Registered **still-v1**" in texts(at.success), texts(at.error)
    with open_store(seeded["url"], seeded["artefacts"]) as store:
        record = store.get_policy("still-v1")
    assert (record.status, record.kind, record.licence) == ("registered", "entrypoint", "MIT")
    assert at.multiselect[0].value == ["still-v1"]  # the queue form offers the new policy
    at.multiselect[2].set_value(["object_yaw"])
    at.number_input[0].set_value(2)
    at.text_input[-1].input("still-first-look")
    button(at, "Queue campaign").click().run()
    no_exception(at)
    assert "Queued campaign **still-first-look**" in texts(at.success), texts(at.error)
    command = texts(at.code)
    assert command.startswith("twinarena evaluate --policy still-v1 --twin ")
    assert "--perturb object_yaw=0.5,1 --seeds 2 --name still-first-look" in command
    with open_store(seeded["url"], seeded["artefacts"]) as store:
        progress = {c.name: c for c in store.campaigns()}["still-first-look"]
    assert (progress.jobs, progress.done) == (6, 0)  # 3 cells × 2 seeds in one twin, none run yet


def test_one_click_cannot_queue_a_huge_campaign(seeded, app):
    from dashboard.queue import MAX_JOBS

    at = submit_page(app)
    at.multiselect[0].set_value(at.multiselect[0].options[:2])
    at.multiselect[2].set_value(["object_yaw", "object_color"])
    at.text_input[-2].input(",".join(f"{k / 100:g}" for k in range(1, 101)))  # 100 levels each
    at.number_input[0].set_value(1000)
    at.text_input[-1].input("flood")
    button(at, "Queue campaign").click().run()
    no_exception(at)
    assert f"the dashboard queues at most {MAX_JOBS:,}" in texts(at.error)
    with open_store(seeded["url"], seeded["artefacts"]) as store:
        assert "flood" not in {c.name for c in store.campaigns()}


def test_wrong_type_and_oversized_uploads_are_refused(seeded, app, monkeypatch):
    at = upload(submit_page(app), "notes", "notes.txt", b"hello")
    assert "notes.txt: this type of file is not accepted" in texts(at.error)
    monkeypatch.setenv("TWINARENA_MAX_UPLOAD_MB", "0.001")  # about 1 KB
    at = upload(submit_page(app), "big", "big.pt", b"x" * 5000)
    assert "big.pt is 5 KB; uploads may be at most 1 KB" in texts(at.error)
    with open_store(seeded["url"], seeded["artefacts"]) as store:
        assert store.get_policy("notes") is None and store.get_policy("big") is None


def test_a_pickle_is_never_opened_and_a_broken_policy_is_recorded_as_failed(seeded, app):
    import pickle

    at = upload(submit_page(app), "pickled", "model.pt", pickle.dumps({"weights": [1, 2]}))
    assert "pickle" in texts(at.error) and "Not registered" in texts(at.error)
    at = upload(submit_page(app), "broken", "broken.zip", code_zip(entry="still:missing"))
    assert "Not registered" in texts(at.error)
    with open_store(seeded["url"], seeded["artefacts"]) as store:
        assert store.get_policy("broken").status == "failed"


def test_an_archive_escaping_its_folder_is_refused(seeded, app):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../evil.py", "print('hi')")
    at = upload(submit_page(app), "evil", "evil.zip", buffer.getvalue())
    assert "points outside the folder" in texts(at.error)
