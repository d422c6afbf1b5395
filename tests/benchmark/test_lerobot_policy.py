"""LeRobot pretrained-policy folders as submissions (benchmark/policies/lerobot_policy.py), with the
real lerobot 0.4.4 in its own venv: an ACT folder made by LeRobot's ``save_pretrained`` at test time
(tests/benchmark/lerobot_act_maker.py, nothing downloaded) loads in the sandboxed worker, gives
LeRobot's own actions, and runs a full episode through the CLI; broken folders are one line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmark.errors import PolicyError, SubmissionError
from benchmark.policies.lerobot_policy import PYTHON_ENV, input_plan, is_lerobot_config
from benchmark.policies.loaders import load_policy, policy_info, resolve

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SIZE = 64  # the ACT folder's images: 64×64
STEPS = 6  # observations LeRobot answers in the maker (more than ACT's chunk of 4)
INSTRUCTION = "put the block on the square"


@pytest.fixture(scope="session")
def lerobot_python() -> Path:
    """The python of a venv holding the real lerobot: $TWINARENA_LEROBOT_PYTHON, or
    <repo>/.venv-lerobot/bin/python (what the worker uses too); built with .ci/lerobot-venv.sh when
    missing (a failed build fails the test: it is never skipped)."""
    from side_venvs import side_venv_python  # here: this module is also loaded in sandboxed workers

    return side_venv_python(PYTHON_ENV, ".venv-lerobot", "lerobot-venv.sh")


@pytest.fixture(scope="session")
def act_folder(lerobot_python, tmp_path_factory) -> Path:
    """An ACT policy folder written by LeRobot's own save_pretrained, with expected.npz beside it."""
    folder = tmp_path_factory.mktemp("lerobot") / "act"
    made = subprocess.run(
        [
            str(lerobot_python),
            str(HERE / "lerobot_act_maker.py"),
            str(folder),
            str(SIZE),
            str(SIZE),
            "0",
            str(STEPS),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=300,
    )
    assert made.returncode == 0, made.stderr
    expected = folder / "expected.npz"
    keep = folder.parent / "expected.npz"
    shutil.move(expected, keep)  # not part of the policy folder
    return folder


def expected(act_folder: Path):
    return np.load(act_folder.parent / "expected.npz")


def copy_of(act_folder: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "policy"
    shutil.copytree(act_folder, folder)
    return folder


def edit_config(folder: Path, edit) -> None:
    config = json.loads((folder / "config.json").read_text())
    edit(config)
    (folder / "config.json").write_text(json.dumps(config))


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "benchmark.cli", *args], capture_output=True, text=True, env=env
    )


def test_a_lerobot_folder_is_its_own_kind_with_the_features_its_config_says(act_folder):
    source = resolve(str(act_folder))
    assert source.kind == "lerobot" and source.detail == {"kind": "lerobot", "path": str(act_folder)}
    info = policy_info(source)
    assert (info.kind, info.action_space, info.cameras, info.image_size) == (
        "lerobot",
        "ee_delta",
        ("front",),
        (SIZE, SIZE),
    )


def test_our_own_weights_config_is_not_taken_for_lerobots():
    assert not is_lerobot_config({"architecture": "image_cnn", "action_space": "ee_delta"})
    assert not is_lerobot_config({"type": "act"})  # a type alone is not a LeRobot policy config
    assert is_lerobot_config({"type": "diffusion", "input_features": {}})


def test_the_sandboxed_worker_gives_lerobots_own_actions(act_folder):
    """The worker, in the sandbox with the lerobot venv's python, maps our observation (H×W×3 uint8,
    15-number state, instruction) to the features and gives what LeRobot's own eval path gives,
    chunk queue included (6 steps of a 4-action chunk)."""
    want = expected(act_folder)
    policy, _ = load_policy(str(act_folder))
    with policy:
        policy.reset(INSTRUCTION)
        assert policy.isolation["network"] != "allowed"
        got = [
            policy.act({"images": {"front": image}, "state": state, "instruction": INSTRUCTION})
            for image, state in zip(want["images"], want["states"], strict=True)
        ]
        # the first action again after reset: the chunk queue starts over
        policy.reset(INSTRUCTION)
        again = policy.act({"images": {"front": want["images"][0]}, "state": want["states"][0]})
        # a missing camera is one line naming the feature
        with pytest.raises(PolicyError) as missing:
            policy.act({"images": {"wrist": want["images"][0]}, "state": want["states"][0]})
        assert "observation.images.front: the observation has no camera 'front'" in str(missing.value)
    np.testing.assert_allclose(np.stack(got), want["actions"], atol=1e-6)
    np.testing.assert_allclose(again, want["actions"][0], atol=1e-6)
    assert np.ptp(want["actions"][:, 0]) > 0  # the actions depend on the observation


