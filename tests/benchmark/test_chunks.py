"""Action chunks as openpi policies are run: our server's [H, A] answers and /healthz, the
open-loop horizon, and late chunks that are dropped, never played. The episodes run in a stand-in
environment that records every action it receives (no simulator)."""

from __future__ import annotations

import time
import urllib.error
import urllib.request

import numpy as np
import pytest
from websockets.sync.client import connect

from benchmark.episodes.episode import rollout
from benchmark.errors import PolicyError, PolicyTimeout
from benchmark.policies import wire
from benchmark.policies.remote import (
    PROTOCOL,
    STATE_LAYOUT,
    RemotePolicy,
    running_server,
    server_metadata,
)

DIM = 7
STEPS = 10  # the stand-in episode's length
LATE = 99.0  # every number of a chunk that comes too late


class RecordingEnv:
    """Just enough of a TwinEnv for :func:`rollout`: ``STEPS`` steps, every action kept."""

    def __init__(self, steps: int = STEPS):
        self.steps = steps
        self.received: list[np.ndarray] = []

    def _obs(self) -> dict:
        n = len(self.received)
        return {
            "images": {"front": np.full((8, 8, 3), n, np.uint8)},
            "state": np.full(15, n, np.float32),
            "instruction": "pick the cube",
        }

    def _info(self, termination: str = "") -> dict:
        return {
            "object_poses": {"cube": np.zeros(7)},
            "termination": termination,
            "progress": 0.0,
            "steps": len(self.received),
        }

    def reset(self, seed: int):
        self.received.clear()
        return self._obs(), self._info()

    def step(self, action):
        self.received.append(np.asarray(action, dtype=np.float32))
        done = len(self.received) >= self.steps
        return self._obs(), 0.0, False, done, self._info("timeout" if done else "")


class ChunkPolicy:
    """Answers chunks of ``chunk`` actions, row k of answer n holding ``n + k / 100``; answer
    ``slow_answer`` (counted from 0) comes only after ``delay`` seconds, and holds ``LATE``."""

    def __init__(self, chunk: int = 5, slow_answer: int | None = None, delay: float = 0.0):
        self.chunk, self.slow_answer, self.delay = chunk, slow_answer, delay
        self.requests = 0

    def reset(self, instruction: str) -> None:
        self.requests = 0

    def act(self, observation: dict) -> np.ndarray:
        n = self.requests
        self.requests += 1
        if n == self.slow_answer:
            time.sleep(self.delay)
            return np.full((self.chunk, DIM), LATE, np.float32)
        rows = n + np.arange(self.chunk, dtype=np.float32)[:, None] / 100
        return np.repeat(rows, DIM, axis=1)


def played(env: RecordingEnv) -> np.ndarray:
    return np.stack(env.received)[:, 0] if env.received else np.zeros(0)


# -- the server ----------------------------------------------------------------------------------
def test_server_answers_chunks_one_action_as_a_chunk_of_one():
    obs = {"state": np.zeros(15, np.float32), "prompt": "x"}

    class One:
        def reset(self, instruction):
            pass

        def act(self, observation):
            return np.arange(DIM, dtype=np.float32)

    for policy, shape in [(One(), (1, DIM)), (ChunkPolicy(chunk=3), (3, DIM))]:
        with running_server(policy, {}) as port, connect(f"ws://127.0.0.1:{port}") as ws:
            assert wire.unpack(ws.recv(timeout=5))["protocol"] == PROTOCOL
            ws.send(wire.pack(obs))
            assert np.asarray(wire.unpack(ws.recv(timeout=5))["actions"]).shape == shape


def test_healthz_answers_200_ok_and_websockets_still_connect():
    with running_server(ChunkPolicy(), {"name": "c"}) as port:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            assert (response.status, response.read()) == (200, b"OK\n")
        with pytest.raises(urllib.error.HTTPError) as other:  # any other path is the websocket's
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)
        assert other.value.code == 426
        other.value.close()  # else the server waits for this connection when it shuts down
        with RemotePolicy(("127.0.0.1", port), timeout=5) as remote:
            assert remote.metadata["name"] == "c"


def test_server_metadata_declares_what_it_expects():
    info = {"name": "p", "action_space": "ee_delta", "cameras": ["front"], "image_size": [224, 160]}
    metadata = server_metadata({**info, "extra": {"x": 1}}, 7, action_chunk=4, open_loop_horizon=2)
    assert metadata == {
        **info,
        "action_dim": 7,
        "state_dim": 15,
        "state_layout": list(STATE_LAYOUT),
        "action_chunk": 4,
        "open_loop_horizon": 2,
    }
    plain = server_metadata(info, 7)
    assert "open_loop_horizon" not in plain and plain["action_chunk"] is None
    wire.pack(metadata)  # it travels
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="positive integer"):
            server_metadata(info, 7, open_loop_horizon=bad)


