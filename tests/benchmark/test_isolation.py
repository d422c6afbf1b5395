"""Hostile and broken submissions: each ends as a recorded failure with a reason, the evaluator
(this test process) survives, and nothing of the submission runs inside it."""

from __future__ import annotations

import json
import os
import pickle
import socket
import textwrap
from pathlib import Path

import numpy as np
import pytest

from benchmark.episodes.env import EnvConfig, TwinEnv
from benchmark.episodes.episode import run_episode
from benchmark.errors import InvalidAnswer, PolicyError, PolicyTimeout, SubmissionError
from benchmark.policies.loaders import check_checkpoint, load_policy, resolve
from benchmark.policies.worker import WorkerLimits, WorkerPolicy, brief
from benchmark.scenes.authored import reference_twin

LIMITS = WorkerLimits(memory_bytes=2 << 30, step_timeout=3.0, load_timeout=60.0, max_restarts=1)
OBSERVATION = {
    "images": {"front": np.zeros((64, 64, 3), np.uint8)},
    "state": np.zeros(15, np.float32),
    "instruction": "put the red cube in the blue tray",
}


@pytest.fixture(scope="module")
def env():
    env = TwinEnv(reference_twin("tray_pick"), EnvConfig(render="mesh", image_size=(64, 64), max_seconds=1.0))
    yield env
    env.close()


def code_policy(root: Path, name: str, act_body: str, header: str = "") -> Path:
    """A submission folder with ``policy.json`` and a module whose ``act`` runs ``act_body``."""
    folder = root / name
    folder.mkdir()
    source = f"""
        import numpy as np
        {header}

        class Policy:
            def reset(self, instruction):
                self.steps = 0

            def act(self, observation):
                self.steps += 1
                {act_body}

        def make():
            return Policy()
    """
    (folder / f"{name}.py").write_text(textwrap.dedent(source))
    (folder / "policy.json").write_text(json.dumps({"entry": f"{name}:make", "owner": "tests"}))
    return folder


def evaluate(env, spec: str | Path, tmp_path: Path, limits: WorkerLimits = LIMITS):
    """One recorded episode of ``spec``; returns its outcome and what episode.json says."""
    policy, _ = load_policy(str(spec), env=env, limits=limits)
    out = tmp_path / "episode"
    try:
        outcome = run_episode(env, policy, seed=0, out=out)
    finally:
        policy.close()
    return outcome, json.loads((out / "episode.json").read_text())["outcome"]


def test_a_pickle_that_runs_code_is_never_opened(tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    raw = tmp_path / "policy.pkl"
    raw.write_bytes(pickle.dumps(Exploit()))
    renamed = tmp_path / "model.bin"
    renamed.write_bytes(pickle.dumps(Exploit()))
    for path in (raw, renamed):
        with pytest.raises(SubmissionError, match="pickle"):
            resolve(str(path))
    assert not marker.exists()


def test_a_torch_save_pickle_is_refused_by_weights_only(env, tmp_path):
    import torch

    from benchmark.policies.architectures import ArchitectureConfig, build_model, load_weights_policy

    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    lone = tmp_path / "checkpoint.pt"
    torch.save({"weight": Exploit()}, lone)
    assert "torch.save checkpoint" in check_checkpoint(lone)
    config = ArchitectureConfig(architecture="state_mlp", hidden=(8,))
    folder = tmp_path / "weights"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config.to_dict()))
    torch.save({"weight": Exploit()}, folder / "model.pt")
    outcome, recorded = evaluate(env, folder, tmp_path)
    assert outcome.termination == recorded["termination"] == "policy_error"
    assert "weights_only" in outcome.detail and "while loading" in outcome.detail
    assert not marker.exists()
    # a plain state dict in model.pt is read the same way, and loads
    torch.save(build_model(config).state_dict(), folder / "model.pt")
    assert load_weights_policy(folder).act(OBSERVATION).shape == (7,)


