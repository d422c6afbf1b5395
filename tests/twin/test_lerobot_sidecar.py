"""LeRobot datasets as real robot logs have them (DROID, Bridge, community datasets), read through a
sidecar (twin/lerobot.py, docs/formats.md): state columns mapped onto the Panda's joints, the
gripper reading turned into the two fingers, intrinsics per camera, the wrist camera last; bad
sidecars are one line naming the file. Datasets come from our own exporters (with the side file
removed, so they look foreign) and, in the last tests, from the real lerobot's
``LeRobotDataset.create`` in its side venv."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from twin.demonstration import (
    WRIST_CAMERA_KEY,
    CameraRecording,
    Demonstration,
    DemonstrationError,
    RobotTrack,
    check_demonstration,
    read_demonstration,
    write_demonstration,
)
from twin.lerobot import (
    GUESSED_FOVY_DEG,
    ROBOT_MODELS,
    SIDE_PATH,
    SIDECAR_PATH,
    LeRobotFormatError,
    export_lerobot_v3,
    export_lerobot_v21,
    import_lerobot,
)
from twin.transforms import intrinsics_from_fovy

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
FPS, WIDTH, HEIGHT = 15, 64, 48
STATE_NAMES = [f"joint_{i}" for i in range(7)] + ["gripper"]
EXTERIOR, WRIST = "exterior_image_1_left", "wrist_image_left"
PANDA = [f"panda_joint{i}" for i in range(1, 8)] + ["panda_finger_joint1", "panda_finger_joint2"]
EXTERIOR_K = [[70.0, 0.0, 31.0], [0.0, 71.0, 25.0], [0.0, 0.0, 1.0]]
SIDECAR = {
    "robot": "franka_panda",
    "joints": {f"joint_{i}": f"panda_joint{i + 1}" for i in range(7)},
    "gripper": {"state": "gripper", "closed": 1.0, "open": 0.0},
    "cameras": {EXTERIOR: {"K": EXTERIOR_K}},
    "wrist_camera": WRIST,
}


def _frames(count: int, colour: tuple[int, int, int]) -> np.ndarray:
    frames = np.zeros((count, HEIGHT, WIDTH, 3), np.uint8)
    frames[:] = colour
    return frames


def _state(count: int, seed: int) -> np.ndarray:
    """joint_0..joint_6 in radians, then the gripper reading, 0 open … 1 closed."""
    state = np.random.default_rng(seed).uniform(-1.0, 1.0, size=(count, 8)).astype(np.float32)
    state[:, 7] = np.linspace(0.0, 1.0, count)
    return state


def _droid_like(count: int, seed: int) -> Demonstration:
    """A log as DROID's LeRobot ports have it: the wrist camera first, state in the log's own names."""
    K = intrinsics_from_fovy(60.0, WIDTH, HEIGHT)
    cameras = {
        WRIST: CameraRecording(WRIST, _frames(count, (40, 40, 200)), K),
        EXTERIOR: CameraRecording(EXTERIOR, _frames(count, (200, 40, 40)), K),
    }
    arrays = {"joint_positions": _state(count, seed), "actions": np.zeros((count, 8), np.float32)}
    robot = RobotTrack("franka_panda", list(STATE_NAMES), arrays, "joint_velocity")
    return Demonstration(FPS, "put the marker in the cup", cameras, robot)


def _foreign(root: Path) -> Path:
    """A dataset without our side file, as a dataset from elsewhere is."""
    (root / SIDE_PATH).unlink()
    return root


@pytest.fixture(scope="module")
def datasets(tmp_path_factory) -> dict[str, Path]:
    """Two episodes (10 and 7 frames) each as v3.0 and v2.1, state named joint_0..joint_6, gripper."""
    folder = tmp_path_factory.mktemp("droid")
    demos = [_droid_like(10, 1), _droid_like(7, 2)]
    return {
        "v3": _foreign(export_lerobot_v3(demos, folder / "v3")),
        "v21": _foreign(export_lerobot_v21(demos, folder / "v21")),
    }


def _copy(root: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(root, tmp_path / "copy"))


def _write(path: Path, sidecar: object) -> Path:
    path.write_text(json.dumps(sidecar) if not isinstance(sidecar, str) else sidecar)
    return path


def test_the_robot_model_is_the_scene_robots() -> None:
    from twin.scene.robot import ARM_JOINTS, FINGER_JOINTS, FINGER_OPEN

    model = ROBOT_MODELS["franka_panda"]
    assert (model.arm, model.fingers, model.finger_open) == (ARM_JOINTS, FINGER_JOINTS, FINGER_OPEN)


@pytest.mark.parametrize("layout", ["v3", "v21"])
@pytest.mark.parametrize("episode", [0, 1])
def test_a_sidecar_poses_the_panda_from_a_droid_shaped_log(datasets, layout, episode, tmp_path) -> None:
    sidecar = _write(tmp_path / "droid.json", SIDECAR)  # outside the dataset
    demo = import_lerobot(datasets[layout], episode, sidecar=sidecar)
    check_demonstration(demo, "import")
    state = _state([10, 7][episode], episode + 1)
    assert list(demo.cameras) == [EXTERIOR, WRIST]  # exteriors first, the wrist last
    assert demo.extra[WRIST_CAMERA_KEY] == WRIST and demo.wrist_camera == WRIST
    assert demo.extra["sidecar"] == str(sidecar)
    robot = demo.robot
    assert robot is not None and robot.name == "franka_panda" and robot.joint_names == PANDA
    joints = robot.arrays["joint_positions"]
    assert joints.dtype == np.float32 and joints.shape == (len(state), 9)
    np.testing.assert_array_equal(joints[:, :7], state[:, :7])
    fingers = 0.04 * (1.0 - state[:, 7])  # open at 0, closed at 1
    np.testing.assert_allclose(joints[:, 7], fingers, atol=1e-6)
    np.testing.assert_allclose(joints[:, 8], fingers, atol=1e-6)
    np.testing.assert_allclose(robot.arrays["gripper_position"][:, 0], state[:, 7], atol=1e-6)
    np.testing.assert_array_equal(robot.arrays["observation_state"], state)  # the log as it was
    assert robot.arrays["actions"].shape == (len(state), 8) and robot.base_pose is None
    np.testing.assert_allclose(demo.cameras[EXTERIOR].K, EXTERIOR_K)
    assert demo.extra["intrinsics_guessed"] == [WRIST]  # no intrinsics in the sidecar: guessed
    np.testing.assert_allclose(demo.cameras[WRIST].K, intrinsics_from_fovy(GUESSED_FOVY_DEG, WIDTH, HEIGHT))
    assert demo.num_frames == len(state) and demo.primary.rgb.shape[1:] == (HEIGHT, WIDTH, 3)
    assert abs(int(demo.cameras[WRIST].rgb[..., 2].mean()) - 200) < 8  # the wrist video, not the other


def test_the_sidecar_in_the_dataset_is_found_by_itself(datasets, tmp_path) -> None:
    root = _copy(datasets["v3"], tmp_path)
    _write(root / SIDECAR_PATH, SIDECAR)
    demo = import_lerobot(root, 0)
    assert demo.extra["sidecar"] == str(root / SIDECAR_PATH) and demo.robot.joint_names == PANDA
    assert list(demo.cameras) == [EXTERIOR, WRIST]


def test_without_a_sidecar_the_state_is_taken_whole(datasets) -> None:
    demo = import_lerobot(datasets["v21"], 0)
    assert demo.robot.joint_names == STATE_NAMES and demo.extra["intrinsics_guessed"]
    assert "sidecar" not in demo.extra and list(demo.cameras) == [WRIST, EXTERIOR]


def test_column_indices_finger_widths_fields_of_view_scaled_k_and_base(datasets, tmp_path) -> None:
    base = np.eye(4)
    base[:3, 3] = [0.1, -0.2, 0.0]
    sidecar = {  # columns by index; a gripper that reads 1 open, 0 closed (an opening)
        "robot": "franka_panda",
        "joints": {str(i): f"panda_joint{i + 1}" for i in range(7)},
        "gripper": {"state": 7, "open": 1.0, "closed": 0.0},
        "cameras": {
            WRIST: {"fovx_deg": 90.0},
            EXTERIOR: {"K": [[140.0, 0, 64.0], [0, 142.0, 48.0], [0, 0, 1]], "width": 128, "height": 96},
        },
        "base_pose": base.tolist(),
    }
    demo = import_lerobot(datasets["v3"], 1, sidecar=_write(tmp_path / "s.json", sidecar))
    joints, opening = demo.robot.arrays["joint_positions"], _state(7, 2)[:, 7]
    np.testing.assert_allclose(joints[:, 7], 0.04 * opening, atol=1e-6)
    np.testing.assert_allclose(demo.robot.arrays["gripper_position"][:, 0], 1 - opening, atol=1e-6)
    np.testing.assert_allclose(demo.robot.base_pose, base)
    np.testing.assert_allclose(demo.cameras[EXTERIOR].K, [[70.0, 0, 32.0], [0, 71.0, 24.0], [0, 0, 1]])
    np.testing.assert_allclose(demo.cameras[WRIST].K[0, 0], WIDTH / 2)  # 90° across: f = W/2
    assert "intrinsics_guessed" not in demo.extra
    assert list(demo.cameras) == [EXTERIOR, WRIST]  # the one camera named wrist, without wrist_camera


def _no_frames_for_episode_1(root: Path) -> None:
    """The v3.0 episode listing points episode 1's videos past the end of the files."""
    path = root / "meta/episodes/chunk-000/file-000.parquet"
    table = pq.read_table(path)
    for key in (f"videos/observation.images.{EXTERIOR}", f"videos/observation.images.{WRIST}"):
        for part, value in (("from_timestamp", 50.0), ("to_timestamp", 51.0)):
            column = f"{key}/{part}"
            values = table.column(column).to_pylist()
            values[1] = value
            index = table.column_names.index(column)
            table = table.set_column(index, column, pa.array(values, table.column(column).type))
    pq.write_table(table, path)