# -- the open-loop horizon -------------------------------------------------------------------------
@pytest.mark.parametrize("horizon", [None, 1, 2, 5, 8])
def test_open_loop_horizon_plays_n_actions_of_each_chunk(horizon):
    policy = ChunkPolicy(chunk=5)
    policy.open_loop_horizon = horizon
    env = RecordingEnv()
    outcome, _ = rollout(env, policy, seed=0, record_video=False)
    n = min(horizon or 5, 5)
    assert outcome.termination == "timeout" and len(env.received) == STEPS
    assert policy.requests == -(-STEPS // n)  # one request per n actions played
    want = [request + row / 100 for request in range(policy.requests) for row in range(n)][:STEPS]
    np.testing.assert_allclose(played(env), want, atol=1e-6)


def test_remote_horizon_from_the_caller_or_the_server_metadata():
    for declared, given, want in [(None, None, 5), (3, None, 3), (3, 2, 2)]:
        policy = ChunkPolicy(chunk=5)
        metadata = {} if declared is None else {"open_loop_horizon": declared}
        with (
            running_server(policy, metadata) as port,
            RemotePolicy(("127.0.0.1", port), open_loop_horizon=given) as remote,
        ):
            assert remote.open_loop_horizon == (given or declared)
            env = RecordingEnv()
            outcome, _ = rollout(env, remote, seed=0, step_timeout=10, record_video=False)
        assert outcome.termination == "timeout"
        assert policy.requests == -(-STEPS // want)
        assert played(env)[:want].tolist() == pytest.approx([k / 100 for k in range(want)])
        assert played(env)[want] == pytest.approx(1.0)  # the next chunk starts after `want` actions


def test_a_bad_declared_horizon_is_a_policy_error():
    with (
        running_server(ChunkPolicy(), {"open_loop_horizon": 0}) as port,
        pytest.raises(PolicyError, match="positive integer"),
    ):
        RemotePolicy(("127.0.0.1", port), connect_timeout=5)
    with pytest.raises(ValueError, match="positive integer"):
        RemotePolicy(("127.0.0.1", 1), open_loop_horizon=0)


# -- late chunks -------------------------------------------------------------------------------------
def test_a_late_chunk_from_a_server_is_never_played():
    policy = ChunkPolicy(chunk=2, slow_answer=1, delay=1.0)
    with running_server(policy, {}) as port, RemotePolicy(("127.0.0.1", port)) as remote:
        env = RecordingEnv()
        outcome, tape = rollout(env, remote, seed=0, step_timeout=0.3, record_video=False)
    assert outcome.termination == "policy_timeout" and "within 0.3 s" in outcome.detail
    assert played(env).tolist() == pytest.approx([0.0, 0.01])  # the first chunk only
    assert LATE not in np.stack(tape.actions)


def test_a_late_chunk_from_an_in_process_policy_is_never_played():
    policy = ChunkPolicy(chunk=2, slow_answer=1, delay=0.6)
    env = RecordingEnv()
    outcome, _ = rollout(env, policy, seed=0, step_timeout=0.2, record_video=False)
    time.sleep(0.6)  # the abandoned call has returned by now: its chunk still goes nowhere
    assert outcome.termination == "policy_timeout"
    assert played(env).tolist() == pytest.approx([0.0, 0.01])


class Counting:
    """Answers chunks of two actions all holding the number of the call (from 1, never reset);
    with ``delay`` the first call takes that long and answers ``LATE``."""

    def __init__(self, delay: float = 0.0):
        self.calls = 0
        self.delay = delay

    def reset(self, instruction):
        pass

    def act(self, observation):
        self.calls += 1
        if self.calls == 1 and self.delay:
            time.sleep(self.delay)
            return np.full((2, DIM), LATE, np.float32)
        return np.full((2, DIM), float(self.calls), np.float32)


def test_an_answer_read_after_the_deadline_is_dropped_and_never_read_as_the_next_one():
    """The answer is there, but it was read after the deadline (the reader stalled): PolicyTimeout,
    and the next request, on a new connection, gets its own answer, never the late one."""
    with running_server(Counting(), {}) as port, RemotePolicy(("127.0.0.1", port)) as remote:
        remote.reset("pick the cube")
        obs = RecordingEnv().reset(0)[0]
        recv = remote._connection.recv

        def stalled_recv(timeout=None):
            data = recv(timeout=5)
            time.sleep(0.3)
            return data

        remote._connection.recv = stalled_recv
        with pytest.raises(PolicyTimeout, match="within 0.1 s"):
            remote.act_within(obs, 0.1)
        remote.reset("pick the cube")
        answer = remote.act_within(obs, 5)
    assert answer.tolist() == [[2.0] * DIM] * 2


def test_a_late_answer_is_not_read_as_the_next_one():
    """A server that answers late: the request times out, and the answer it sends later does not
    reach the next request."""
    with running_server(Counting(delay=0.5), {}) as port, RemotePolicy(("127.0.0.1", port)) as remote:
        remote.reset("pick the cube")
        obs = RecordingEnv().reset(0)[0]
        with pytest.raises(PolicyTimeout):
            remote.act_within(obs, 0.2)
        time.sleep(0.5)  # the late answer is sent by now
        remote.reset("pick the cube")
        answer = remote.act_within(obs, 5)
    assert answer.tolist() == [[2.0] * DIM] * 2  # the second call's own answer
