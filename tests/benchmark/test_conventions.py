"""Policy conventions (benchmark/policies/conventions.py): joint velocities integrated at the
control rate, letterboxed and wrist cameras, and full episodes against servers written in openpi's
style with the DROID and LIBERO conventions: stale chunks never played, missing keys one line."""

from __future__ import annotations

import json
import urllib.request

import numpy as np
import pytest
from openpi_style import DroidJointPolicy, LiberoReachPolicy, openpi_style_server

from benchmark.campaigns.campaign import RunSettings, env_config
from benchmark.episodes.env import EnvConfig, TwinEnv
from benchmark.episodes.episode import rollout
from benchmark.errors import InvalidAnswer
from benchmark.policies.conventions import ALOHA, DROID, EXTERIOR, LIBERO, WRIST, adapt, state_piece
from benchmark.policies.loaders import load_policy
from benchmark.policies.protocol import PolicyInfo
from benchmark.scenes.authored import reference_twin
from benchmark.sim.letterbox import fit_size, resize_with_pad
from twin.scene.robot import HOME_QPOS
from twin.transforms import axis_angle_to_mat, mat_to_quat

SETTINGS = RunSettings(render="mesh", max_seconds=4.0)


@pytest.fixture(scope="module")
def tray():
    return reference_twin("tray_pick")


def _env(tray, adapter: str) -> TwinEnv:
    return TwinEnv(tray, env_config(PolicyInfo("p", adapter=adapter), SETTINGS))


# -- joint velocities --------------------------------------------------------------------------------
@pytest.mark.parametrize("hz", [15.0, 20.0])
def test_a_constant_joint_velocity_moves_the_joint_by_v_times_t(tray, hz):
    env = TwinEnv(
        tray, EnvConfig(action_space="joint_velocity", render="mesh", image_size=(32, 32), control_hz=hz)
    )
    env.reset(seed=0)
    world = env.scenario.world
    period = world.substeps * world.model.opt.timestep
    start = world.arm_joints()
    v = np.array([0.4, 0.0, -0.3, 0.0, 0.5, 0.0, 0.0])
    steps = int(round(1.5 / period))
    for _ in range(steps):
        env.step(np.r_[v, 0.0])
    for _ in range(int(round(1.0 / period))):  # hold still (zero velocity) and let the servos settle
        env.step(np.zeros(8))
    moved = world.arm_joints() - start
    expected = v * steps * period
    moving = v != 0
    assert np.allclose(moved[moving], expected[moving], rtol=0.01), (moved, expected)
    assert np.all(np.abs(moved[~moving]) < 0.01 * np.abs(expected).max())
    env.close()


def test_zero_joint_velocity_holds_the_arm_where_it_is(tray):
    env = TwinEnv(tray, EnvConfig(action_space="joint_velocity", render="mesh", image_size=(32, 32)))
    env.reset(seed=0)
    for _ in range(20):
        obs, _, _, _, info = env.step(np.zeros(8))
    assert info["termination"] is None
    assert np.allclose(obs["state"][:7], HOME_QPOS, atol=0.02)  # not driven to all-zero joints
    env.close()


# -- images ------------------------------------------------------------------------------------------
def test_letterboxing_keeps_the_aspect_and_pads_black():
    assert fit_size((1280, 720), (224, 224)) == (224, 126)
    assert fit_size((320, 240), (224, 224)) == (224, 168)
    image = np.full((720, 1280, 3), 200, np.uint8)
    boxed = resize_with_pad(image, (224, 224))
    assert boxed.shape == (224, 224, 3)
    assert (boxed[:49] == 0).all() and (boxed[-49:] == 0).all()
    assert (boxed[50:174] == 200).all()


def test_an_adapted_env_renders_the_wrist_camera_letterboxed(tray):
    env = _env(tray, "droid")
    assert env.config.action_space == "joint_velocity" and env.config.control_hz == 15.0
    obs, _ = env.reset(seed=0)
    assert set(obs["images"]) == {"front", "robot/wrist"}
    wrist = obs["images"]["robot/wrist"]
    assert wrist.shape == (224, 224, 3)
    top, bottom, middle = wrist[:48], wrist[-48:], wrist[60:164]
    assert top.max() == 0 and bottom.max() == 0 and middle.mean() > 40  # 224×126 between bars
    assert env.render_size("robot/wrist") == (224, 126)
    env.close()


# -- the conventions' mappings -------------------------------------------------------------------------
def _state(q=HOME_QPOS, opening=0.04, pos=(0.1, 0.2, 0.3), rotvec=(0.0, 0.3, 0.0)):
    quat = mat_to_quat(axis_angle_to_mat(np.asarray(rotvec)))
    return np.r_[q, opening, pos, quat].astype(np.float32)


