"""Weight-only submissions of the built-in architectures, and behaviour cloning of baselines."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmark.errors import PolicyError, SubmissionError
from benchmark.policies import architectures as arch
from benchmark.policies.architectures import (
    ArchitectureConfig,
    WeightsPolicy,
    bounded_action,
    build_model,
    load_weights_policy,
    save_weights,
    spatial_soft_argmax,
)
from benchmark.policies.training import (
    TrainingDataError,
    collect_demonstrations,
    episode_folders,
    idle_steps,
    load_demonstrations,
    train_baseline,
)
from benchmark.sim.actions import ACTION_SPACES
from twin.video import write_mp4

CNN = ArchitectureConfig("image_cnn", camera="front", image_size=(32, 24), hidden=(32,), channels=(8, 8))
MLP = ArchitectureConfig("state_mlp", hidden=(32, 32))


def random_model(config: ArchitectureConfig, seed: int = 0, action_scale: float = 1.0):
    """A freshly initialised network with non-trivial statistics."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_model(config)
        model.state_mean.normal_()
        model.state_std.uniform_(0.5, 2.0)
        model.action_std.fill_(action_scale)
    return model


def observation(rng: np.random.Generator, size=(32, 24), camera="front") -> dict:
    w, h = size
    return {
        "images": {camera: rng.integers(0, 256, (h, w, 3), dtype=np.uint8)},
        "state": rng.normal(size=15).astype(np.float32),
        "instruction": "put the red cube in the tray",
    }


@pytest.fixture()
def saved(tmp_path) -> Path:
    return save_weights(random_model(CNN), CNN, tmp_path / "cnn")


# -- the architectures -----------------------------------------------------------------------------
def test_state_dim_is_the_environments():
    from benchmark.episodes.env import STATE_DIM

    assert arch.STATE_DIM == STATE_DIM


def test_spatial_soft_argmax_finds_a_peak():
    features = torch.zeros(1, 2, 5, 9)
    features[0, 0, 0, 8] = 100.0  # top right
    features[0, 1, 2, 4] = 100.0  # centre
    x0, x1, y0, y1 = spatial_soft_argmax(features)[0].tolist()
    assert (x0, y0) == pytest.approx((1.0, -1.0), abs=1e-4)
    assert (x1, y1) == pytest.approx((0.0, 0.0), abs=1e-4)


@pytest.mark.parametrize("config", [MLP, CNN], ids=["state_mlp", "image_cnn"])
def test_round_trip_gives_identical_actions(config, tmp_path):
    model = random_model(config)
    before = WeightsPolicy(model, config)
    loaded = load_weights_policy(save_weights(model, config, tmp_path / "sub"))
    rng = np.random.default_rng(0)
    for _ in range(5):
        obs = observation(rng)
        np.testing.assert_array_equal(before.act(obs), loaded.act(obs))
    assert json.loads((tmp_path / "sub" / "config.json").read_text()) == config.to_dict()
    info = loaded.info
    assert info.kind == "weights" and info.name == "sub" and info.image_size == config.image_size
    assert info.cameras == ((config.camera,) if config.camera else ())


@pytest.mark.parametrize("space", ["ee_delta", "joint_position"])
@pytest.mark.parametrize("binary", [True, False])
def test_actions_always_in_bounds(space, binary):
    config = ArchitectureConfig("state_mlp", action_space=space, hidden=(16,), binary_gripper=binary)
    policy = WeightsPolicy(random_model(config, action_scale=100.0), config)
    low, high = np.array(ACTION_SPACES[space].low), np.array(ACTION_SPACES[space].high)
    rng = np.random.default_rng(1)
    actions = np.stack([policy.act({"state": rng.normal(size=15) * 10, "images": {}}) for _ in range(50)])
    assert actions.shape == (50, len(low))
    assert np.all(actions >= low) and np.all(actions <= high)
    assert np.any(actions == low) and np.any(actions == high)  # the scale pushed some to the bounds
    if binary:
        assert set(actions[:, -1]) == {0.0, 1.0}


