"""``twinarena submit``: validation in a worker, sha256, the stored copy, failures recorded."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from benchmark.errors import SubmissionError
from benchmark.policies.builtin import RandomPolicy
from benchmark.policies.loaders import resolve
from benchmark.policies.protocol import PolicyInfo
from benchmark.policies.remote import running_server
from benchmark.policies.submissions import check_probe_answer, probe_observation, submit
from benchmark.policies.worker import WorkerLimits
from benchmark.store import content_sha256, open_store

LIMITS = WorkerLimits(memory_bytes=2 << 30, step_timeout=3.0, load_timeout=60.0)


def code_folder(root: Path, name: str, answer: str, manifest: dict | None = None) -> Path:
    folder = root / name
    folder.mkdir()
    (folder / f"{name}.py").write_text(
        textwrap.dedent(f"""
            import time
            import numpy as np

            class Policy:
                def reset(self, instruction):
                    pass

                def act(self, observation):
                    return {answer}

            def make():
                return Policy()
        """)
    )
    (folder / "policy.json").write_text(json.dumps({"entry": f"{name}:make", **(manifest or {})}))
    return folder


@pytest.fixture()
def store(tmp_path):
    with open_store(f"sqlite:///{tmp_path / 'store.db'}", artefacts=tmp_path / "artefacts") as store:
        yield store


def test_a_good_submission_is_hashed_copied_and_registered(store, tmp_path):
    folder = code_folder(tmp_path, "chunker", "np.zeros((4, 7))", {"owner": "alice", "licence": "MIT"})
    record, probe = submit(str(folder), "chunker-v1", store, {"image_size": (96, 96)}, LIMITS)
    assert record.status == "registered" and record.kind == "entrypoint"
    assert record.sha256 == content_sha256(folder)
    assert (record.owner, record.licence, record.image_size) == ("alice", "MIT", (96, 96))
    assert probe.chunk == 4 and probe.action_shape == (4, 7)
    stored = store.artefact_path(record.artefact)
    assert (stored / "chunker.py").read_bytes() == (folder / "chunker.py").read_bytes()
    assert store.get_policy("chunker-v1").extra["entry"] == "chunker:make"


@pytest.mark.parametrize(
    ("name", "answer", "words"),
    [
        ("sleeper", "time.sleep(1e9)", "no answer within 3 s"),
        ("nan", "np.full(7, np.nan)", "NaN"),
        ("wide", "np.zeros(9)", "shape \\(9,\\)"),
        ("wild", "np.full(7, 5.0)", "outside the ee_delta bounds"),
        ("huge", "np.zeros(2**27)", "over the limit"),
    ],
)
def test_a_broken_submission_is_refused_and_recorded_as_failed(store, tmp_path, name, answer, words):
    folder = code_folder(tmp_path, name, answer)
    with pytest.raises(SubmissionError, match=words):
        submit(str(folder), name, store, limits=LIMITS)
    record = store.get_policy(name)
    assert record.status == "failed" and re.search(words, record.reason)
    with pytest.raises(SubmissionError, match="failed validation"):
        resolve(name, store)


def test_names_are_unique(store, tmp_path):
    folder = code_folder(tmp_path, "still", "np.zeros(7)")
    submit(str(folder), "still", store, limits=LIMITS)
    with pytest.raises(SubmissionError, match="already registered"):
        submit(str(folder), "still", store, limits=LIMITS)


def test_a_remote_policy_server_is_registered_by_its_uri(store):
    metadata = {"name": "random", "action_space": "ee_delta", "image_size": [128, 96], "owner": "lab"}
    with running_server(RandomPolicy(), metadata) as port:
        record, probe = submit(f"ws://127.0.0.1:{port}", "lab-random", store)
    assert record.kind == "remote" and record.sha256 is None
    assert record.extra["uri"] == f"ws://127.0.0.1:{port}"
    assert (record.image_size, record.owner) == ((128, 96), "lab")
    assert probe.action_shape == (1, 7)  # servers answer chunks [H, A], one action as H = 1


def test_probe_answers_are_checked():
    assert check_probe_answer(np.zeros((3, 8)), "joint_position") == ((3, 8), 3)
    with pytest.raises(SubmissionError, match="shape"):
        check_probe_answer(np.zeros((2, 2, 7)), "ee_delta")
    obs = probe_observation(PolicyInfo(name="p", cameras=("front", "wrist"), image_size=(64, 48)))
    assert {k: v.shape for k, v in obs["images"].items()} == {"front": (48, 64, 3), "wrist": (48, 64, 3)}


def cli(*args, home: Path):
    env = {**os.environ, "COLUMNS": "200", "TWINARENA_HOME": str(home)}
    env.pop("TWINARENA_DB", None)
    return subprocess.run(
        [sys.executable, "-m", "benchmark.cli", *args], capture_output=True, text=True, env=env
    )


def test_submit_then_evaluate_by_name_from_the_command_line(tmp_path):
    import pickle

    home = tmp_path / "home"
    folder = code_folder(tmp_path, "still", "np.zeros(7)", {"owner": "bob"})
    out = cli("submit", str(folder), "--name", "still", "--image-size", "64x64", "--json", home=home)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["sha256"] == content_sha256(folder)

    evil = tmp_path / "evil.pkl"
    marker = tmp_path / "pwned"
    evil.write_bytes(pickle.dumps(_Exploit(str(marker))))
    out = cli("submit", str(evil), "--name", "evil", home=home)
    assert out.returncode == 2 and "pickle" in out.stderr and "Traceback" not in out.stderr
    assert not marker.exists()

    listed = json.loads(cli("policies", "--json", home=home).stdout)
    assert [(p["name"], p["status"], p["owner"]) for p in listed] == [("still", "registered", "bob")]

    episode = tmp_path / "episode"
    args = ("episode", "tray_pick", "--policy", "still", "-o", str(episode), "--render", "mesh", "--json")
    out = cli(*args, home=home)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["termination"] == "timeout" and result["steps"] > 0
    assert np.load(episode / "trajectory.npz")["actions"].shape[1] == 7


class _Exploit:
    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_trained_baseline_is_submitted_as_weights(tmp_path):
    home = tmp_path / "home"
    weights = tmp_path / "bc-mlp"
    args = ("--collect", "tray_pick", "--demos", "2", "--epochs", "2", "--arch", "state_mlp", "--json")
    out = cli("train-baseline", "-o", str(weights), *args, home=home)
    assert out.returncode == 0, out.stderr
    assert {"config.json", "model.safetensors"} <= {p.name for p in weights.iterdir()}
    out = cli("submit", str(weights), "--name", "bc-mlp", "--owner", "lab", "--json", home=home)
    assert out.returncode == 0, out.stderr
    record = json.loads(out.stdout)
    assert (record["kind"], record["status"], record["sha256"]) == (
        "weights",
        "registered",
        content_sha256(weights),
    )
    assert record["probe"]["action_shape"] == [7]
    out = cli("train-baseline", "-o", str(weights), *args, home=home)
    assert out.returncode == 2 and "already exists" in out.stderr