def test_state_pieces_are_in_the_robot_base_frame_and_the_conventions_units():
    base = (np.array([-0.5, 0.0, 0.1]), np.eye(3))
    state = _state(opening=0.01)
    assert np.allclose(state_piece("eef_pos", state, base), [0.6, 0.2, 0.2], atol=1e-6)
    assert np.allclose(state_piece("eef_axis_angle", state, base), [0.0, 0.3, 0.0], atol=1e-5)
    assert np.allclose(state_piece("gripper_closed", state, base), [0.75])
    assert np.allclose(state_piece("gripper_open", state, base), [0.25])
    assert np.allclose(state_piece("gripper_qpos", state, base), [0.01, -0.01])


def test_each_convention_builds_its_own_message():
    obs = {
        "images": {
            "front": np.zeros((168, 224, 3), np.uint8),
            "robot/wrist": np.ones((224, 224, 3), np.uint8),
        },
        "state": _state(),
        "instruction": "put the cube in the tray",
    }
    roles = {EXTERIOR: "front", WRIST: "robot/wrist"}
    base = (np.zeros(3), np.eye(3))
    droid = DROID.message(obs, roles, base)
    assert sorted(droid) == sorted(
        [
            "observation/exterior_image_1_left",
            "observation/wrist_image_left",
            "observation/joint_position",
            "observation/gripper_position",
            "prompt",
        ]
    )
    assert droid["observation/exterior_image_1_left"].shape == (224, 224, 3)  # letterboxed
    assert droid["observation/joint_position"].shape == (7,)
    libero = LIBERO.message(obs, roles, base)
    assert libero["observation/state"].shape == (8,) and libero["prompt"] == obs["instruction"]
    aloha = ALOHA.message(obs, roles, base)
    assert aloha["images"]["cam_high"].shape == (3, 224, 224)  # channels first
    assert aloha["state"].shape == (8,)


def test_answers_map_onto_our_action_spaces():
    libero = LIBERO.env_actions(np.array([[1.0, -0.5, 0.0, 0.2, 0.0, -1.0, -1.0], [0, 0, 0, 0, 0, 0, 1.0]]))
    assert np.allclose(libero[0], [0.05, -0.025, 0.0, 0.1, 0.0, -0.3, 0.0])  # rotation saturates at 0.3
    assert libero[1, 6] == 1.0  # +1 closes
    aloha = ALOHA.env_actions(np.r_[HOME_QPOS, 1.0])
    assert aloha[-1] == 0.0  # ALOHA's 1 is open; ours is 0
    droid = DROID.env_actions(np.zeros((10, 8)))
    assert droid.shape == (10, 8)
    with pytest.raises(InvalidAnswer, match="shape"):
        DROID.env_actions(np.zeros((10, 7)))
    with pytest.raises(InvalidAnswer, match="outside its range"):
        LIBERO.env_actions(np.full(7, 3.0))
    assert np.isnan(LIBERO.env_actions(np.full(7, np.nan))).all()  # left for the env to flag


# -- full episodes against openpi-style servers -------------------------------------------------------
def _remote(port: int, adapter: str, env: TwinEnv):
    policy, info = load_policy(f"ws://127.0.0.1:{port}", adapter=adapter)
    return adapt(policy, info, env)