def test_a_lerobot_act_folder_runs_a_full_episode_from_the_command_line(act_folder, tmp_path):
    out = tmp_path / "episode"
    done = cli(
        "episode", "block_push", "--policy", str(act_folder), "-o", str(out), "--render", "mesh", "--json"
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    # a random ACT does not solve the task; it must run to the end without a policy fault
    assert result["termination"] in ("timeout", "success"), result
    assert result["steps"] >= 20, result
    trajectory = np.load(out / "trajectory.npz")
    actions = trajectory["actions"]
    assert actions.shape == (result["steps"], 7)
    # LeRobot's unnormaliser: mean 0.5, std 0.05 on the gripper, small deltas elsewhere
    assert np.all(np.abs(actions[:, 6] - 0.5) < 0.3) and np.all(np.abs(actions[:, :3]) < 0.05)


def _feature(features: str, name: str, feature: dict | None):
    def edit(config: dict) -> None:
        if feature is None:
            config[features].pop(name)
        else:
            config[features][name] = feature

    return edit


UNFED = {
    "images only": (_feature("input_features", "observation.state", None), None),
    "state of 9": (
        _feature("input_features", "observation.state", {"type": "STATE", "shape": [9]}),
        "observation.state: the policy wants shape [9]",
    ),
    "environment state": (
        _feature("input_features", "observation.environment_state", {"type": "ENV", "shape": [4]}),
        "observation.environment_state: TwinArena gives no such input",
    ),
    "action of 5": (
        _feature("output_features", "action", {"type": "ACTION", "shape": [5]}),
        "action: the policy outputs 5 numbers",
    ),
    "malformed image": (
        _feature("input_features", "observation.images.front", {"type": "VISUAL", "shape": "x"}),
        "feature 'observation.images.front' must be",
    ),
}


@pytest.mark.parametrize("case", list(UNFED))
def test_what_twinarena_cannot_feed_is_refused_naming_the_feature(act_folder, tmp_path, case):
    edit, words = UNFED[case]
    folder = copy_of(act_folder, tmp_path)
    edit_config(folder, edit)
    if words is None:
        assert policy_info(resolve(str(folder))).cameras == ("front",)
        return
    with pytest.raises(SubmissionError) as raised:
        policy_info(resolve(str(folder)))
    assert words in str(raised.value)


def test_processor_steps_come_from_lerobot_only(act_folder, tmp_path):
    folder = copy_of(act_folder, tmp_path)
    pipeline = json.loads((folder / "policy_preprocessor.json").read_text())
    pipeline["steps"][0] = {"class": "os.system", "config": {}}
    (folder / "policy_preprocessor.json").write_text(json.dumps(pipeline))
    with pytest.raises(SubmissionError, match="step 0 names class 'os.system'; only LeRobot's own steps"):
        policy_info(resolve(str(folder)))


def one_line_exit_2(done: subprocess.CompletedProcess, *words: str) -> None:
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    for word in words:
        assert word in done.stderr, done.stderr


def damaged(act_folder: Path, tmp_path: Path, damage: str) -> tuple[Path, tuple[str, ...]]:
    """A copy of the ACT folder damaged so, and the words the refusal must say."""
    folder = copy_of(act_folder, tmp_path)
    weights = folder / "model.safetensors"
    if damage == "cut":
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
        return folder, ("model.safetensors", "cut short")
    if damage == "header":
        weights.write_bytes(b"\xff" * 64)
        return folder, ("model.safetensors", "not a safetensors file")
    if damage == "missing":
        weights.unlink()
        return folder, ("needs model.safetensors",)
    if damage == "no postprocessor":
        (folder / "policy_postprocessor.json").unlink()
        return folder, ("policy_postprocessor.json is missing",)
    (folder / "config.json").write_text('{"type": "act", "input_features": {')
    return folder, ("config.json", "not valid JSON")


@pytest.mark.parametrize("damage", ["cut", "header", "missing", "no postprocessor"])
def test_a_damaged_folder_is_refused_before_any_worker_starts(act_folder, tmp_path, damage):
    folder, words = damaged(act_folder, tmp_path, damage)
    with pytest.raises(SubmissionError) as raised:
        policy_info(resolve(str(folder)))
    for word in words:
        assert word in str(raised.value)


@pytest.mark.parametrize("damage", ["cut", "bad json"])
def test_a_damaged_folder_is_one_line_and_exit_2_from_the_command_line(act_folder, tmp_path, damage):
    folder, words = damaged(act_folder, tmp_path, damage)
    done = cli(
        "episode", "block_push", "--policy", str(folder), "-o", str(tmp_path / "ep"), "--render", "mesh"
    )
    one_line_exit_2(done, *words)
    assert not (tmp_path / "ep").exists()


def test_submit_registers_a_lerobot_folder_and_refuses_weights_that_do_not_fit(act_folder, tmp_path):
    """``submit`` validates the folder in the sandboxed worker and registers it as kind lerobot; a
    config.json whose model differs from the safetensors (a wider transformer) is refused by
    LeRobot's strict load inside the worker, in one line, exit 2."""
    env = {**os.environ, "COLUMNS": "200", "TWINARENA_HOME": str(tmp_path / "home")}
    env.pop("TWINARENA_DB", None)

    def submit(folder: Path, name: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "benchmark.cli", "submit", str(folder), "--name", name, "--json"]
        return subprocess.run(command, capture_output=True, text=True, env=env)

    done = submit(act_folder, "tiny-act")
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert (record["kind"], record["action_space"], record["probe"]["action_shape"]) == (
        "lerobot",
        "ee_delta",
        [7],
    )
    wide = copy_of(act_folder, tmp_path)
    edit_config(wide, lambda c: c.__setitem__("dim_model", 48))
    one_line_exit_2(submit(wide, "wide-act"), "model.safetensors: does not fit its config.json")


def test_a_diffusion_policy_folder_runs_in_the_worker_too(lerobot_python, tmp_path):
    """Diffusion Policy (an 8-number state: joints and finger opening; two observation steps): its
    actions come out unnormalised into the min/max bounds its processor was saved with."""
    folder = tmp_path / "diffusion"
    made = subprocess.run(
        [
            str(lerobot_python),
            str(HERE / "lerobot_act_maker.py"),
            str(folder),
            "64",
            "64",
            "1",
            "0",
            "diffusion",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=300,
    )
    assert made.returncode == 0, made.stderr
    info = policy_info(resolve(str(folder)))
    assert (info.kind, info.action_space, info.cameras) == ("lerobot", "ee_delta", ("front",))
    rng = np.random.default_rng(1)
    policy, _ = load_policy(str(folder))
    with policy:
        policy.reset(INSTRUCTION)
        actions = np.stack(
            [
                policy.act(
                    {"images": {"front": rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)}, "state": state}
                )
                for state in rng.normal(0, 0.5, (6, 15)).astype(np.float32)
            ]
        )
    assert actions.shape == (6, 7) and np.all(np.isfinite(actions))
    assert np.all(np.abs(actions[:, :6]) <= 0.01 + 1e-6) and np.all(
        (actions[:, 6] >= -1e-6) & (actions[:, 6] <= 1 + 1e-6)
    )
    assert np.ptp(actions[:, 6]) > 0  # not a constant: the denoiser ran


def test_input_plan_maps_the_single_image_feature_to_the_front_camera():
    config = {
        "input_features": {
            "observation.image": {"type": "VISUAL", "shape": [3, 48, 32]},
            "observation.state": {"type": "STATE", "shape": [8]},
        }
    }
    assert input_plan(config) == ({"observation.image": "front"}, (32, 48), 8)
