"""The openpi websocket protocol: message normalisation, our server and client, and the real
openpi client (in its own venv) against our server in another process."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import queue
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from benchmark.errors import InvalidAnswer, PolicyError, PolicyTimeout
from benchmark.policies import wire
from benchmark.policies.remote import (
    MAX_MESSAGE_BYTES,
    PROTOCOL,
    RemotePolicy,
    answer_actions,
    error_text,
    running_server,
    to_observation,
    websocket_uri,
)

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
METADATA = {"name": "arithmetic", "action_space": "ee_delta", "action_dim": 7, "control_hz": 10.0}
RANDOM_SEED = 7
RELEASE_TIMEOUT = 10.0


def _load_probe():
    spec = importlib.util.spec_from_file_location("openpi_client_probe", HERE / "openpi_client_probe.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


probe = _load_probe()


class ArithmeticPolicy:
    """Actions computed from the whole observation and the steps since reset (a chunk of ``chunk``
    of them when ``chunk`` > 0). Instructions steer it: ``explode`` raises, ``stall`` waits for
    :attr:`release`, ``huge`` answers with 100 MB."""

    def __init__(self, chunk: int = 0):
        self.chunk = chunk
        self.release = threading.Event()
        self.instruction = ""
        self.steps = 0

    def reset(self, instruction: str) -> None:
        self.instruction = instruction
        self.steps = 0

    def act(self, observation: dict) -> np.ndarray:
        self.steps += 1
        if self.instruction == "explode":
            raise RuntimeError("the gripper is on fire")
        if self.instruction == "stall":
            self.release.wait(RELEASE_TIMEOUT)
        if self.instruction == "huge":
            return np.zeros(25_000_000, dtype=np.float32)
        state = np.asarray(observation["state"], dtype=np.float64)
        means = [float(observation["images"][name].mean()) / 255 for name in sorted(observation["images"])]
        means = (means + [0.0, 0.0])[:2]
        action = np.r_[state[:3] * 0.5 + state[3:].sum() / 100, means, self.steps, len(self.instruction)]
        return np.stack([action + k for k in range(self.chunk)]) if self.chunk else action


def random_policy():
    from benchmark.policies.builtin import RandomPolicy

    return RandomPolicy("ee_delta", seed=RANDOM_SEED)


def observation(i: int, instruction: str = "pick the cube", size: int = 32) -> dict:
    rng = np.random.default_rng(i)
    return {
        "images": {
            "front": rng.integers(0, 256, (size, size, 3), dtype=np.uint8),
            "wrist": rng.integers(0, 256, (size, size, 3), dtype=np.uint8),
        },
        "state": rng.standard_normal(15).astype(np.float32),
        "instruction": instruction,
    }


def expected_actions(policy, observations: list[dict]) -> list[np.ndarray]:
    """What ``policy`` answers locally, reset whenever the instruction changes (as the server does),
    as the server sends it: a chunk [H, A], H = 1 for a single action."""
    out, instruction = [], None
    for obs in observations:
        if obs["instruction"] != instruction:
            instruction = obs["instruction"]
            policy.reset(instruction)
        out.append(np.atleast_2d(np.asarray(policy.act(obs), dtype=np.float32)))
    return out


def chunk_policy() -> ArithmeticPolicy:
    return ArithmeticPolicy(chunk=4)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[ArithmeticPolicy, int]]:
    policy = ArithmeticPolicy()
    with running_server(policy, METADATA) as port:
        yield policy, port


# -- messages ------------------------------------------------------------------------------------
def test_to_observation_reads_both_layouts():
    obs = observation(0)
    flat = {
        "observation/image": obs["images"]["front"],
        "observation/wrist_image": obs["images"]["wrist"],
        "observation/images/side": obs["images"]["front"],
        "observation/state": obs["state"].astype(np.float64),
        "prompt": "pick the cube",
        "reset": True,
    }
    ours = to_observation(wire.unpack(wire.pack({**obs, "reset": True})))
    theirs = to_observation(wire.unpack(wire.pack(flat)))
    assert sorted(ours["images"]) == ["front", "wrist"]
    assert sorted(theirs["images"]) == ["image", "side", "wrist_image"]
    np.testing.assert_array_equal(theirs["images"]["wrist_image"], obs["images"]["wrist"])
    assert ours["state"].dtype == theirs["state"].dtype == np.float32
    np.testing.assert_array_equal(ours["state"], theirs["state"])
    assert ours["instruction"] == theirs["instruction"] == "pick the cube"
    assert to_observation({"state": [1, 2], "prompt": "x"})["images"] == {}


@pytest.mark.parametrize(
    "message, words",
    [
        ([1, 2], "must be a map"),
        ({"state": [0.0], "instruction": "x", "joints": [1]}, "unknown observation key 'joints'"),
        ({"instruction": "x"}, "has no state"),
        ({"state": [0.0], "instruction": 3}, "instruction string"),
        ({"state": [0.0], "prompt": "x", "instruction": "y"}, "repeats"),
        ({"state": [[0.0]], "prompt": "x"}, "1-D"),
        ({"state": ["a"], "prompt": "x"}, "not numeric"),
        ({"state": [0.0], "prompt": "x", "images": {"f": np.zeros((4, 4, 3))}}, "uint8"),
        ({"state": [0.0], "prompt": "x", "observation/image": np.zeros((4, 4), np.uint8)}, "H×W×3"),
        ({"state": [0.0], "prompt": "x", "images": [1]}, "'images' must map"),
    ],
)
def test_to_observation_names_what_is_wrong(message, words):
    with pytest.raises(wire.WireError, match=re.escape(words)):
        to_observation(message)


def test_answer_actions():
    assert answer_actions({"actions": [1, 2]}).dtype == np.float32
    assert answer_actions({"actions": np.ones((4, 7))}).shape == (4, 7)
    for answer, words in [
        ([1.0], "no 'actions'"),
        ({"action": [1.0]}, "no 'actions' (got ['action'])"),
        ({"actions": "left"}, "not numeric"),
        ({"actions": np.ones((2, 2, 2))}, "shape (2, 2, 2)"),
        ({"actions": []}, "non-empty"),
    ]:
        with pytest.raises(InvalidAnswer, match=re.escape(words)):
            answer_actions(answer)


def test_websocket_uri_and_error_text():
    assert websocket_uri(("10.0.0.2", 8000)) == "ws://10.0.0.2:8000"
    assert websocket_uri("localhost:9") == "ws://localhost:9"
    assert websocket_uri("wss://policy.example/ws") == "wss://policy.example/ws"
    try:
        raise KeyError("arm")
    except KeyError as err:
        text = error_text(err)
    assert text.startswith("KeyError: 'arm'\n\nTraceback")


# -- our server and our client -----------------------------------------------------------------------
def test_metadata_first_and_actions_are_the_policys(served):
    _, port = served
    observations = [observation(i) for i in range(3)] + [
        observation(i, "open the drawer") for i in range(3, 5)
    ]
    with RemotePolicy(("127.0.0.1", port), timeout=10) as remote:
        assert remote.metadata == {"protocol": PROTOCOL, **METADATA}
        remote.reset("pick the cube")
        got = [remote.act(obs) for obs in observations]
        assert remote.server_timing["infer_ms"] >= 0
        remote.reset("pick the cube")  # an explicit reset starts the step count again
        again = remote.act(observations[0])
    want = expected_actions(ArithmeticPolicy(), observations)
    for g, w in zip(got, want, strict=True):
        assert g.dtype == np.float32 and g.shape == (1, 7)  # a chunk of one, as openpi servers answer
        np.testing.assert_array_equal(g, w)
    np.testing.assert_array_equal(again, want[0])


def test_chunks_pass_through():
    observations = [observation(i) for i in range(2)]
    with (
        running_server(ArithmeticPolicy(chunk=4), METADATA) as port,
        RemotePolicy(f"127.0.0.1:{port}") as remote,
    ):
        remote.reset("pick the cube")
        got = [remote.act(obs) for obs in observations]
    want = expected_actions(ArithmeticPolicy(chunk=4), observations)
    assert got[0].shape == (4, 7)
    np.testing.assert_array_equal(np.stack(got), np.stack(want))


def test_policy_exception_is_a_policy_error_and_the_server_serves_on(served):
    _, port = served
    with RemotePolicy(("127.0.0.1", port), timeout=10) as remote:
        remote.reset("explode")
        with pytest.raises(PolicyError, match="RuntimeError: the gripper is on fire") as caught:
            remote.act(observation(0, "explode"))
        assert type(caught.value) is PolicyError
        assert any("Traceback" in note for note in caught.value.__notes__)
        with pytest.raises(PolicyError, match="call reset"):
            remote.act(observation(0))
        remote.reset("pick the cube")
        np.testing.assert_array_equal(
            remote.act(observation(1)), expected_actions(ArithmeticPolicy(), [observation(1)])[0]
        )


def test_no_answer_in_time_is_a_timeout_and_a_late_answer_is_dropped(served):
    policy, port = served
    policy.release.clear()
    try:
        with RemotePolicy(("127.0.0.1", port)) as remote:
            remote.reset("stall")
            with pytest.raises(PolicyTimeout, match="within 0.2 s"):
                remote.act_within(observation(0, "stall"), 0.2)
            policy.release.set()
            remote.reset("pick the cube")
            got = remote.act_within(observation(5), 10)
    finally:
        policy.release.set()
    np.testing.assert_array_equal(got, expected_actions(ArithmeticPolicy(), [observation(5)])[0])


def test_oversized_answer_is_invalid_and_the_client_survives(served):
    _, port = served
    with RemotePolicy(("127.0.0.1", port), timeout=20) as remote:
        remote.reset("huge")
        with pytest.raises(InvalidAnswer, match=f"over the limit of {wire.human_bytes(MAX_MESSAGE_BYTES)}"):
            remote.act(observation(0, "huge"))
        remote.reset("pick the cube")
        assert remote.act(observation(0)).shape == (1, 7)


@pytest.mark.parametrize(
    "payload, words",
    [
        (b"\xc1", "WireError: not a valid message"),
        ("hello", "expected a binary msgpack message"),
        (wire.pack({"state": [0.0], "prompt": "x", "gripper": 1}), "unknown observation key 'gripper'"),
    ],
)
def test_malformed_message_gets_a_text_error_frame(served, payload, words):
    _, port = served
    with connect(f"ws://127.0.0.1:{port}", compression=None) as ws:
        assert wire.unpack(ws.recv(timeout=5))["protocol"] == PROTOCOL
        ws.send(payload)
        text = ws.recv(timeout=5)
        assert isinstance(text, str) and words in text
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd.code == 1011


def test_reset_reconnects_after_the_server_restarts():
    policy = ArithmeticPolicy()
    with running_server(policy, METADATA) as port:
        remote = RemotePolicy(("127.0.0.1", port), timeout=10)
        remote.reset("pick the cube")
        remote.act(observation(0))
    with running_server(policy, {**METADATA, "name": "restarted"}, port=port), remote:
        remote.reset("pick the cube")
        assert remote.metadata["name"] == "restarted"
        np.testing.assert_array_equal(
            remote.act(observation(1)), expected_actions(ArithmeticPolicy(), [observation(1)])[0]
        )


def test_refused_connection_names_the_uri():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(PolicyError, match=f"ws://127.0.0.1:{port}"):
        RemotePolicy(("127.0.0.1", port), connect_timeout=2)


# -- a server in another process -----------------------------------------------------------------
def server_command(spec: str) -> list[str]:
    """``twinarena serve-policy`` for ``module:factory`` of this folder (the policy runs in the
    server's worker process) on a free port; the command prints the URI it serves on."""
    cli = "from benchmark.cli import main; main()"
    return [sys.executable, "-c", cli, "serve-policy", f"{HERE}::{spec}", "--port", "0"]


@contextlib.contextmanager
def server_process(spec: str, start_timeout: float = 60.0) -> Iterator[int]:
    """Run :func:`server_command` for ``spec``; yield the port it serves on."""
    paths = [str(HERE), str(REPO), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    proc = subprocess.Popen(
        server_command(spec), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO, env=env
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        seen = []
        while True:
            try:
                seen.append(lines.get(timeout=start_timeout))
            except queue.Empty:
                pytest.fail(f"the policy server did not start within {start_timeout} s: {''.join(seen)}")
            found = re.search(r"ws://[^\s:]+:(\d+)", seen[-1])
            if found:
                break
            if proc.poll() is not None:
                pytest.fail(f"the policy server exited with {proc.returncode}: {''.join(seen)}")
        yield int(found.group(1))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def openpi_python() -> Path:
    """The python of a venv holding the real openpi-client: $TWINARENA_OPENPI_PYTHON, or
    <repo>/.venv-openpi/bin/python; built with .ci/openpi-client-venv.sh when missing (a failed
    build fails the test: it is never skipped)."""
    from side_venvs import side_venv_python  # here: this module is also loaded in sandboxed workers

    return side_venv_python("TWINARENA_OPENPI_PYTHON", ".venv-openpi", "openpi-client-venv.sh")


def run_probe(openpi_python: Path, spec: str, seed: int, count: int, *horizon: int) -> dict:
    """The probe's report for the real openpi client against ``serve-policy`` of ``spec``."""
    with server_process(spec) as port:
        run = subprocess.run(
            [
                str(openpi_python),
                str(HERE / "openpi_client_probe.py"),
                "127.0.0.1",
                *map(str, (port, seed, count, *horizon)),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["numpy"].startswith("1.")  # the client's own numpy, not the project's
    sent = probe.observations(seed, count)
    assert [step["sha256"] for step in report["steps"]] == [probe.digest(obs) for obs in sent]
    return report


def probe_observations_ours(seed: int, count: int) -> list[dict]:
    """The probe's observations in our layout, as the server reads them."""
    return [
        {
            "images": {"image": obs["observation/image"], "wrist_image": obs["observation/wrist_image"]},
            "state": obs["observation/state"],
            "instruction": obs["prompt"],
        }
        for obs in probe.observations(seed, count)
    ]


def test_real_openpi_client_gets_the_policys_actions(openpi_python):
    seed, count = 3, 5
    report = run_probe(openpi_python, "test_remote:ArithmeticPolicy", seed, count)
    metadata = report["metadata"]
    assert metadata["protocol"] == PROTOCOL and metadata["name"].endswith("::test_remote:ArithmeticPolicy")
    assert (metadata["kind"], metadata["action_space"], metadata["action_dim"]) == (
        "entrypoint",
        "ee_delta",
        7,
    )
    # what the server expects: cameras, image size, the state layout, the chunk length (unknown here)
    assert metadata["cameras"] == [] and metadata["image_size"] == [224, 224]
    assert metadata["state_dim"] == len(metadata["state_layout"]) == 15
    assert metadata["state_layout"][7] == "finger_opening" and "action_chunk" in metadata
    assert report["chunks"] == [[1, 7]] * count  # every answer a chunk [H, A], as openpi's servers send
    want = expected_actions(ArithmeticPolicy(), probe_observations_ours(seed, count))
    got = [np.asarray(step["actions"], dtype=np.float32) for step in report["steps"]]
    np.testing.assert_array_equal(np.stack(got), np.stack(want))


@pytest.mark.parametrize("spec, horizon", [("ArithmeticPolicy", 1), ("chunk_policy", 4)])
def test_real_action_chunk_broker_gets_whole_actions(openpi_python, spec, horizon):
    """openpi's ActionChunkBroker slices row after row of our answers: each step is a full action [A]."""
    seed, count = 5, 8
    report = run_probe(openpi_python, f"test_remote:{spec}", seed, count, horizon)
    got = np.asarray([step["actions"] for step in report["steps"]], dtype=np.float32)
    assert got.shape == (count, 7)
    assert report["sent"] == list(range(0, count, horizon))
    assert report["chunks"] == [[horizon, 7]] * (count // horizon)
    ours = probe_observations_ours(seed, count)
    policy = ArithmeticPolicy(chunk=4 if spec == "chunk_policy" else 0)
    want = np.concatenate(expected_actions(policy, [ours[i] for i in report["sent"]]))
    np.testing.assert_array_equal(got, want)


def test_remote_policy_drives_an_episode(tmp_path):
    from benchmark.episodes.env import EnvConfig, TwinEnv
    from benchmark.episodes.episode import run_episode
    from benchmark.scenes.authored import reference_twin

    env = TwinEnv(reference_twin("tray_pick"), EnvConfig(render="mesh", image_size=(64, 64), max_seconds=2))
    with server_process("test_remote:random_policy") as port, RemotePolicy(("127.0.0.1", port)) as remote:
        outcome = run_episode(env, remote, seed=0, out=tmp_path / "episode", step_timeout=30)
    env.close()
    assert outcome.termination == "timeout", outcome
    actions = np.load(tmp_path / "episode" / "trajectory.npz")["actions"]
    local = random_policy()
    local.reset("")
    want = np.stack([local.act(None) for _ in range(len(actions))]).astype(np.float32)
    assert len(actions) == outcome.steps > 0
    np.testing.assert_array_equal(actions, want)
