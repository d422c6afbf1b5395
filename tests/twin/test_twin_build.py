"""``build_twin`` end to end: a recorded demonstration in, a sound twin package out, and clear
errors (with nothing left behind) for inputs that cannot become a twin."""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from twin.appearance import AppearanceConfig
from twin.build import BuildConfig, TwinBuildError, build_twin
from twin.demonstration import DemonstrationError, read_ground_truth
from twin.package import FORMAT, REPORT_FILES, content_hash

FAST = BuildConfig(max_scan_frames=12, appearance=AppearanceConfig(steps=30))
POSITION_TOLERANCE_M = 0.01


# -- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo(tray_pick_demo) -> Path:
    return tray_pick_demo


@pytest.fixture(scope="module")
def built(tray_pick_twin) -> dict:
    """The demonstration built with FAST (with ground-truth scoring); never modified."""
    return tray_pick_twin


@pytest.fixture(scope="module")
def built_without_truth(demo, tmp_path_factory) -> dict:
    """A copy of the demonstration with its ground truth removed, built with the same config."""
    from benchmark.scenes.twins import build_and_evaluate

    root = tmp_path_factory.mktemp("tb_blind")
    copy = shutil.copytree(demo, root / "demo_copy")
    shutil.rmtree(copy / "ground_truth")
    meta = json.loads((copy / "meta.json").read_text())
    assert meta.pop("ground_truth") == "ground_truth"
    (copy / "meta.json").write_text(json.dumps(meta, indent=1))
    return build_and_evaluate(copy, root / "without_truth", config=FAST)


def _record_variant(root: Path, name: str, change) -> Path:
    """block_push with ``change(scene_dict)`` applied, recorded quickly (short run, no wrist camera)."""
    from benchmark.scenes.recording import RecordConfig, record
    from benchmark.scenes.registry import load_scene
    from twin.scene.spec import scene_from_dict

    data = json.loads(json.dumps(load_scene("block_push").to_dict()))
    data["name"] = name
    data["tasks"][0]["max_seconds"] = 1.0  # the run is not what these builds look at
    change(data)
    config = RecordConfig(scan_frames=12, wrist_camera=False, hold_steps=0)
    record(scene_from_dict(data), root / name, episodes=1, seed=0, config=config)
    return root / name / "episode_000000"


@pytest.fixture(scope="module")
def flat_marks_demo(tmp_path_factory) -> Path:
    """block_push whose green block is a 1 mm flat, fixed, visual-only mark: nothing stands up."""

    def change(data):
        block = data["objects"][0]
        assert block["name"] == "green_block"
        block.update(size=[0.025, 0.025, 0.0005], fixed=True, visual_only=True)

    return _record_variant(tmp_path_factory.mktemp("tb_flat"), "flat_marks", change)


@pytest.fixture(scope="module")
def no_table_demo(tmp_path_factory) -> Path:
    """block_push filmed by a camera looking at the back wall, above the table."""

    def change(data):
        data["cameras"][0].update(pos=[0.4, 0.0, 1.1], lookat=[-1.6, 0.0, 1.2])

    return _record_variant(tmp_path_factory.mktemp("tb_wall"), "wall_view", change)


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _assert_nothing_left(out: Path) -> None:
    assert not out.exists(), f"{out} was left behind"
    leftovers = sorted(p.name for p in out.parent.glob(f".{out.name}.*"))
    assert not leftovers, f"temporary folders left behind: {leftovers}"


def _copy_demo(demo: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(demo, tmp_path / "demo"))