def test_droid_server_drives_the_arm_by_joint_velocities_over_a_full_episode(tray):
    target = HOME_QPOS + np.array([0.3, 0.2, -0.2, 0.25, 0.0, -0.2, 0.3])
    server_policy = DroidJointPolicy(target=target)
    env = _env(tray, "droid")
    with openpi_style_server(server_policy) as port:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as reply:
            assert reply.status == 200
        policy = _remote(port, "droid", env)
        outcome, tape = rollout(env, policy, seed=0, step_timeout=10.0, record_video=False)
        policy.close()
    assert outcome.termination == "timeout" and outcome.steps == env.max_steps
    assert len(server_policy.seen) == -(-outcome.steps // DROID.open_loop_horizon)  # 8 of each chunk
    first = server_policy.seen[0]
    assert "reset" not in first["keys"] and first["prompt"] == env.task.instruction
    assert first["exterior"].shape == (224, 224, 3) and first["wrist_shape"] == (224, 224, 3)
    assert first["exterior"][:20].max() == 0  # the 4:3 camera is letterboxed, not stretched
    assert np.allclose(first["q"], HOME_QPOS, atol=0.02) and np.allclose(first["gripper"], [0.0], atol=0.05)
    final = tape.states[-1][:7]
    assert np.allclose(final, target, atol=0.03), final - target
    env.close()


def test_libero_server_reaches_a_point_by_end_effector_deltas(tray):
    env = _env(tray, "libero")
    env.reset(seed=0)
    base_pos, base_rot = env.scenario.world.base_pose()
    tcp = env.scenario.world.tcp_pose()[0]
    target = base_rot.T @ (tcp - base_pos) + np.array([0.08, -0.06, -0.1])
    server_policy = LiberoReachPolicy(target)
    with openpi_style_server(server_policy) as port:
        policy = _remote(port, "libero", env)
        outcome, tape = rollout(env, policy, seed=0, step_timeout=10.0, record_video=False)
        policy.close()
    assert outcome.termination == "timeout"
    assert len(server_policy.seen) == -(-outcome.steps // LIBERO.open_loop_horizon)
    assert server_policy.seen[0]["image_shape"] == (224, 224, 3)
    reached = base_rot.T @ (tape.states[-1][8:11] - base_pos)
    assert np.linalg.norm(reached - target) < 0.01, reached - target
    env.close()


def test_a_stale_chunk_is_never_executed(tray):
    server_policy = DroidJointPolicy(target=HOME_QPOS, late_after=1)
    env = _env(tray, "droid")
    with openpi_style_server(server_policy) as port:
        policy = _remote(port, "droid", env)
        outcome, tape = rollout(env, policy, seed=0, step_timeout=1.0, record_video=False)
        policy.close()
    assert outcome.termination == "policy_timeout"
    assert len(tape.actions) == DROID.open_loop_horizon  # the first chunk's 8, nothing of the late one
    assert not np.any(np.asarray(tape.actions) == 2.0)
    env.close()


def test_a_missing_key_is_one_line_naming_it(tray):
    env = _env(tray, "libero")  # LIBERO's keys sent to a DROID server
    with openpi_style_server(DroidJointPolicy(target=HOME_QPOS)) as port:
        policy = _remote(port, "libero", env)
        outcome, _ = rollout(env, policy, seed=0, step_timeout=10.0, record_video=False)
        policy.close()
    assert outcome.termination == "policy_error"
    assert "KeyError" in outcome.detail and "observation/exterior_image_1_left" in outcome.detail
    assert "\n" not in outcome.detail
    env.close()


def test_episode_cli_runs_a_droid_server_with_adapter(tmp_path):
    from typer.testing import CliRunner

    from benchmark.cli import app

    server_policy = DroidJointPolicy(target=HOME_QPOS + 0.1)
    with openpi_style_server(server_policy) as port:
        result = CliRunner().invoke(
            app,
            [
                "episode",
                "tray_pick",
                "-o",
                str(tmp_path / "ep"),
                "--policy",
                f"ws://127.0.0.1:{port}",
                "--adapter",
                "droid",
                "--render",
                "mesh",
                "--json",
            ],
        )
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "ep" / "episode.json").read_text())
    assert record["scenario"]["config"]["action_space"] == "joint_velocity"
    assert record["outcome"]["termination"] == "timeout"
    assert sorted(p.name for p in (tmp_path / "ep").glob("*.mp4")) == ["front.mp4", "robot_wrist.mp4"]
    data = np.load(tmp_path / "ep" / "trajectory.npz")
    assert data["actions"].shape[1] == 8


# -- submission metadata ---------------------------------------------------------------------------
def test_policy_json_declares_the_adapter_and_the_open_loop_horizon(tmp_path):
    from benchmark.errors import SubmissionError

    folder = tmp_path / "droid_policy"
    folder.mkdir()
    (folder / "policy.py").write_text("def make():\n    raise RuntimeError('never started here')\n")
    manifest = {"entry": "policy:make", "adapter": "droid", "open_loop_horizon": 4}
    (folder / "policy.json").write_text(json.dumps(manifest))
    policy, info = load_policy(str(folder))
    assert info.adapter == "droid" and info.open_loop_horizon == 4
    assert policy.open_loop_horizon == 4
    config = env_config(info, SETTINGS)
    assert config.action_space == "joint_velocity" and config.wrist_camera and config.letterbox
    policy.close()
    for key, value, words in (
        ("adapter", "openvla", "adapter 'openvla'"),
        ("open_loop_horizon", 0, "horizon 0"),
    ):
        (folder / "policy.json").write_text(json.dumps({**manifest, key: value}))
        with pytest.raises(SubmissionError, match=words):
            load_policy(str(folder))