def test_torchscript_that_allocates_20_gb_fails_inside_its_worker(env, tmp_path):
    import torch

    class Allocate(torch.nn.Module):
        def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
            return torch.ones(5_000_000_000, dtype=torch.float32)[:7]

    path = tmp_path / "allocate.pt"
    torch.jit.script(Allocate()).save(str(path))
    outcome, recorded = evaluate(env, path, tmp_path)
    assert outcome.termination == "policy_error"
    assert "can't allocate memory" in outcome.detail
    assert recorded["termination"] == "policy_error" and recorded["detail"] == outcome.detail


def test_a_policy_that_sleeps_forever_times_out(env, tmp_path):
    folder = code_policy(tmp_path, "sleeper", "time.sleep(1e9)", header="import time")
    outcome, recorded = evaluate(env, folder, tmp_path)
    assert outcome.termination == recorded["termination"] == "policy_timeout"
    assert "no answer within 3 s" in outcome.detail


def test_a_policy_that_segfaults_is_recorded_as_a_crash(env, tmp_path):
    folder = code_policy(tmp_path, "crasher", "return ctypes.string_at(0)", header="import ctypes")
    outcome, recorded = evaluate(env, folder, tmp_path)
    assert outcome.termination == recorded["termination"] == "policy_error"
    assert "SIGSEGV" in outcome.detail
    assert "crasher.py" in outcome.detail  # faulthandler's traceback names where


@pytest.mark.parametrize(
    ("name", "body", "reason", "words"),
    [
        ("nan", "return np.full(7, np.nan)", "invalid_action", "non-finite"),
        ("wrong_shape", "return np.zeros((3, 2, 2))", "invalid_action", "shape"),
        ("huge", "return np.zeros(2**27)", "invalid_action", "1.0 GiB is over the limit"),
        ("text", "return 'forward'", "invalid_action", "not numeric"),
        ("raises", "raise ValueError('no grasp found')", "policy_error", "ValueError: no grasp found"),
    ],
)
def test_bad_answers_end_the_episode_with_a_reason(env, tmp_path, name, body, reason, words):
    outcome, recorded = evaluate(env, code_policy(tmp_path, name, body), tmp_path)
    assert outcome.termination == recorded["termination"] == reason
    assert words in outcome.detail


def test_the_evaluator_survives_and_runs_a_good_policy_after_the_bad_ones(env, tmp_path):
    folder = code_policy(tmp_path, "steady", "return np.zeros(7)")
    outcome, _ = evaluate(env, folder, tmp_path)
    assert outcome.termination == "timeout" and outcome.steps > 0


def test_printing_does_not_corrupt_the_protocol(env, tmp_path):
    folder = code_policy(tmp_path, "chatty", "print('step', self.steps, flush=True); return np.zeros(7)")
    outcome, _ = evaluate(env, folder, tmp_path)
    assert outcome.termination == "timeout"


def test_a_forged_frame_on_the_protocol_pipe_is_an_invalid_answer(tmp_path):
    """A policy that finds the worker's pipe and announces a 1 TiB message."""
    body = textwrap.dedent("""
        import os, struct
        for fd in range(3, 64):
            try:
                if os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:") and os.fstat(fd).st_mode & 0o200:
                    os.write(fd, struct.pack("<Q", 1 << 40))
            except OSError:
                pass
        time.sleep(60)
    """)
    folder = code_policy(tmp_path, "forger", textwrap.indent(body, " " * 16).strip(), header="import time")
    with WorkerPolicy(resolve(str(folder)).detail, LIMITS, name="forger") as policy:
        policy.reset("x")
        with pytest.raises((InvalidAnswer, PolicyTimeout)) as caught:
            policy.act(OBSERVATION)
    assert isinstance(caught.value, InvalidAnswer), caught.value
    assert "over the limit" in str(caught.value)