# -- 1. a sound twin of tray_pick ----------------------------------------------------------------
def test_build_makes_a_sound_package_with_the_right_task(built, demo):
    from benchmark.scenes.twins import check_package

    path = Path(built["twin"])
    assert check_package(path) == []
    manifest = json.loads((path / "twin.json").read_text())
    assert manifest["format"] == FORMAT == "twinarena-twin/1"
    assert manifest["content_hash"] == built["content_hash"]
    solids = [o for o in manifest["objects"] if o["kind"] == "solid"]
    assert len(solids) == 3, [o["name"] for o in manifest["objects"]]
    for obj in solids:
        assert (path / obj["splats"]).is_file() and (path / obj["mesh"]).is_file()

    task = json.loads((path / "task.json").read_text())
    assert task["family"] == "pick_place"
    assert task["object"].startswith("red") and task["target"].startswith("blue"), task
    truth = {name: poses[0, :3] for name, poses in read_ground_truth(demo)["arrays"].items()}
    positions = {o["name"]: np.asarray(o["pos"]) for o in manifest["objects"]}
    for role, truth_name in (("object", "red_cube"), ("target", "blue_tray")):
        error = float(np.linalg.norm(positions[task[role]] - truth[truth_name]))
        assert error < POSITION_TOLERANCE_M, f"{role} {task[role]} is {error:.4f} m from {truth_name}"

    fidelity = json.loads((path / "fidelity.json").read_text())
    assert math.isfinite(fidelity["psnr_db"]) and fidelity["psnr_db"] > 15.0
    assert math.isfinite(fidelity["ssim"]) and 0.0 < fidelity["ssim"] <= 1.0
    scan_start, scan_end = json.loads((demo / "meta.json").read_text())["segments"]["scan"]
    heldout = fidelity["heldout_frames"]
    assert heldout and all(isinstance(f, int) and scan_start <= f < scan_end for f in heldout)
    assert set(heldout) < set(manifest["build"]["frames"])  # some scan frames, not all of them


# -- 2. reconstruction never reads ground truth ----------------------------------------------------
def test_build_ignores_ground_truth(built, built_without_truth):
    with_truth, without = Path(built["twin"]), Path(built_without_truth["twin"])
    assert with_truth.name != without.name
    assert built["content_hash"] == built_without_truth["content_hash"]
    for path in (with_truth, without):
        manifest = json.loads((path / "twin.json").read_text())
        assert content_hash(path, manifest) == manifest["content_hash"]

    a, b = _files(with_truth), _files(without)
    assert sorted(a) == sorted(b)
    differing = [name for name in a if a[name] != b[name] and Path(name).name not in REPORT_FILES]
    assert differing == []

    assert "ground_truth" not in built_without_truth["fidelity"]
    assert "ground_truth" not in json.loads((without / "fidelity.json").read_text())
    report = built["fidelity"]["ground_truth"]
    assert json.loads((with_truth / "fidelity.json").read_text())["ground_truth"] == report
    assert report["truth_objects"] == 3 and report["matched"] == report["truth_objects"]
    for row in report["objects"]:
        assert row["twin"] is not None, row
        assert row["position_error_m"] < POSITION_TOLERANCE_M, row


# -- 3. the scripted expert in the twin -------------------------------------------------------------
def test_expert_solves_the_task_inside_the_twin(built):
    from benchmark.scenes.rollout import run_expert_episode
    from twin.scene.twin_world import load_twin_world

    with load_twin_world(built["twin"]) as world:
        task = world.scene.tasks[0]
        assert (task.object, task.target) == (built["task"]["object"], built["task"]["target"])
        outcome = run_expert_episode(world, task, seed=0)
    assert outcome.success, outcome


