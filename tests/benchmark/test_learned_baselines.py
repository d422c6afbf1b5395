"""The learned baselines: DART demonstrations, image_cnn training with chunks and snapshots, and
the learned population shipped in ``assets/policies/learned``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmark.errors import PolicyError, SubmissionError, TrainingDataError
from benchmark.policies.architectures import (
    COMMAND_DIM,
    ArchitectureConfig,
    CommandTracker,
    command_track,
    expected_tensors,
    load_weights_policy,
)
from benchmark.policies.loaders import weights_info
from benchmark.policies.training import (
    CollectSettings,
    TrainSettings,
    action_chunks,
    demonstration_files,
    gripper_switches,
    load_demonstrations,
    record_demonstrations,
    replay_object_poses,
    train_baseline,
)
from benchmark.sim.actions import ACTION_SPACES
from benchmark.validity.population import LEARNED_ROOT, learned_members, learned_population
from benchmark.validity.reference import ValidityError

SHIPPED = ("tray_pick", "block_push")


def write_demo(path: Path, rng: np.random.Generator, steps: int = 10, success: bool = True) -> Path:
    """A synthetic ``demo_*.npz``: actions a function of the state and of the image's brightness."""
    states = rng.normal(size=(steps, 15)).astype(np.float32)
    states[:, 11:15] = [1, 0, 0, 0]  # the TCP's quaternion
    images = rng.integers(0, 256, (steps, 24, 32, 3), dtype=np.uint8)
    bright = images.mean(axis=(1, 2, 3))[:, None] / 255.0
    actions = np.c_[0.04 * np.tanh(states[:, :3]) * bright, 0.1 * np.tanh(states[:, 3:6]), states[:, 6:7] > 0]
    np.savez_compressed(
        path,
        images=images,
        states=states,
        actions=actions.astype(np.float32),
        executed=actions.astype(np.float32),
        objects=rng.normal(size=(steps, 2, 5)).astype(np.float32),
        wrist_images=rng.integers(0, 256, (steps, 24, 32, 3), dtype=np.uint8),
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


def test_gripper_switches_mark_where_the_command_changes(demos):
    actions = np.zeros((5, 7))
    actions[2:4, 6] = 1.0
    assert gripper_switches(actions).tolist() == [False, False, True, False, True]
    data = load_demonstrations(demos, camera="front", drop_idle=False)
    assert data.switches.shape == (30,) and data.switches.dtype == bool


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


def test_command_input_trains_and_the_policy_tracks_its_own_command(demos, tmp_path):
    """With command_input the network reads the command that the actions it played built up,
    computed the same way from a demonstration (command_track) and by the policy (CommandTracker);
    the auxiliary object-pose head trains the encoder and is never saved."""
    settings = TrainSettings(
        hidden=(16,), channels=(4, 4), command_input=True, objects=1.0, switch_weight=10.0
    )
    summary = train_baseline(demos, "image_cnn", tmp_path / "run", epochs=2, settings=settings)
    assert summary["final_loss"] < summary["first_loss"]
    policy = load_weights_policy(tmp_path / "run")
    config = policy.config
    assert config.command_input and config.input_dim == 15 + COMMAND_DIM
    assert expected_tensors(config)["state_mean"] == (15 + COMMAND_DIM,)
    rng = np.random.default_rng(5)
    states = rng.normal(size=(4, 15)).astype(np.float32)
    states[:, 11:15] = [0, 1, 0, 0]  # pointing down
    policy.reset()
    played = []
    for state in states:
        obs = {"images": {"front": rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)}, "state": state}
        played.append(policy.act(obs))
    tracked = command_track(states, np.stack(played))
    np.testing.assert_allclose(tracked[0], 0.0, atol=1e-6)  # the track starts at the TCP
    np.testing.assert_allclose(tracked[1, :3], states[0, 8:11] + played[0][:3] - states[1, 8:11], atol=1e-6)
    assert tracked[1, 6] == played[0][6]
    tracker = CommandTracker()
    for state, action in zip(states[:3], played[:3], strict=True):
        tracker.features(state)
        tracker.played(action)
    np.testing.assert_allclose(tracker.features(states[3]), tracked[3], atol=1e-6)
    policy.reset()  # a new episode starts a new track
    assert policy.command.pos is None