def test_the_network_is_off_unless_allowed(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    body = f"socket.create_connection(('127.0.0.1', {port}), timeout=2).close(); return np.zeros(7)"
    folder = code_policy(tmp_path, "caller", body, header="import socket")
    source = resolve(str(folder)).detail
    with WorkerPolicy(source, LIMITS, name="caller") as policy:
        policy.reset("x")
        assert policy.isolation["network"] != "allowed"
        with pytest.raises(PolicyError, match="unreachable|network access is off"):
            policy.act(OBSERVATION)
    allowed = WorkerLimits(**{**LIMITS.__dict__, "network": True})
    with WorkerPolicy(source, allowed, name="caller") as policy:
        policy.reset("x")
        assert np.array_equal(policy.act(OBSERVATION), np.zeros(7))
    listener.close()


def test_a_crashing_worker_is_restarted_then_marked_failed(tmp_path):
    folder = code_policy(tmp_path, "flaky", "os._exit(3)", header="import os")
    with WorkerPolicy(resolve(str(folder)).detail, LIMITS, name="flaky") as policy:
        for _ in range(LIMITS.max_restarts + 1):
            policy.reset("x")
            with pytest.raises(PolicyError, match="exited with status 3"):
                policy.act(OBSERVATION)
        with pytest.raises(PolicyError, match="marked failed after 2 worker starts"):
            policy.reset("x")
        with pytest.raises(PolicyError, match="marked failed"):
            policy.reset("x")


def test_a_policy_that_fails_to_load_names_the_problem(env, tmp_path):
    folder = code_policy(tmp_path, "broken", "return np.zeros(7)")
    (folder / "broken.py").write_text("import not_a_module_anyone_has\n")
    outcome, _ = evaluate(env, folder, tmp_path)
    assert outcome.termination == "policy_error"
    assert "not_a_module_anyone_has" in outcome.detail and "while loading" in outcome.detail


def test_torchscript_policy_answers_from_its_worker(tmp_path):
    import torch

    class Tanh(torch.nn.Module):
        def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
            return torch.tanh(obs["state"][:7]) * 0.01 + obs["image/front"].float().mean() * 0.0

    path = tmp_path / "tanh.pt"
    torch.jit.script(Tanh()).save(str(path))
    policy, info = load_policy(str(path), limits=LIMITS)
    assert info.kind == "torchscript"
    with policy:
        policy.reset("x")
        state = np.linspace(-1, 1, 15).astype(np.float32)
        action = policy.act({**OBSERVATION, "state": state})
    np.testing.assert_allclose(action, np.tanh(state[:7]) * 0.01, rtol=1e-6)


def test_a_wheel_entry_point_runs_in_a_worker(tmp_path):
    import zipfile

    wheel = tmp_path / "mypolicy-0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(
            "mypolicy/__init__.py",
            "import numpy as np\nclass P:\n    def reset(self, i): pass\n"
            "    def act(self, o): return np.full(7, 0.01)\ndef make(): return P()\n",
        )
        archive.writestr("mypolicy/policy.json", json.dumps({"entry": "mypolicy:make"}))
    policy, info = load_policy(str(wheel), limits=LIMITS)
    assert info.kind == "entrypoint"
    with policy:
        policy.reset("x")
        assert np.allclose(policy.act(OBSERVATION), 0.01)


def test_brief_keeps_the_first_and_last_lines():
    assert brief("RuntimeError: a\n  trace\n  more\nRuntimeError: out of memory") == (
        "RuntimeError: a … RuntimeError: out of memory"
    )


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("no/such/policy", "not a built-in policy"),
        ("vision-expert?speed=2", "no parameter 'speed'"),
    ],
)
def test_unknown_specs_are_named(spec, words, tmp_path, monkeypatch):
    monkeypatch.setenv("TWINARENA_HOME", str(tmp_path))
    monkeypatch.delenv("TWINARENA_DB", raising=False)
    with pytest.raises(SubmissionError, match=words):
        resolve(spec)