# -- 4. bad input --------------------------------------------------------------------------------
def _truncate_video(folder: Path) -> None:
    data = (folder / "rgb.mp4").read_bytes()
    (folder / "rgb.mp4").write_bytes(data[: len(data) // 2])


def _drop_depth_frame(folder: Path) -> None:
    with np.load(folder / "depth.npz") as archive:
        depth = archive["depth"]
    np.savez_compressed(folder / "depth.npz", depth=depth[:-1])


def _remove_k(folder: Path) -> None:
    camera = json.loads((folder / "camera.json").read_text())
    del camera["K"]
    (folder / "camera.json").write_text(json.dumps(camera))


@pytest.mark.parametrize(
    "damage, words",
    [
        (_truncate_video, ("rgb.mp4", "not a readable video")),
        (_drop_depth_frame, ("depth.npz", "but the video has")),
        (_remove_k, ("camera.json", "K")),
    ],
    ids=["truncated-video", "depth-frame-count", "camera-without-K"],
)
def test_broken_demonstration_files_are_named(demo, tmp_path, damage, words):
    folder = _copy_demo(demo, tmp_path)
    damage(folder)
    out = tmp_path / "twin"
    with pytest.raises(DemonstrationError) as err:
        build_twin(folder, out, FAST)
    message = str(err.value)
    assert str(folder) in message
    for word in words:
        assert word in message, message
    _assert_nothing_left(out)


def test_depth_frame_count_error_gives_both_counts(demo, tmp_path):
    folder = _copy_demo(demo, tmp_path)
    frames = json.loads((folder / "meta.json").read_text())["segments"]["execution"][1]
    _drop_depth_frame(folder)
    with pytest.raises(DemonstrationError) as err:
        build_twin(folder, tmp_path / "twin", FAST)
    assert str(frames) in str(err.value) and str(frames - 1) in str(err.value)


def test_depth_frame_count_error_names_depth_npz(demo, tmp_path):
    folder = _copy_demo(demo, tmp_path)
    _drop_depth_frame(folder)
    with pytest.raises(DemonstrationError, match="depth.npz"):
        build_twin(folder, tmp_path / "twin", FAST)


def test_camera_without_k_says_missing(demo, tmp_path):
    folder = _copy_demo(demo, tmp_path)
    _remove_k(folder)
    with pytest.raises(DemonstrationError, match="missing"):
        build_twin(folder, tmp_path / "twin", FAST)


def test_scene_with_only_flat_marks_has_no_objects(flat_marks_demo, tmp_path):
    out = tmp_path / "twin"
    with pytest.raises(TwinBuildError, match="no objects found standing on the table") as err:
        build_twin(flat_marks_demo, out, FAST)
    assert str(flat_marks_demo) in str(err.value)
    _assert_nothing_left(out)


def test_table_out_of_view_is_reported(no_table_demo, tmp_path):
    out = tmp_path / "twin"
    with pytest.raises(TwinBuildError, match="is the table out of view") as err:
        build_twin(no_table_demo, out, FAST)
    assert str(no_table_demo) in str(err.value)
    _assert_nothing_left(out)


def test_failure_mid_build_leaves_nothing(demo, tmp_path, monkeypatch):
    import twin.build

    def broken_fit(*args, **kwargs):
        raise RuntimeError("splat fitting exploded")

    monkeypatch.setattr(twin.build, "fit_scene", broken_fit)
    out = tmp_path / "twin"
    with pytest.raises(RuntimeError, match="splat fitting exploded"):
        build_twin(demo, out, FAST)
    _assert_nothing_left(out)


def test_failure_while_packaging_keeps_the_old_folder(demo, tmp_path, monkeypatch):
    """A failure after every package file is staged, with overwrite: the old folder stays as it was."""
    import twin.build

    def broken_preview(stage, *args):
        assert (stage / "twin.json").is_file() and (stage / "scene.xml").is_file()
        raise RuntimeError("preview failed")

    monkeypatch.setattr(twin.build, "_write_preview", broken_preview)
    out = tmp_path / "twin"
    out.mkdir()
    (out / "keep.txt").write_text("old twin")
    cheap = BuildConfig(max_scan_frames=12, appearance=AppearanceConfig(steps=2))
    with pytest.raises(RuntimeError, match="preview failed"):
        build_twin(demo, out, cheap, overwrite=True)
    assert _files(out) == {"keep.txt": b"old twin"}
    assert not list(tmp_path.glob(".twin.*"))


def test_existing_output_folder_is_refused_and_untouched(demo, tmp_path):
    out = tmp_path / "twin"
    out.mkdir()
    (out / "keep.txt").write_text("old twin")
    with pytest.raises(FileExistsError, match="already exists") as err:
        build_twin(demo, out, FAST)
    assert str(out) in str(err.value)
    assert _files(out) == {"keep.txt": b"old twin"}
    assert not list(tmp_path.glob(".twin.*"))


# -- 5. check_package ------------------------------------------------------------------------------
def _edit_scene(root: Path) -> None:
    text = (root / "scene.xml").read_text()
    assert 'friction="0.8' in text
    (root / "scene.xml").write_text(text.replace('friction="0.8', 'friction="0.9', 1))


def _delete_background(root: Path) -> None:
    (root / "background.ply").unlink()


def _truncate_object_ply(root: Path) -> None:
    path = root / "objects" / "red_object.ply"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _unknown_task_object(root: Path) -> None:
    task = json.loads((root / "task.json").read_text())
    task["object"] = "purple_object"
    (root / "task.json").write_text(json.dumps(task))


def _camera_without_k(root: Path) -> None:
    calibration = json.loads((root / "calibration.json").read_text())
    for camera in calibration["cameras"].values():
        del camera["K"]
    (root / "calibration.json").write_text(json.dumps(calibration))


@pytest.mark.parametrize(
    "damage, words",
    [
        (_edit_scene, ("scene.xml", "changed since the package was built")),
        (_delete_background, ("background.ply", "missing")),
        (_truncate_object_ply, ("objects/red_object.ply", "unreadable splats", "truncated")),
        (_unknown_task_object, ("task.json", "'purple_object'", "not an object of the twin")),
        (_camera_without_k, ("calibration.json", "missing 'K'")),
    ],
    ids=["edited-scene", "deleted-background", "truncated-object-ply", "unknown-task-object", "no-K"],
)
def test_check_package_finds_damage(built, tmp_path, damage, words):
    from benchmark.scenes.twins import check_package

    assert built["task"]["object"] == "red_object"
    copy = Path(shutil.copytree(built["twin"], tmp_path / "twin"))
    damage(copy)
    problems = check_package(copy)
    assert problems, "the damage went unnoticed"
    assert any(all(word in p for word in words) for p in problems), problems


def test_check_package_names_a_missing_background(built, tmp_path):
    from benchmark.scenes.twins import check_package

    copy = Path(shutil.copytree(built["twin"], tmp_path / "twin"))
    _delete_background(copy)
    assert any("background.ply" in p for p in check_package(copy))


# -- 6. show ---------------------------------------------------------------------------------------
def test_show_twin_writes_real_render_difference(built, tmp_path):
    from PIL import Image

    from twin.show import show_twin

    calibration = json.loads((Path(built["twin"]) / "calibration.json").read_text())
    camera = next(iter(calibration["cameras"].values()))
    out = show_twin(built["twin"], tmp_path / "side.png")
    assert Path(out) == tmp_path / "side.png"
    with Image.open(out) as image:
        assert image.size == (3 * camera["width"], camera["height"])
        pixels = np.asarray(image.convert("RGB"))
    render = pixels[:, camera["width"] : 2 * camera["width"]]
    assert render.std() > 10, "the twin render is blank"


# -- package folder ----------------------------------------------------------------------------------
def test_package_folder_has_ordinary_permissions(built, tmp_path):
    probe = tmp_path / "probe"
    probe.mkdir()
    expected = os.stat(probe).st_mode & 0o777
    assert os.stat(built["twin"]).st_mode & 0o777 == expected


def test_without_segments_the_scan_is_the_video_before_the_robot_moves():
    """Objects move only when the robot touches them: a demonstration with no ``segments`` fuses
    the frames before the arm's first move, never the execution."""
    from types import SimpleNamespace

    from twin.build import scan_frames, scan_span

    q = np.zeros((50, 7))
    q[:, 0] += np.random.default_rng(0).normal(0, 2e-4, 50)  # encoder noise while at rest
    q[23:, 1] = np.linspace(0.0, 0.8, 27)  # the arm moves from frame 23 on
    demo = SimpleNamespace(segments={}, num_frames=50, robot=SimpleNamespace(arrays={"joint_positions": q}))
    assert scan_span(demo) == (0, 24, "robot at rest")  # frame 23 still equals frame 0
    assert scan_frames(demo, 10).max() <= 23
    demo.segments = {"scan": [5, 20]}
    assert scan_span(demo) == (5, 20, "scan segment")
    moving = SimpleNamespace(
        segments={}, num_frames=50, robot=SimpleNamespace(arrays={"joint_positions": q[23:]})
    )
    assert scan_span(moving)[2] == "whole video"  # moving from the first frame: nothing better known
    assert scan_span(SimpleNamespace(segments={}, num_frames=50, robot=None)) == (0, 50, "whole video")