def test_binary_gripper_snaps_to_the_nearer_bound():
    low, high = np.array([-1.0, 0.0]), np.array([1.0, 1.0])
    raw = np.array([[2.0, 0.49], [-3.0, 0.5], [0.3, -4.0]])
    snapped = [bounded_action(r, low, high, True).tolist() for r in raw]
    assert snapped == [[1.0, 0.0], [-1.0, 1.0], [0.3, 0.0]]
    assert bounded_action(raw[0], low, high, False).tolist() == [1.0, 0.49]


def test_policy_refuses_observations_it_cannot_read(saved):
    policy = load_weights_policy(saved)
    rng = np.random.default_rng(2)
    with pytest.raises(PolicyError, match=r"expected a 32×24 .* got shape \(48, 64, 3\)"):
        policy.act(observation(rng, size=(64, 48)))
    with pytest.raises(PolicyError, match="no image from camera 'front'.*'side'"):
        policy.act(observation(rng, camera="side"))
    with pytest.raises(PolicyError, match="state of shape"):
        policy.act({**observation(rng), "state": np.zeros(7)})


# -- checking a submission ------------------------------------------------------------------------
def _config(folder: Path, **changes) -> None:
    data = {**CNN.to_dict(), **changes}
    (folder / "config.json").write_text(json.dumps({k: v for k, v in data.items() if v is not ...}))


def _tensors(folder: Path, **changes) -> None:
    from safetensors.torch import save_file

    tensors = {**random_model(CNN).state_dict(), **changes}
    save_file({k: v for k, v in tensors.items() if v is not None}, str(folder / "model.safetensors"))


def _truncate(folder: Path) -> None:
    path = folder / "model.safetensors"
    path.write_bytes(path.read_bytes()[:-100])


CORRUPTIONS = {
    "no config": (lambda f: (f / "config.json").unlink(), "config.json: missing"),
    "no weights": (lambda f: (f / "model.safetensors").unlink(), "model.safetensors: missing"),
    "config not json": (lambda f: (f / "config.json").write_text("{arch"), "config.json: not valid JSON"),
    "config a list": (lambda f: (f / "config.json").write_text("[]"), "expected a JSON object"),
    "config huge": (lambda f: (f / "config.json").write_text(" " * 70_000 + "{}"), "over the limit"),
    "unknown field": (lambda f: _config(f, dropout=0.1), r"unknown field\(s\) \['dropout'\]"),
    "missing field": (lambda f: _config(f, architecture=...), r"missing field\(s\) \['architecture'\]"),
    "unknown architecture": (lambda f: _config(f, architecture="vit"), "unknown architecture 'vit'"),
    "format version": (lambda f: _config(f, format_version=9), "format_version 9 is not supported"),
    "action space": (lambda f: _config(f, action_space="torque"), "action_space 'torque'"),
    "hidden not a list": (lambda f: _config(f, hidden=32), "hidden must be a list"),
    "hidden bool": (lambda f: _config(f, hidden=[True]), "hidden"),
    "image size": (lambda f: _config(f, image_size=[8, 8]), "image_size"),
    "no camera": (lambda f: _config(f, camera=None), "image_cnn needs a camera"),
    "control rate": (lambda f: _config(f, control_hz=-1), "control_hz"),
    "gripper flag": (
        lambda f: _config(f, binary_gripper="yes"),
        "binary_gripper 'yes' must be true or false",
    ),
    "absurd network": (lambda f: _config(f, hidden=[8192] * 8), "parameters, over the limit"),
    "config disagrees": (lambda f: _config(f, hidden=[64]), "has shape .* expected .* config.json"),
    "truncated": (_truncate, "not a readable safetensors file"),
    "garbage": (lambda f: (f / "model.safetensors").write_bytes(b"\x00" * 50), "not a readable safetensors"),
    "missing tensor": (lambda f: _tensors(f, **{"head.0.bias": None}), r"\['head.0.bias'\] missing"),
    "extra tensor": (lambda f: _tensors(f, extra=torch.zeros(2)), r"unexpected tensor\(s\) \['extra'\]"),
    "wrong shape": (lambda f: _tensors(f, state_std=torch.ones(14)), "'state_std' has shape \\[14\\]"),
    "wrong dtype": (lambda f: _tensors(f, action_std=torch.ones(7, dtype=torch.float64)), "F64"),
    "nan": (lambda f: _tensors(f, **{"head.0.bias": torch.full((32,), torch.nan)}), "32 non-finite"),
    "inf": (lambda f: _tensors(f, action_mean=torch.full((7,), torch.inf)), "non-finite"),
    "zero std": (lambda f: _tensors(f, state_std=torch.zeros(15)), "'state_std' must be positive"),
}


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_corrupt_submissions_raise_submission_error(saved, name):
    corrupt, message = CORRUPTIONS[name]
    corrupt(saved)
    with pytest.raises(SubmissionError, match=message) as caught:
        load_weights_policy(saved)
    assert str(saved) in str(caught.value)  # the message names the file