def test_a_second_camera_is_a_second_image_stream(demos, tmp_path):
    settings = TrainSettings(hidden=(8,), channels=(4, 4), second_camera="robot/wrist", command_input=True)
    train_baseline(demos, "image_cnn", tmp_path / "run", epochs=1, settings=settings)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["camera"] == "front" and config["second_camera"] == "robot/wrist"
    policy = load_weights_policy(tmp_path / "run")
    assert policy.info.cameras == ("front", "robot/wrist")
    assert any(name.startswith("second_encoder.") for name in expected_tensors(policy.config))
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    with pytest.raises(PolicyError, match="no image from camera 'robot/wrist'"):
        policy.act({"images": {"front": image}, "state": rng.normal(size=15)})
    policy.reset()
    action = policy.act({"images": {"front": image, "robot/wrist": image}, "state": rng.normal(size=15)})
    assert action.shape == (7,)
    assert weights_info(tmp_path / "run")["cameras"] == ["front", "robot/wrist"]  # what the env renders
    with pytest.raises(SubmissionError, match="second_camera 'front' must be null or a camera name other"):
        ArchitectureConfig("image_cnn", camera="front", second_camera="front")
    with pytest.raises(SubmissionError, match="state_mlp reads no camera"):
        ArchitectureConfig("state_mlp", second_camera="robot/wrist")
    with pytest.raises(TrainingDataError, match="holds no camera 'side'"):
        load_demonstrations(demos, camera="front", second_camera="side")


def test_demonstrations_carry_commands_and_object_poses(demos):
    data = load_demonstrations(demos, camera="front", drop_idle=False)
    assert data.commands.shape == (30, COMMAND_DIM) and data.objects.shape == (30, 10)
    assert data.inputs(True).shape == (30, 15 + COMMAND_DIM) and data.inputs(False) is data.states


def test_command_input_is_checked():
    with pytest.raises(SubmissionError, match="command_input needs the ee_delta"):
        ArchitectureConfig("state_mlp", action_space="joint_position", command_input=True)
    with pytest.raises(SubmissionError, match="command_input 1 must be true or false"):
        ArchitectureConfig.from_dict(
            {"architecture": "state_mlp", "format_version": 1, "action_space": "ee_delta", "command_input": 1}
        )


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
    path = tmp_path / "demo_000000.npz"
    with np.load(path) as data:
        labels, executed, images = data["actions"], data["executed"], data["images"]
        contents = {k: data[k] for k in data.files}
    assert images.shape == (len(labels), 48, 48, 3)
    objects = contents.pop("objects")
    assert objects.shape == (len(labels), 2, 5)  # block and square: position, cos and sin of 4 yaw
    np.savez_compressed(path, **contents)  # as demonstrations recorded before objects were
    assert replay_object_poses(twin, tmp_path) == 1 and replay_object_poses(twin, tmp_path) == 0
    with np.load(path) as data:
        np.testing.assert_allclose(data["objects"], objects, atol=1e-5)
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
        images = {c: rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for c in policy.info.cameras}
        assert "front" in images
        policy.reset()
        action = np.asarray(policy.act({"images": images, "state": rng.normal(size=15)}))
        assert action.shape[-1] == 7 and np.all(action >= low) and np.all(action <= high)
    assert learned_population(scene) == tuple(str(p) for p in members)


def test_a_scene_without_a_learned_population_is_one_clear_error(tmp_path):
    with pytest.raises(ValidityError, match="no learned population for scene 'kitchen_clutter'"):
        learned_population("kitchen_clutter", tmp_path)
