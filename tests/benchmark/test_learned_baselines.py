"""The learned baselines: DART demonstrations, image_cnn training with chunks and snapshots, and
the learned population shipped in ``assets/policies/learned``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmark.errors import SubmissionError
from benchmark.policies.architectures import ArchitectureConfig, load_weights_policy
from benchmark.policies.training import (
    CollectSettings,
    TrainSettings,
    action_chunks,
    demonstration_files,
    load_demonstrations,
    record_demonstrations,
    train_baseline,
)
from benchmark.sim.actions import ACTION_SPACES
from benchmark.validity.population import LEARNED_ROOT, learned_members, learned_population
from benchmark.validity.reference import ValidityError

SHIPPED = ("tray_pick", "block_push")


def write_demo(path: Path, rng: np.random.Generator, steps: int = 10, success: bool = True) -> Path:
    """A synthetic ``demo_*.npz``: actions a function of the state and of the image's brightness."""
    states = rng.normal(size=(steps, 15)).astype(np.float32)
    images = rng.integers(0, 256, (steps, 24, 32, 3), dtype=np.uint8)
    bright = images.mean(axis=(1, 2, 3))[:, None] / 255.0
    actions = np.c_[0.04 * np.tanh(states[:, :3]) * bright, 0.1 * np.tanh(states[:, 3:6]), states[:, 6:7] > 0]
    np.savez_compressed(
        path,
        images=images,
        states=states,
        actions=actions.astype(np.float32),
        executed=actions.astype(np.float32),
        success=np.array(success),
        noisy=np.array(False),
        seed=np.array(0),
        camera=np.array("front"),
        control_hz=np.array(np.nan),
    )
    return path


@pytest.fixture(scope="module")
def demos(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("npz")
    rng = np.random.default_rng(0)
    for i in range(4):
        write_demo(root / f"demo_{i:06d}.npz", rng, success=i != 2)
    return demonstration_files(root)


def test_demonstration_files_keep_the_successful_ones(demos):
    assert [p.name for p in demos] == ["demo_000000.npz", "demo_000001.npz", "demo_000003.npz"]
    data = load_demonstrations(demos, camera="front", drop_idle=False, chunk=3)
    assert data.images.shape == (30, 24, 32, 3) and data.control_hz is None
    assert data.chunks.shape == (30, 3, 7)
    np.testing.assert_array_equal(data.chunks[:, 0], data.actions)
    np.testing.assert_array_equal(data.chunks[9, 1], data.actions[9])  # the episode's last, repeated


def test_action_chunks_repeat_the_last_action():
    actions = np.arange(4.0)[:, None]
    assert action_chunks(actions, 3)[:, :, 0].tolist() == [[0, 1, 2], [1, 2, 3], [2, 3, 3], [3, 3, 3]]


def test_image_cnn_training_is_deterministic_and_snapshots_budgets(demos, tmp_path):
    settings = TrainSettings(hidden=(16,), channels=(4, 4), colour=0.1, pixel_noise=2.0, chunk=2, horizon=1)
    runs = []
    for i in range(3):
        snapshots = {1: tmp_path / f"run{i}-e1"}
        summary = train_baseline(
            demos,
            "image_cnn",
            tmp_path / f"run{i}",
            epochs=3,
            seed=i // 2,
            settings=settings,
            snapshots=snapshots,
        )
        runs.append(summary)
    weights = [(tmp_path / f"run{i}" / "model.safetensors").read_bytes() for i in range(3)]
    assert weights[0] == weights[1] and weights[0] != weights[2]
    assert runs[0]["final_loss"] < runs[0]["first_loss"] and runs[0]["samples"] == 30
    early = json.loads((tmp_path / "run0-e1" / "training.json").read_text())
    assert early["epochs"] == 1 and early["of_epochs"] == 3
    assert (tmp_path / "run0-e1" / "model.safetensors").read_bytes() != weights[0]
    policy = load_weights_policy(tmp_path / "run0")
    assert policy.config.chunk == 2 and policy.open_loop_horizon == 1
    rng = np.random.default_rng(3)
    obs = {
        "images": {"front": rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)},
        "state": rng.normal(size=15),
    }
    assert policy.act(obs).shape == (1, 7)


def test_chunk_fields_are_checked():
    with pytest.raises(SubmissionError, match="chunk 0 must be"):
        ArchitectureConfig("state_mlp", chunk=0)
    with pytest.raises(SubmissionError, match="horizon 5 must be"):
        ArchitectureConfig("state_mlp", chunk=4, horizon=5)
    assert ArchitectureConfig("state_mlp", chunk=4).played == 4


def test_dart_demonstrations_label_the_clean_action(tmp_path):
    """Noise moves what the expert executes; the label is the expert's own action, which steers
    back (the DART recipe)."""
    from benchmark.scenes.authored import reference_twin

    twin = reference_twin("block_push", "block_to_square")
    settings = CollectSettings(episodes=1, seed=1000, noise=0.01, noisy_fraction=1.0, image_size=(48, 48))
    summary = record_demonstrations(twin, tmp_path, settings)
    assert summary["noisy_episodes"] == 1 and (tmp_path / "collection.json").is_file()
    with np.load(tmp_path / "demo_000000.npz") as data:
        labels, executed, images = data["actions"], data["executed"], data["images"]
    assert images.shape == (len(labels), 48, 48, 3)
    moved = np.abs(executed[:, :3] - labels[:, :3]).max(axis=1)
    assert np.mean(moved > 0) > 0.9 and np.all(moved < 0.08)
    np.testing.assert_array_equal(executed[:, 3:], labels[:, 3:])


# -- the shipped population ----------------------------------------------------------------------
@pytest.mark.parametrize("scene", SHIPPED)
def test_shipped_checkpoints_load_and_act(scene):
    members = learned_members(LEARNED_ROOT / scene)
    assert len(members) >= 4, members
    low, high = np.array(ACTION_SPACES["ee_delta"].low), np.array(ACTION_SPACES["ee_delta"].high)
    rng = np.random.default_rng(0)
    for folder in members:
        assert (folder / "model.safetensors").stat().st_size < 1_000_000  # small enough to ship
        policy = load_weights_policy(folder)
        training = json.loads((folder / "training.json").read_text())
        assert training["architecture"] == "image_cnn" and training["scene"].startswith(scene)
        w, h = policy.info.image_size
        obs = {
            "images": {"front": rng.integers(0, 256, (h, w, 3), dtype=np.uint8)},
            "state": rng.normal(size=15),
        }
        action = np.asarray(policy.act(obs))
        assert action.shape[-1] == 7 and np.all(action >= low) and np.all(action <= high)
    assert learned_population(scene) == tuple(str(p) for p in members)


def test_a_scene_without_a_learned_population_is_one_clear_error(tmp_path):
    with pytest.raises(ValidityError, match="no learned population for scene 'kitchen_clutter'"):
        learned_population("kitchen_clutter", tmp_path)