def test_oversized_weights_are_refused_before_reading(saved, monkeypatch):
    monkeypatch.setattr(arch, "MAX_WEIGHTS_BYTES", 1000)
    with pytest.raises(SubmissionError, match="model.safetensors: .* bytes, over the limit of 1,000"):
        load_weights_policy(saved)


def test_not_a_folder_and_bad_saves_are_refused(tmp_path):
    with pytest.raises(SubmissionError, match="not a folder"):
        load_weights_policy(tmp_path / "nothing")
    with pytest.raises(SubmissionError, match="missing"):
        save_weights(random_model(MLP), CNN, tmp_path / "mismatch")
    assert not (tmp_path / "mismatch").exists()
    with pytest.raises(SubmissionError, match="state_mlp reads no camera"):
        ArchitectureConfig("state_mlp", camera="front")


# -- behaviour cloning ------------------------------------------------------------------------------
def write_episode(folder: Path, rng: np.random.Generator, steps: int = 12, success: bool = True) -> Path:
    """A synthetic episode folder: actions a function of the state, an odd-sized video."""
    folder.mkdir(parents=True)
    states = rng.normal(size=(steps + 1, 15)).astype(np.float32)
    s = states[:-1]
    actions = np.c_[0.04 * np.tanh(s[:, :3]), 0.1 * np.tanh(s[:, 3:6]), s[:, 6:7] > 0].astype(np.float32)
    np.savez_compressed(folder / "trajectory.npz", actions=actions, state=states)
    write_mp4(folder / "front.mp4", rng.integers(0, 256, (steps + 1, 23, 33, 3), dtype=np.uint8), 10)
    record = {
        "scenario": {"config": {"action_space": "ee_delta", "image_size": [33, 23], "control_hz": 10.0}},
        "outcome": {"success": success},
    }
    (folder / "episode.json").write_text(json.dumps(record))
    return folder


