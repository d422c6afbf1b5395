"""The Gymnasium environment over twins, the episode runner and their errors."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from benchmark.episodes.env import EnvConfig, ScenarioError, TwinEnv
from benchmark.episodes.episode import run_episode
from benchmark.perturbations.axes import PerturbationError
from benchmark.perturbations.pipeline import cover_intrinsics
from benchmark.policies.perception import VisionExpert
from benchmark.scenes.authored import reference_twin
from benchmark.sim.actions import EE_DELTA, JOINT_POSITION
from twin.package import TwinPackageError

SMALL = EnvConfig(image_size=(96, 96), render="mesh")


@pytest.fixture(scope="module")
def tray() -> Path:
    return reference_twin("tray_pick")


# -- the gymnasium API ----------------------------------------------------------------------------
def test_env_passes_gymnasium_checker(tray):
    from gymnasium.utils.env_checker import check_env

    env = TwinEnv(tray, SMALL)
    check_env(env, skip_render_check=True)
    env.close()


def test_observation_follows_the_design(tray):
    env = TwinEnv(tray, EnvConfig(image_size=(80, 64), render="mesh", wrist_camera=True))
    obs, info = env.reset(seed=1)
    assert set(obs) == {"images", "state", "instruction"}
    assert set(obs["images"]) == {"front", "robot/wrist"}
    for image in obs["images"].values():
        assert image.shape == (64, 80, 3) and image.dtype == np.uint8
    assert obs["state"].shape == (15,) and obs["state"].dtype == np.float32
    assert obs["instruction"] == env.twin.task["instruction"]
    assert env.observation_space.contains(obs)
    assert info["termination"] is None and set(info["object_poses"]) >= {"red_cube", "blue_tray"}
    env.close()


def test_cover_intrinsics_keeps_the_view_centre_and_square_pixels():
    K = np.array([[300.0, 0, 160], [0, 300.0, 120], [0, 0, 1]])
    out = cover_intrinsics(K, (320, 240), (128, 128))
    assert out[0, 0] == pytest.approx(out[1, 1]) == pytest.approx(300 * 128 / 240)
    assert out[0, 2] == pytest.approx(64) and out[1, 2] == pytest.approx(64)


def test_ee_delta_moves_the_tool_point(tray):
    env = TwinEnv(tray, SMALL)
    obs, _ = env.reset(seed=0)
    start = obs["state"][8:11].copy()
    for _ in range(5):
        obs, *_ = env.step(np.array([0.02, 0.0, 0.0, 0, 0, 0, 0]))
    assert obs["state"][8] - start[0] == pytest.approx(0.1, abs=0.02)
    env.close()


def test_joint_position_actions_reach_their_targets(tray):
    env = TwinEnv(tray, EnvConfig(image_size=(64, 64), render="mesh", action_space="joint_position"))
    obs, _ = env.reset(seed=0)
    target = obs["state"][:7] + np.array([0.2, -0.1, 0.1, 0.15, 0.0, 0.1, -0.2])
    for _ in range(15):
        obs, *_ = env.step(np.r_[target, 1.0])
    np.testing.assert_allclose(obs["state"][:7], target, atol=0.02)
    assert obs["state"][7] < 0.005  # gripper closed
    env.close()


def test_control_rate_sets_the_physics_substeps(tray):
    env = TwinEnv(tray, EnvConfig(image_size=(64, 64), render="mesh", control_hz=20.0))
    env.reset(seed=0)
    t0 = env.scenario.world.time
    env.step(np.zeros(7))
    assert env.scenario.world.time - t0 == pytest.approx(0.05)
    env.close()


def test_rewards_sum_to_final_progress_and_success_terminates(tray):
    env = TwinEnv(tray, EnvConfig(image_size=(160, 160), render="mesh"))
    expert = VisionExpert.calibrated(env)
    obs, _ = env.reset(seed=0)
    expert.reset(obs["instruction"])
    total, done = 0.0, False
    while not done:
        obs, reward, terminated, truncated, info = env.step(expert.act(obs))
        total += reward
        done = terminated or truncated
    assert terminated and info["termination"] == "success"
    assert total == pytest.approx(1.0)
    env.close()


def test_timeout_truncates(tray):
    env = TwinEnv(tray, EnvConfig(image_size=(48, 48), render="mesh", max_seconds=0.5))
    env.reset(seed=0)
    ends = [env.step(np.zeros(7))[2:5] for _ in range(5)]
    assert [t or u for t, u, _ in ends] == [False] * 4 + [True]
    terminated, truncated, info = ends[-1]
    assert truncated and not terminated and info["termination"] == "timeout"
    env.close()


# -- rendering ----------------------------------------------------------------------------------
def test_splat_twin_renders_by_compositing_and_mesh_mode_differs(tray_pick_twin):
    twin = tray_pick_twin["twin"]
    splat = TwinEnv(twin, EnvConfig(image_size=(96, 96)))
    mesh = TwinEnv(twin, EnvConfig(image_size=(96, 96), render="mesh"))
    a, _ = splat.reset(seed=0)
    b, _ = mesh.reset(seed=0)
    assert splat.scenario.renderer.splats and not mesh.scenario.renderer.splats
    name = next(iter(a["images"]))
    diff = np.abs(a["images"][name].astype(int) - b["images"][name]).mean()
    assert diff > 5.0  # splat background vs. MuJoCo's plain floor and walls
    # the robot is drawn over the splats: moving the arm changes the composited image
    renderer = splat.scenario.renderer
    before = renderer.render(name, 96, 96)[0]
    for _ in range(4):
        splat.step(np.array([0.0, 0.0, 0.05, 0, 0, 0, 0]))
    after = renderer.render(name, 96, 96)[0]
    assert np.abs(after.astype(int) - before).mean() > 0.2
    assert len(renderer._background_cache) == 1  # a static camera's background is rendered once
    splat.close()
    mesh.close()


def test_a_moving_wrist_camera_keeps_one_cached_background(tray_pick_twin):
    """The wrist camera's view changes every step: its background layer is replaced, not piled
    up one per step (which leaked ~0.3 MiB a step), and the front view stays cached beside it."""
    env = TwinEnv(tray_pick_twin["twin"], EnvConfig(image_size=(64, 64), wrist_camera=True))
    env.reset(seed=0)
    renderer = env.scenario.renderer
    for _ in range(6):
        env.step(np.array([0.02, 0.0, 0.02, 0, 0, 0, 0]))
    assert len(renderer._background_cache) == 2  # one per camera, however many steps
    assert len(renderer._object_cache) <= 2 * 2  # solids and marks, per camera
    env.close()


def test_render_splat_without_splats_is_refused(tray):
    with pytest.raises(ScenarioError, match="no splats"):
        TwinEnv(tray, EnvConfig(image_size=(48, 48), render="splat")).reset(seed=0)


# -- determinism across processes -----------------------------------------------------------------
_PROBE = """
import hashlib, json, sys
from benchmark.episodes.env import EnvConfig, TwinEnv
from benchmark.episodes.episode import run_episode
from benchmark.policies.perception import VisionExpert
twin, perturb = sys.argv[1], tuple(p for p in sys.argv[2].split(',') if p)
env = TwinEnv(twin, EnvConfig(image_size=(112, 112), perturbations=perturb))
obs, _ = env.reset(seed=7)
frames = {k: hashlib.sha256(v.tobytes()).hexdigest() for k, v in obs['images'].items()}
outcome = run_episode(env, VisionExpert.calibrated(env), seed=7) if len(sys.argv) > 3 else None
print(json.dumps({'frames': frames, 'state': obs['state'].tolist(),
                  'outcome': None if outcome is None else [outcome.success, outcome.progress, outcome.steps],
                  'poses': {n: p.pos.tolist() for n, p in env.scenario.world.object_poses().items()}}))