def _sidecar_with(**change: object) -> dict:
    return {key: value for key, value in (SIDECAR | change).items() if value is not None}


K_BAD = [[0.0, 0, 32], [0, 70, 24], [0, 0, 1]]
BAD = {  # name: (sidecar (dict, or text), change to the dataset, what the one line must say)
    "not json": ("{", None, r"not valid JSON"),
    "not an object": ("[1, 2]", None, r"a sidecar is a JSON object, got list"),
    "unknown key": (_sidecar_with(joint={}), None, r"unknown key 'joint'; a sidecar has robot, joints"),
    "state name": (
        _sidecar_with(
            joints={f"joint_{i}": f"panda_joint{i + 1}" for i in range(6)} | {"joint_9": "panda_joint7"}
        ),
        None,
        r"state 'joint_9' is not a state name of the dataset; observation.state has \['joint_0', "
        r"'joint_1'.*'gripper'\] \(or columns 0\.\.7\)",
    ),
    "not a robot joint": (
        _sidecar_with(joints=SIDECAR["joints"] | {"joint_6": "elbow"}),
        None,
        r"joints.joint_6: 'elbow' is not a joint of franka_panda; its joints: panda_joint1, panda_joint2",
    ),
    "arm joint missing": (
        _sidecar_with(joints={f"joint_{i}": f"panda_joint{i + 1}" for i in range(6)}),
        None,
        r"joints maps no state to panda_joint7",
    ),
    "joint twice": (
        _sidecar_with(joints=SIDECAR["joints"] | {"gripper": "panda_joint1"}),
        None,
        r"joints maps two state columns to panda_joint1",
    ),
    "fingers twice": (
        _sidecar_with(joints=SIDECAR["joints"] | {"gripper": "panda_finger_joint1"}),
        None,
        r"gripper and joints both set the fingers; keep one",
    ),
    "unknown robot": (
        _sidecar_with(robot="ur5e"),
        None,
        r"robot 'ur5e' has no model; known robots: franka_panda",
    ),
    "gripper state": (
        _sidecar_with(gripper={"state": "finger"}),
        None,
        r"gripper.state 'finger' is not a state name",
    ),
    "wrist camera": (
        _sidecar_with(wrist_camera="hand"),
        None,
        r"wrist_camera 'hand' is not a camera of the dataset; it has \['wrist_image_left', "
        r"'exterior_image_1_left'\]",
    ),
    "camera": (
        _sidecar_with(cameras={"exterior_image_2_left": {"fovy_deg": 60}}),
        None,
        r"cameras.exterior_image_2_left is not a camera of the dataset",
    ),
    "K shape": (
        _sidecar_with(cameras={EXTERIOR: {"K": [[1, 0], [0, 1]]}}),
        None,
        r"cameras.exterior_image_1_left.K must be a 3×3 matrix with positive focal lengths",
    ),
    "K focal": (
        _sidecar_with(cameras={EXTERIOR: {"K": K_BAD}}),
        None,
        r"cameras.exterior_image_1_left.K must be a 3×3 matrix with positive focal lengths",
    ),
    "K for another size": (  # DROID's 1280×720 calibration on its 320×180 videos, say
        _sidecar_with(cameras={EXTERIOR: {"K": [[500.0, 0, 640], [0, 500, 360], [0, 0, 1]]}}),
        None,
        r"cameras.exterior_image_1_left: the intrinsics disagree with the video size: principal point "
        r"\(640, 360\) lies outside the 64×48 frames of .*exterior_image_1_left.*\.mp4",
    ),
    "two intrinsics": (
        _sidecar_with(cameras={EXTERIOR: {"K": EXTERIOR_K, "fovy_deg": 60}}),
        None,
        r'cameras.exterior_image_1_left takes one of "K", "fovy_deg", "fovx_deg"',
    ),
    "base pose": (
        _sidecar_with(base_pose=np.diag([1.0, 1, 2, 1]).tolist()),
        None,
        r"base_pose is not a rigid 4×4 transform",
    ),
    "no frames": (
        SIDECAR,
        _no_frames_for_episode_1,
        r"file-000\.mp4: no frames for this episode between 50\.000 s and 51\.000 s",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_sidecars_are_one_line_naming_the_file(case, datasets, tmp_path) -> None:
    sidecar, change, pattern = BAD[case]
    root = _copy(datasets["v3"], tmp_path)
    if change is not None:
        change(root)
    path = _write(tmp_path / "droid.json", sidecar)
    with pytest.raises(LeRobotFormatError, match=pattern) as caught:
        import_lerobot(root, 1, sidecar=path)
    message = str(caught.value)
    assert "\n" not in message
    assert str(path) in message or str(root) in message


def test_a_named_sidecar_that_is_missing(datasets, tmp_path) -> None:
    with pytest.raises(LeRobotFormatError, match=r"nowhere\.json: missing"):
        import_lerobot(datasets["v3"], 0, sidecar=tmp_path / "nowhere.json")


# -- demonstration folders: the same two checks ---------------------------------------------------
def _folder(tmp_path: Path) -> Path:
    demo = _droid_like(4, 3)
    demo.robot = None
    return write_demonstration(tmp_path / "demo", demo)


def test_a_folder_whose_intrinsics_disagree_with_its_video(tmp_path) -> None:
    folder = _folder(tmp_path)
    read_demonstration(folder)  # cx = width / 2: fine
    camera = folder / EXTERIOR / "camera.json"
    info = json.loads(camera.read_text())
    info["K"][0][2] = 640.0  # a K for a larger image
    camera.write_text(json.dumps(info))
    pattern = (
        r"exterior_image_1_left/camera\.json: the intrinsics disagree with the video size: K's principal "
        r"point \(640, 24\) lies outside the 64×48 frames of .*exterior_image_1_left/rgb\.mp4"
    )
    with pytest.raises(DemonstrationError, match=pattern):
        read_demonstration(folder)


def test_a_folder_camera_without_frames(tmp_path) -> None:
    folder = _folder(tmp_path)
    shutil.rmtree(folder / EXTERIOR)
    (folder / EXTERIOR / "rgb").mkdir(parents=True)  # an empty folder of PNG frames
    (folder / EXTERIOR / "camera.json").write_text((folder / "camera.json").read_text())
    with pytest.raises(DemonstrationError, match=r"exterior_image_1_left/rgb: no PNG frames"):
        read_demonstration(folder)


# -- the real lerobot ---------------------------------------------------------------------------------
LEROBOT_SIZE, LEROBOT_EPISODES = (96, 72), (20, 12)


@pytest.fixture(scope="module")
def lerobot_dataset(tmp_path_factory) -> Path:
    """A DROID-shaped dataset written by the real lerobot's ``LeRobotDataset.create``, ``add_frame``,
    ``save_episode`` and ``finalize`` (tests/twin/lerobot_dataset_maker.py) in its side venv."""
    from side_venvs import side_venv_python

    from benchmark.policies.lerobot_policy import PYTHON_ENV

    python = side_venv_python(PYTHON_ENV, ".venv-lerobot", "lerobot-venv.sh")
    root = tmp_path_factory.mktemp("lerobot") / "droid_shaped"
    sizes = [str(n) for n in (*LEROBOT_SIZE, *LEROBOT_EPISODES)]
    made = subprocess.run(
        [str(python), str(HERE / "lerobot_dataset_maker.py"), str(root), *sizes],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"},
        timeout=300,
    )
    assert made.returncode == 0, made.stderr[-4000:]
    return root


@pytest.mark.parametrize("episode", [0, 1])
def test_a_dataset_written_by_the_real_lerobot_imports_with_a_sidecar(lerobot_dataset, episode, tmp_path):
    info = json.loads((lerobot_dataset / "meta/info.json").read_text())
    assert info["codebase_version"] == "v3.0"
    assert info["features"]["observation.state"]["names"] == STATE_NAMES
    sidecar = _write(tmp_path / "droid.json", SIDECAR | {"cameras": {}})
    demo = import_lerobot(lerobot_dataset, episode, sidecar=sidecar)
    check_demonstration(demo, "import")
    count, (width, height) = LEROBOT_EPISODES[episode], LEROBOT_SIZE
    assert demo.num_frames == count and demo.instruction == f"put the marker in the cup {episode}"
    assert list(demo.cameras) == [EXTERIOR, WRIST] and demo.wrist_camera == WRIST
    assert all(cam.rgb.shape == (count, height, width, 3) for cam in demo.cameras.values())
    assert demo.extra["intrinsics_guessed"] == [EXTERIOR, WRIST]
    joints = demo.robot.arrays["joint_positions"]
    assert demo.robot.joint_names == PANDA and joints.shape == (count, 9) and joints.dtype == np.float32
    t = np.arange(count)
    np.testing.assert_allclose(joints[:, 3], episode + 0.3 + 0.01 * t, atol=1e-5)
    np.testing.assert_allclose(joints[:, 7], 0.04 * (1 - t / (count - 1)), atol=1e-6)
    red = demo.cameras[EXTERIOR].rgb[..., 0].mean(axis=(1, 2))
    np.testing.assert_allclose(red, 20 + 8 * t, atol=8)  # this episode's frames, in order
    green = demo.cameras[EXTERIOR].rgb[..., 1].mean()
    assert abs(green - (40 + 60 * episode)) < 8