@pytest.fixture(scope="module")
def episodes(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("demos")
    rng = np.random.default_rng(0)
    for i in range(4):
        write_episode(root / f"episode_{i:06d}", rng, success=i != 3)
    return episode_folders(root)


def test_demonstrations_pair_each_state_and_frame_with_its_action(episodes):
    data = load_demonstrations(episodes, camera="front", image_size=(32, 24))
    assert len(episodes) == 3  # the failed episode is not a demonstration
    assert data.states.shape == (36, 15) and data.actions.shape == (36, 7)
    assert data.images.shape == (36, 24, 32, 3) and data.images.dtype == np.uint8
    with np.load(episodes[1] / "trajectory.npz") as first:
        np.testing.assert_array_equal(data.states[12:24], first["state"][:12])
    native = load_demonstrations(episodes[:1], camera="front")
    assert native.images.shape == (12, 23, 33, 3) and native.control_hz == 10.0


def test_idle_steps_are_waits_without_a_new_command():
    move, wait, close, hold = [0.01, 0, 0, 0, 0, 0, 0], [0] * 7, [0] * 6 + [1], [0] * 6 + [1]
    actions = np.array([wait, move, wait, wait, close, hold, move], dtype=float)
    assert idle_steps(actions, "ee_delta").tolist() == [False, False, True, True, False, True, False]
    joints = np.array([[0.1] * 8, [0.1] * 8, [0.2] * 8])
    assert idle_steps(joints, "joint_position").tolist() == [False, True, False]


def test_mismatched_video_is_refused(episodes, tmp_path):
    folder = write_episode(tmp_path / "ep", np.random.default_rng(1))
    write_mp4(folder / "front.mp4", np.zeros((5, 23, 33, 3), dtype=np.uint8), 10)
    with pytest.raises(TrainingDataError, match="front.mp4: 5 frames for 13 observations"):
        load_demonstrations([folder], camera="front")


def test_unusable_folders_and_names_are_refused(episodes, tmp_path):
    folder = write_episode(tmp_path / "ep", np.random.default_rng(2))
    (folder / "episode.json").write_text('{"outcome": {}}')
    with pytest.raises(TrainingDataError, match="ep/episode.json: not a readable episode record"):
        load_demonstrations([folder])
    with pytest.raises(TrainingDataError, match="no demonstrations"):
        load_demonstrations([])
    with pytest.raises(ValueError, match="unknown architecture 'transformer'"):
        train_baseline(episodes, "transformer", tmp_path / "out")


def test_training_reduces_the_loss_and_is_deterministic(episodes, tmp_path):
    runs = [
        train_baseline(episodes, "state_mlp", tmp_path / f"run{i}", epochs=30, seed=i // 2) for i in range(3)
    ]
    assert runs[0]["final_loss"] < 0.5 * runs[0]["first_loss"]
    weights = [(tmp_path / f"run{i}" / "model.safetensors").read_bytes() for i in range(3)]
    assert weights[0] == weights[1] and weights[0] != weights[2]
    assert json.loads((tmp_path / "run0" / "training.json").read_text())["samples"] == 36


def test_trained_cnn_runs_an_episode(episodes, tmp_path):
    from benchmark.episodes.env import EnvConfig, TwinEnv
    from benchmark.episodes.episode import run_episode
    from benchmark.scenes.authored import reference_twin

    calls = []
    summary = train_baseline(
        episodes, "image_cnn", tmp_path / "cnn", epochs=3, image_size=(32, 24), progress=calls.append
    )
    assert summary["final_loss"] < summary["first_loss"] and [c["epoch"] for c in calls] == [1, 2, 3]
    policy = load_weights_policy(tmp_path / "cnn")
    assert policy.info.cameras == ("front",) and policy.info.image_size == (32, 24)
    config = EnvConfig(
        image_size=policy.info.image_size, cameras=policy.info.cameras, render="mesh", max_seconds=0.5
    )
    env = TwinEnv(reference_twin("tray_pick", "cube_in_tray"), config)
    try:
        outcome = run_episode(env, policy, seed=0, out=tmp_path / "episode")
    finally:
        env.close()
    assert outcome.termination == "timeout" and outcome.steps > 0, outcome.detail
    with np.load(tmp_path / "episode" / "trajectory.npz") as data:
        assert data["actions"].shape == (outcome.steps, 7)


def test_collected_expert_episodes_are_demonstrations(tmp_path):
    from benchmark.scenes.authored import reference_twin

    seen = []
    twin = reference_twin("tray_pick", "cube_in_tray")
    summary = collect_demonstrations(twin, tmp_path / "demos", 1, seed=1000, progress=seen.append)
    assert summary["episodes"] == 1 and seen[0]["seed"] == 1000
    assert summary["successes"] == len(summary["successful"]) == 1, "the expert failed seed 1000"
    assert episode_folders(tmp_path / "demos") == [Path(summary["successful"][0])]
    data = load_demonstrations(summary["successful"], camera="front", image_size=(64, 64), drop_idle=False)
    with np.load(tmp_path / "demos" / "episode_000000" / "trajectory.npz") as episode:
        steps = len(episode["actions"])
    assert data.images.shape == (steps, 64, 64, 3) and data.states.shape == (steps, 15)