"""


def _probe(twin, perturb: str, episode: bool) -> dict:
    args = [sys.executable, "-c", _PROBE, str(twin), perturb] + (["episode"] if episode else [])
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_same_scenario_is_identical_across_processes(tray):
    perturb = "object_placement=0.4,light_direction=0.5,camera_pose=0.3,image_noise=0.5,distractors=0.5"
    first, second = _probe(tray, perturb, True), _probe(tray, perturb, True)
    assert first == second
    assert first["outcome"][2] > 10
    other = _probe(tray, perturb.replace("0.4", "0.5"), False)
    assert other["frames"] != first["frames"]


def test_splat_first_frame_is_identical_across_processes(tray_pick_twin):
    perturb = "table_color=0.5,light_intensity=0.5,object_size=0.5"
    assert _probe(tray_pick_twin["twin"], perturb, False) == _probe(tray_pick_twin["twin"], perturb, False)


# -- the vision expert -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "scene, task",
    [
        ("tray_pick", None),
        ("cube_stack", None),
        ("block_push", None),
        ("kitchen_clutter", "hex_on_plate"),
        ("kitchen_clutter", "can_to_zone"),
    ],
)
def test_vision_expert_succeeds_at_level_0_in_every_reference_twin(scene, task):
    env = TwinEnv(reference_twin(scene, task), EnvConfig())
    outcome = run_episode(env, VisionExpert.calibrated(env), seed=0)
    assert outcome.success, outcome
    env.close()


def test_vision_expert_succeeds_in_a_reconstructed_splat_twin(tray_pick_twin):
    env = TwinEnv(tray_pick_twin["twin"], EnvConfig())
    assert env.scenario is None
    outcome = run_episode(env, VisionExpert.calibrated(env), seed=0)
    assert env.scenario.renderer.splats
    assert outcome.success, outcome
    env.close()


@pytest.mark.parametrize("which", ["authored", "reconstructed"])
def test_level_0_seeds_start_from_different_states(which, tray, tray_pick_twin):
    """A seed changes what the policy faces, unperturbed: the twin declares how far starts vary."""
    twin = tray if which == "authored" else tray_pick_twin["twin"]
    env = TwinEnv(twin, SMALL)
    starts = []
    for seed in (0, 1, 0):
        obs, info = env.reset(seed=seed)
        starts.append((np.stack(list(info["object_poses"].values())), obs["images"]["front"]))
    env.close()
    (poses0, image0), (poses1, image1), (again, image_again) = starts
    assert np.abs(poses0[:, :2] - poses1[:, :2]).max() > 0.002  # some object starts ≥ 2 mm apart
    assert not np.array_equal(image0, image1)
    assert np.array_equal(poses0, again) and np.array_equal(image0, image_again)


# -- episodes ---------------------------------------------------------------------------------------
def test_episode_folder_holds_videos_trajectory_and_outcome(tray, tmp_path):
    from twin.video import read_mp4 as read_video

    env = TwinEnv(tray, EnvConfig(image_size=(160, 160), render="mesh", wrist_camera=True))
    outcome = run_episode(env, VisionExpert.calibrated(env), seed=0, out=tmp_path / "ep")
    folder = tmp_path / "ep"
    assert sorted(p.name for p in folder.iterdir()) == [
        "episode.json",
        "front.mp4",
        "robot_wrist.mp4",
        "trajectory.npz",
    ]
    video = read_video(folder / "front.mp4")
    assert video.shape == (outcome.steps + 1, 160, 160, 3)
    data = np.load(folder / "trajectory.npz")
    assert data["actions"].shape == (outcome.steps, 7)
    assert data["state"].shape == (outcome.steps + 1, 15)
    assert data["object_poses"].shape == (outcome.steps + 1, 3, 7)
    assert list(data["object_names"]) == list(env.scenario.world.object_names)
    record = json.loads((folder / "episode.json").read_text())
    assert record["outcome"]["termination"] == "success" and record["outcome"]["success"]
    assert record["scenario"]["twin_hash"] == env.twin.content_hash
    assert record["scenario"]["seed"] == 0
    env.close()


class _Scripted:
    """A policy that returns the given answers in turn (callables are called)."""

    def __init__(self, *answers):
        self.answers = answers

    def reset(self, instruction):
        self.i = 0

    def act(self, observation):
        answer = self.answers[min(self.i, len(self.answers) - 1)]
        self.i += 1
        return answer() if callable(answer) else answer


def _raise():
    raise RuntimeError("policy exploded")


def _hang():
    time.sleep(30)


@pytest.mark.parametrize(
    "answers, reason, words",
    [
        ((np.zeros(7), np.full(7, np.nan)), "invalid_action", "non-finite"),
        ((np.zeros(7), np.zeros(5)), "invalid_action", "shape (5,)"),
        ((np.r_[0.5, np.zeros(6)],), "invalid_action", "outside"),
        ((np.zeros(7), "left"), "invalid_action", "not numeric"),
        ((np.zeros(7), _raise), "policy_error", "policy exploded"),
        ((np.zeros(7), _hang), "policy_timeout", "no action within"),
    ],
)
def test_broken_policies_end_with_a_termination_reason(tray, answers, reason, words):
    env = TwinEnv(tray, EnvConfig(image_size=(48, 48), render="mesh"))
    start = time.perf_counter()
    outcome = run_episode(env, _Scripted(*answers), seed=0, step_timeout=1.0)
    assert outcome.termination == reason and words in outcome.detail
    assert not outcome.success
    assert time.perf_counter() - start < 20  # a hung policy does not hang the runner
    env.close()


def test_action_chunks_are_executed_in_order(tray):
    env = TwinEnv(tray, EnvConfig(image_size=(48, 48), render="mesh", max_seconds=0.8))
    chunk = np.tile(np.array([0.0, 0.0, 0.02, 0, 0, 0, 0]), (4, 1))
    outcome = run_episode(env, _Scripted(chunk), seed=0)
    assert outcome.termination == "timeout" and outcome.steps == 8
    env.close()


# -- bad input ---------------------------------------------------------------------------------------
def test_unknown_axis_and_bad_level_are_refused(tray):
    with pytest.raises(PerturbationError, match="unknown perturbation axis 'lighting'"):
        TwinEnv(tray, EnvConfig(perturbations=("lighting=0.5",)))
    with pytest.raises(PerturbationError, match=r"level must be in \[0, 1\], got 1.5"):
        TwinEnv(tray, EnvConfig(perturbations=("light_intensity=1.5",)))
    with pytest.raises(PerturbationError, match="expected AXIS=LEVEL"):
        TwinEnv(tray, EnvConfig(perturbations=("light_intensity",)))


def test_twin_with_a_missing_file_is_named(tray, tmp_path):
    broken = Path(shutil.copytree(tray, tmp_path / "broken"))
    (broken / "scene.xml").unlink()
    with pytest.raises(TwinPackageError, match=r"scene\.xml: missing"):
        TwinEnv(broken, SMALL)


def test_splat_twin_with_a_missing_ply_is_named(tray_pick_twin, tmp_path):
    broken = Path(shutil.copytree(tray_pick_twin["twin"], tmp_path / "broken"))
    ply = next((broken / "objects").glob("*.ply"))
    ply.unlink()
    with pytest.raises(TwinPackageError, match=ply.name):
        TwinEnv(broken, EnvConfig())


def test_unknown_camera_and_bad_settings_are_named(tray):
    with pytest.raises(ScenarioError, match="no camera 'top'"):
        TwinEnv(tray, EnvConfig(cameras=("top",), render="mesh")).reset(seed=0)
    with pytest.raises(ScenarioError, match="unknown action space"):
        EnvConfig(action_space="torque")
    with pytest.raises(ScenarioError, match="image size"):
        EnvConfig(image_size=(4, 4))


def test_action_bounds_match_the_spaces(tray):
    assert TwinEnv(tray, SMALL).action_space.shape == (EE_DELTA.dim,)
    env = TwinEnv(tray, EnvConfig(render="mesh", action_space="joint_position"))
    assert env.action_space.shape == (JOINT_POSITION.dim,)


def test_first_frame_hash_is_stable_within_a_process(tray):
    env = TwinEnv(tray, EnvConfig(image_size=(64, 64), perturbations=("object_yaw=0.7",)))
    a = hashlib.sha256(env.reset(seed=3)[0]["images"]["front"].tobytes()).hexdigest()
    env.reset(seed=4)
    b = hashlib.sha256(env.reset(seed=3)[0]["images"]["front"].tobytes()).hexdigest()
    assert a == b
    env.close()


def test_pybullet_backend_runs_the_same_scenario(tray):
    config = EnvConfig(
        image_size=(160, 160), render="mesh", backend="pybullet", perturbations=("object_mass=0.5",)
    )
    env = TwinEnv(tray, config)
    outcome = run_episode(env, VisionExpert.calibrated(env), seed=0)
    assert type(env.scenario.world).__name__ == "BulletWorld"
    assert outcome.success, outcome
    env.close()
    with pytest.raises(ValueError, match="unknown physics backend 'ode'"):
        TwinEnv(tray, EnvConfig(render="mesh", backend="ode")).reset(seed=0)


@pytest.mark.parametrize(
    "args, words",
    [
        (["-p", "bogus=1"], "unknown perturbation axis 'bogus'"),
        (["-p", "light_intensity=1.5"], "level must be in [0, 1], got 1.5"),
        (["--image-size", "huge"], "expected WIDTHxHEIGHT"),
    ],
)
def test_cli_episode_bad_input_is_one_line(tray, tmp_path, args, words):
    cmd = [sys.executable, "-m", "benchmark.cli", "episode", str(tray), "-o", str(tmp_path / "ep"), *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and words in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "ep").exists()


def test_cli_episode_refuses_what_twin_check_refuses(tray, tmp_path):
    import shutil

    edited = tmp_path / "edited"
    shutil.copytree(tray, edited)
    (edited / "calibration.json").write_text((edited / "calibration.json").read_text() + " ")
    cmd = [sys.executable, "-m", "benchmark.cli", "episode", str(edited), "-o", str(tmp_path / "ep")]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "not a sound package" in done.stderr and "changed since the package was built" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not (tmp_path / "ep").exists()


def test_cli_episode_writes_an_episode(tray, tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "benchmark.cli",
        "episode",
        str(tray),
        "-o",
        str(tmp_path / "ep"),
        "--render",
        "mesh",
        "-p",
        "object_mass=0.5",
        "--json",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=True)
    result = json.loads(done.stdout)
    assert result["termination"] == "success"
    record = json.loads((tmp_path / "ep" / "episode.json").read_text())
    assert record["scenario"]["perturbations"] == {"object_mass": 0.5}


def test_cli_episode_refuses_an_existing_folder_before_running(tray, tmp_path):
    out = tmp_path / "ep"
    out.mkdir()
    (out / "keep.txt").write_text("keep")
    cmd = [sys.executable, "-m", "benchmark.cli", "episode", str(tray), "-o", str(out), "--render", "mesh"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "already exists" in done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    with pytest.raises(FileExistsError, match="already exists"):
        run_episode(TwinEnv(tray, SMALL), _Scripted(_hang), seed=0, out=out)  # refused before acting


def test_cli_names_a_twin_that_is_neither_folder_nor_scene(tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "benchmark.cli",
        "episode",
        str(tmp_path / "nowhere"),
        "-o",
        str(tmp_path / "ep"),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "neither a twin package folder nor SCENE[/TASK]" in done.stderr
    assert "nowhere" in done.stderr and "Traceback" not in done.stderr


def test_cli_unknown_option_is_a_usage_error_not_a_traceback():
    done = subprocess.run(
        [sys.executable, "-m", "benchmark.cli", "scenes", "--bogus"], capture_output=True, text=True
    )
    assert (
        done.returncode == 2 and "No such option: --bogus" in done.stderr and "Traceback" not in done.stderr
    )
