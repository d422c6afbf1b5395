"""``twin build`` on a robot log (twin/robot_log.py): no depth, no extrinsics, the robot moving
from the first frame. The cameras are calibrated from the robot, the frames before the hand comes
down make the scan, and calibration.json keeps every camera; a log that cannot be calibrated is
one line."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from twin.appearance import AppearanceConfig
from twin.build import BuildConfig, build_twin
from twin.demonstration import read_demonstration, write_demonstration
from twin.errors import TwinBuildError
from twin.robot_cameras import RobotCalibrationConfig
from twin.robot_log import backdrop_depth, is_robot_log, off_the_edge, surface_points, untouched_span

# a quick calibration: a sparse grid, two short refinements and one short polish (the accuracy is
# tested with the defaults in test_robot_cameras.py)
QUICK = RobotCalibrationConfig(
    frames=10,
    azimuth_step_deg=20.0,
    elevations_deg=(15.0, 30.0, 45.0),
    distances_m=(0.95, 1.25, 1.6),
    local_candidates=4,
    rescore=6,
    refine_evaluations=120,
    refine_steps=(0.02, 0.008),
    refine_sigmas=(4.0, 1.5),
    polish_frames=10,
    polish_evaluations=40,
    polish_steps=(0.004,),
    polish_sigmas=(1.0,),
    background_frames=30,
    workers=2,  # the two exterior cameras in spawned processes, as the command line runs them
)
CONFIG = BuildConfig(appearance=AppearanceConfig(steps=60), robot_calibration=QUICK)


@pytest.fixture(scope="module")
def log(robot_log):
    return robot_log


@pytest.fixture(scope="module")
def built(log, tmp_path_factory):
    return build_twin(log, tmp_path_factory.mktemp("robot_log_twin") / "twin", CONFIG)


def test_a_robot_log_is_told_from_a_scan(log, recorded_demo):
    assert is_robot_log(read_demonstration(log))
    assert not is_robot_log(read_demonstration(recorded_demo))


def test_the_scan_ends_when_the_hand_comes_down():
    z = np.array([0.5, 0.4, 0.3, 0.2, 0.11, 0.1, 0.1, 0.3])
    assert untouched_span(z, margin=0.03) == (0, 4)
    assert untouched_span(np.full(5, 0.2)) == (0, 0)


def test_backdrop_depth_meets_the_table_or_stays_far():
    K = np.array([[100.0, 0, 50], [0, 100.0, 40], [0, 0, 1]])  # noqa: N806
    down = np.eye(4)
    down[:3, :3] = np.diag([1.0, -1.0, -1.0])  # looking straight down from 1 m
    down[2, 3] = 1.0
    level = np.eye(4)
    level[:3, :3] = np.array([[1.0, 0, 0], [0, 0, 1], [0, -1, 0]])  # looking along +y, level
    level[2, 3] = 1.0
    depth = backdrop_depth(K, np.stack([down, level]), (80, 100), table_z=0.25, far=3.0)
    assert depth[0, 40, 50] == pytest.approx(0.75)
    assert depth[1, 0, 50] == 3.0  # above the horizon: the backdrop
    assert depth[1, 79, 50] == pytest.approx(0.75 / (39.5 / 100.0), rel=1e-4)  # below it: the table


def test_regions_reaching_the_uncarved_edge_go_back_to_the_table():
    inside = np.zeros((12, 12), dtype=bool)
    inside[2:10, 2:10] = True
    height = np.zeros((12, 12))
    height[4:6, 4:6] = 0.04  # an object well inside
    height[2:4, 7:9] = 0.02  # floor past a misjudged edge, running out to the border
    height[7, 4] = 0.01  # a speck one cell from the border stays (only what reaches it goes)
    out = off_the_edge(height, inside)
    assert (out[4:6, 4:6] == 0.04).all() and out[7, 4] == 0.01
    assert not out[2:4, 7:9].any()
    assert not off_the_edge(np.zeros_like(height), inside).any()


def test_floor_colours_reaching_the_uncarved_edge_go_back_to_the_table():
    from twin.tabletop import Table

    table = Table(height=0.0, center_xy=np.zeros(2), half_extents_xy=np.array([0.2, 0.2]), yaw=0.0)
    cell = 0.01
    xs = np.arange(-0.2 + cell / 2, 0.2, cell)
    xy = np.stack(np.meshgrid(xs, xs, indexing="ij"), axis=-1)
    inside = (np.abs(xy) <= 0.17).all(axis=-1)  # a 3 cm band left out along the edge
    K = np.array([[400.0, 0, 200], [0, 400.0, 200], [0, 0, 1]])  # noqa: N806
    down = np.eye(4)
    down[:3, :3] = np.diag([1.0, -1.0, -1.0])  # 1 m over the table, looking down: u ↔ x, v ↔ -y
    down[2, 3] = 1.0
    grey, brown, yellow = np.array([0.6, 0.6, 0.6]), np.array([0.5, 0.35, 0.2]), np.array([0.9, 0.8, 0.1])
    image = np.tile(grey, (400, 400, 1))
    image[:, 260:] = brown  # x > 0.15 m: floor past a misjudged edge, inside the carved part too
    image[180:220, 180:220] = yellow  # a mark at the centre
    views = [(image, np.ones((400, 400), dtype=bool), K, down)]
    points, colours = surface_points(views, xy, inside, np.zeros(inside.shape), table, grey, np.full(3, 0.01))
    assert len(points) == inside.sum()
    centre = np.linalg.norm(points[:, :2], axis=1) < 0.03
    assert np.allclose(colours[centre], yellow)
    assert np.allclose(colours[points[:, 0] > 0.155], grey)  # the floor's colour is gone
    kept = surface_points(views, xy, inside, np.zeros(inside.shape), table)[1]
    assert np.allclose(kept[points[:, 0] > 0.155], brown)  # without the table's colour it stays


def test_every_camera_is_calibrated_into_calibration_json(built, log):
    calibration = json.loads((built.path / "calibration.json").read_text())
    assert list(calibration["cameras"]) == ["exterior_1", "exterior_2"]  # the evaluation cameras
    for cam in calibration["cameras"].values():
        assert np.asarray(cam["T_world_camera"]).shape == (4, 4)
        assert cam["method"] == "robot silhouette" and cam["quality"] in ("good", "fair", "poor")
        assert 0.0 < cam["arm_silhouette_fit"] <= 1.0
    wrist = calibration["wrist"]
    frames = read_demonstration(log).num_frames
    assert wrist["camera"] == "wrist" and np.asarray(wrist["T_world_camera"]).shape == (frames, 4, 4)
    assert np.asarray(wrist["T_hand_camera"]).shape == (4, 4)
    assert calibration["estimated"]["method"] == "robot"
    assert built.manifest["world_frame"] == "demonstration"
    assert np.allclose(built.manifest["robot"]["base_pose"], np.eye(4))  # the base frame is the world
    assert "calibration" in built.seconds


def test_held_out_frames_are_exterior_frames_with_the_robot_excluded(built):
    fidelity = built.fidelity
    assert fidelity["robot_pixels_excluded"]
    cameras = {row["camera"] for row in fidelity["per_frame"]}
    assert cameras and cameras <= {"exterior_1", "exterior_2"}
    assert all(np.isfinite(row["psnr_db"]) for row in fidelity["per_frame"])


def test_fidelity_reports_how_each_camera_was_calibrated(built):
    quality = built.fidelity["calibration"]
    assert set(quality["cameras"]) == {"exterior_1", "exterior_2", "wrist"}
    for name, cam in quality["cameras"].items():
        assert "T_world_camera" not in cam and cam["quality"] in ("good", "fair", "poor"), name
    assert quality["cameras"]["exterior_1"]["method"] == "robot silhouette"
    assert quality["quality"] in {cam["quality"] for cam in quality["cameras"].values()}


def test_the_wrist_pose_is_scored_against_the_truth(built, log):
    from twin.fidelity import ground_truth_report

    report = ground_truth_report(built.path, log)
    assert set(report["cameras"]) == {"exterior_1", "exterior_2", "wrist"}
    assert report["cameras"]["wrist"]["position_error_m"] <= 0.005


def test_a_log_whose_arm_is_never_seen_is_one_line(log, tmp_path):
    demo = read_demonstration(log)
    still = demo.cameras["exterior_1"]
    frozen = dataclasses.replace(still, rgb=np.repeat(still.rgb[:1], demo.num_frames, axis=0))
    bad = write_demonstration(
        tmp_path / "bad", dataclasses.replace(demo, cameras={**demo.cameras, "exterior_1": frozen})
    )
    with pytest.raises(TwinBuildError, match="'exterior_1': the arm is never in view") as err:
        build_twin(bad, tmp_path / "twin", CONFIG)
    assert "\n" not in str(err.value) and str(bad) in str(err.value)
    assert not (tmp_path / "twin").exists()
