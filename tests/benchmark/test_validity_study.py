"""The validity study end to end on one scene: the proxy-real reference world and its honesty
checks, the ablation hybrids, ``run_study`` into the store, and ``twinarena validate``'s errors.

One demonstration of block_push is recorded through the reference sensor and one twin is built
from it with a short splat fit, once for the module."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from benchmark.sim.sensor import SensorModel
from benchmark.validity.reference import REFERENCE_SENSOR, ValidityError

FAST_SPLATS = 20


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """(demonstration, reference package, twin package, paths opened while the twin was built)."""
    from benchmark.scenes.registry import load_scene
    from benchmark.validity.sources import reference_source
    from benchmark.validity.study import reference_world
    from twin.appearance import AppearanceConfig
    from twin.build import BuildConfig, build_twin

    root = tmp_path_factory.mktemp("validity")
    scene = load_scene("block_push")
    from benchmark.validity.reference import record_reference

    demo = record_reference(scene, scene.task(None), root / "demo", seed=3, scan_frames=16)
    opened: list[str] = []
    recording = {"on": True}

    def audit(event, args):  # every file the build opens (audit hooks cannot be removed: gate it)
        if recording["on"] and event == "open" and isinstance(args[0], str | bytes):
            opened.append(str(args[0]))

    sys.addaudithook(audit)
    try:
        config = BuildConfig(max_scan_frames=16, appearance=AppearanceConfig(steps=FAST_SPLATS))
        build_twin(demo, root / "twin", config)
    finally:
        recording["on"] = False
    reference = reference_world(demo, reference_source("block_push"), root / "reference")
    return demo, reference, root / "twin", opened


# -- the sensor model ------------------------------------------------------------------------------
def test_sensor_model_exposure_noise_and_round_trip():
    image = np.full((8, 8, 3), 100, dtype=np.uint8)
    clean = SensorModel(exposure=1.5)
    brighter = clean.rgb(image, np.random.default_rng(0))
    assert (brighter > image).all() and len(np.unique(brighter)) == 1  # exposure alone: no noise
    warm = SensorModel(white_balance=(1.2, 1.0, 0.8)).rgb(image, np.random.default_rng(0))
    assert warm[0, 0, 0] > 100 and warm[0, 0, 1] == 100 and warm[0, 0, 2] < 100
    noisy = SensorModel(noise_sigma=3.0)
    a, b = noisy.rgb(image, np.random.default_rng(1)), noisy.rgb(image, np.random.default_rng(1))
    assert np.array_equal(a, b) and a.std() > 1.0
    depth = np.full((4, 4), 1.0, dtype=np.float32)
    depth[0, 0] = 0.0
    out = SensorModel(depth_noise=0.01).depth(depth, np.random.default_rng(0))
    assert out[0, 0] == 0.0 and out.dtype == np.float32 and 0 < np.abs(out[1:] - 1).max() < 0.1
    assert SensorModel.from_dict(REFERENCE_SENSOR.to_dict()) == REFERENCE_SENSOR
    with pytest.raises(ValueError, match="unknown keys"):
        SensorModel.from_dict({"gain": 2})


def test_the_reference_world_films_through_its_sensor(world):
    """The same package with and without its sensor: the sensor changes every first frame, the same
    seed gives the same noisy frame, and the demonstration was recorded through it."""
    from benchmark.episodes.env import EnvConfig, TwinEnv
    from benchmark.validity.reference import demonstration_sensor

    demo, reference, _, _ = world
    env = TwinEnv(reference, EnvConfig(image_size=(96, 72)))
    try:
        first = env.reset(seed=4)[0]["images"]["front"]
        again = env.reset(seed=4)[0]["images"]["front"]
        env.sensor = None
        plain = env.reset(seed=4)[0]["images"]["front"]
    finally:
        env.close()
    assert np.array_equal(first, again)
    assert np.abs(first.astype(int) - plain.astype(int)).mean() > 2.0
    assert demonstration_sensor(demo) == REFERENCE_SENSOR


# -- honesty ---------------------------------------------------------------------------------------
def test_reconstruction_never_opens_the_ground_truth(world):
    demo, _, _, opened = world
    assert any(str(demo) in path for path in opened)  # the hook saw the demonstration being read
    assert not [path for path in opened if "ground_truth" in path]


def test_the_twin_estimates_what_the_reference_world_sets(world):
    """Every honesty check holds; the twin's scene.xml carries its own masses and frictions."""
    from benchmark.validity.reference import honesty_checks
    from twin.package import read_twin
    from twin.scene.gl import import_mujoco

    demo, reference, twin, _ = world
    checks = honesty_checks(reference, twin, demo)
    assert [c["check"] for c in checks if not c["ok"]] == []
    mujoco = import_mujoco()
    model = mujoco.MjSpec.from_file(str(twin / "scene.xml")).compile()
    truth = {o.name: o for o in read_twin(reference).objects}["green_block"]
    body = model.body([o.name for o in read_twin(twin).objects if o.kind == "solid"][0])
    geoms = [g for g in range(model.ngeom) if model.geom_bodyid[g] == body.id and model.geom_contype[g]]
    assert not np.isclose(body.mass[0], truth.mass)
    assert all(not np.isclose(model.geom_friction[g][0], truth.friction) for g in geoms)


# -- ablation --------------------------------------------------------------------------------------
def test_hybrids_swap_in_one_reference_part(world, tmp_path):
    from benchmark.scenes.twins import check_package
    from benchmark.validity.ablation import hybrid_package
    from benchmark.validity.reference import lights_equal, scene_lights
    from twin.package import read_twin

    _, reference, twin, _ = world
    ref, tw = read_twin(reference), read_twin(twin)
    truth = {o.name: o for o in ref.objects}["green_block"]
    solid = next(o for o in tw.objects if o.kind == "solid")
    hybrids = {
        stage: hybrid_package(stage, twin, reference, tmp_path / stage)
        for stage in ("appearance", "geometry", "physics")
    }
    for stage, folder in hybrids.items():
        assert check_package(folder) == [], stage
    physics = {o.name: o for o in read_twin(hybrids["physics"]).objects}[solid.name]
    assert (physics.mass, physics.friction) == (truth.mass, truth.friction)
    geometry = {o.name: o for o in read_twin(hybrids["geometry"]).objects}[solid.name]
    assert (geometry.shape, geometry.size) == (truth.shape, truth.size)
    assert np.allclose(geometry.pos, truth.pos) and geometry.mass == solid.mass  # the twin's mass kept
    look = read_twin(hybrids["appearance"])
    assert not look.has("background") and all(o.splats is None for o in look.objects)
    assert look.manifest["sensor"] == REFERENCE_SENSOR.to_dict()
    assert lights_equal(scene_lights(look.path("scene")), scene_lights(ref.path("scene")))
    assert {o.name: o.mass for o in look.objects} == {o.name: o.mass for o in tw.objects}


# -- the study -------------------------------------------------------------------------------------
def test_validate_runs_both_worlds_and_stores_the_comparison(world, tmp_path):
    """``twinarena validate --json`` end to end (its twin reused, level 0 only, 2 policies × 1 seed,
    ablation forced), then again: the second run finds every episode in the store."""
    from benchmark.cli import app
    from benchmark.store import open_store

    demo, _, twin, _ = world
    args = ["validate", "--reference", "block_push", "--demo", str(demo), "--twin", str(twin)]
    args += ["--policy", "vision-expert", "--policy", "random", "--seeds", "1", "--perturb", "none"]
    args += ["--image-size", "160x160", "--max-seconds", "4", "--bootstrap", "50", "--ablate", "always"]
    db = f"sqlite:///{tmp_path / 'v.db'}"
    out = CliRunner().invoke(app, [*args, "--db", db, "--json"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout[out.stdout.index("{") :])
    with open_store(db) as store:
        _study_checks(store, result)
        episodes = len(store.episodes(limit=1000))
    again = CliRunner().invoke(app, [*args, "--db", db])
    assert again.exit_code == 0, again.output
    assert "Pearson" in again.stdout and "vision-expert" in again.stdout
    with open_store(db) as store:
        assert len(store.validity_results(result["twin_hash"])) == 2
        assert len(store.episodes(limit=1000)) == episodes  # nothing ran twice


def test_validate_population_learned_ranks_the_shipped_checkpoints(world, tmp_path):
    """``--population learned`` runs the scene's shipped image_cnn checkpoints in both worlds, each
    at its own image size, and no scripted policy (one seed, short episodes)."""
    from benchmark.cli import app
    from benchmark.validity.population import learned_population, member_name

    demo, _, twin, _ = world
    members = [member_name("block_push", p) for p in learned_population("block_push")]
    args = ["validate", "--reference", "block_push", "--demo", str(demo), "--twin", str(twin)]
    args += ["--population", "learned", "--seeds", "1", "--perturb", "none", "--max-seconds", "0.5"]
    args += ["--bootstrap", "20", "--ablate", "never", "--db", f"sqlite:///{tmp_path / 'l.db'}", "--json"]
    out = CliRunner().invoke(app, args)
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout[out.stdout.index("{") :])
    assert [p["policy"] for p in result["per_policy"]] == list(members)
    assert result["n_policies"] == len(members) >= 4 and result["n_scenarios"] == 1
    bad = CliRunner().invoke(app, [*args, "--population", "scripted"])
    assert isinstance(bad.exception, ValidityError) and "--population must be one of" in str(bad.exception)


def test_validate_compares_the_twin_with_real_robot_rates(world, tmp_path):
    """``--real RATES.csv --twin``: the CSV's policies run in the twin alone (level 0, one seed),
    the comparison is stored with no reference twin, and the per-policy rows carry the real counts."""
    from benchmark.cli import app
    from benchmark.store import open_store

    _, _, twin, _ = world
    rates = tmp_path / "lab.csv"
    rates.write_text("policy,successes,trials\nvision-expert,18,20\nrandom,0,20\n")
    db = f"sqlite:///{tmp_path / 'r.db'}"
    args = ["validate", "--real", str(rates), "--twin", str(twin), "--seeds", "1", "--max-seconds", "4"]
    args += ["--image-size", "160x160", "--bootstrap", "50", "--db", db, "--json"]
    out = CliRunner().invoke(app, args)
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout[out.stdout.index("{") :])
    assert result["reference"] == "real:lab" and result["reference_hash"] is None
    assert [(p["policy"], p["real_successes"], p["real_trials"]) for p in result["per_policy"]] == [
        ("vision-expert", 18, 20),
        ("random", 0, 20),
    ]
    assert result["per_policy"][0]["reference_success"] == 0.9 and result["n_scenarios"] == 1
    with open_store(db) as store:
        rows = store.validity_results(result["twin_hash"])
        assert [r.id for r in rows] == [result["id"]] and rows[0].reference_hash is None
        assert rows[0].detail["real"]["rows"][1] == {"policy": "random", "successes": 0, "trials": 20}
    both = CliRunner().invoke(app, [*args, "--reference", "block_push"])
    assert isinstance(both.exception, ValidityError) and "takes no --reference" in str(both.exception)


def test_references_name_registry_scenes_spec_files_generated_seeds_and_worlds(tmp_path):
    from benchmark.scenes.generator import generate_scene, write_scene
    from benchmark.validity.sources import reference_source

    assert reference_source("block_push").task.name == "block_to_square"
    generated = reference_source("generated:4")
    assert generated.scene == generate_scene(4) and generated.name == "generated_4"
    spec_file = write_scene(generate_scene(5), tmp_path / "five.yaml")
    assert reference_source(str(spec_file)).scene == generate_scene(5)
    for reference, message in [
        ("generated:x", "whole-number seed"),
        (str(tmp_path / "none.yaml"), "does not exist"),
        (str(tmp_path / "world.xml"), "needs --task FAMILY:OBJECT:TARGET"),
        ("block_push/no_task", "has no task 'no_task'"),
    ]:
        with pytest.raises(ValidityError, match=message):
            reference_source(reference)


def _study_checks(store, result) -> None:
    from benchmark.validity.ablation import STAGES

    rows = store.validity_results(result["twin_hash"])
    assert [r.id for r in rows] == [result["id"]]
    row = rows[0]
    assert (row.reference, row.task, row.n_policies, row.n_scenarios) == (
        "block_push",
        "block_to_square",
        2,
        1,
    )
    assert [p["policy"] for p in row.per_policy] == ["vision-expert", "random"]
    assert row.per_policy[1]["reference_success"] == 0.0 and row.per_policy[1]["twin_success"] == 0.0
    assert row.pearson_ci[0] <= row.pearson <= row.pearson_ci[1] + 1e-9
    assert row.blame in (*STAGES, None)
    assert [a["stage"] for a in row.detail["ablation"]] == list(STAGES)
    assert all(c["ok"] for c in row.detail["honesty"])
    names = {c.name for c in store.campaigns()}
    assert set(row.detail["campaigns"].values()) <= names
    assert {a["campaign"] for a in row.detail["ablation"]} <= names
    # both worlds' episodes are in the store, one per policy and scenario
    for campaign in row.detail["campaigns"].values():
        assert len(store.episodes(campaign=campaign)) == 2
    json.dumps(result)  # what --json prints


def test_validate_refuses_bad_input_with_one_line(world, tmp_path):
    from benchmark.cli import app

    demo, *_ = world
    runner = CliRunner()
    db = f"sqlite:///{tmp_path / 'v.db'}"
    cases = [
        (["--reference", "no_such_scene", "--demo", str(demo)], "unknown reference scene 'no_such_scene'"),
        (["--reference", "cube_stack", "--demo", str(demo)], "not the reference cube_stack"),
        (
            ["--reference", "block_push", "--demo", str(demo), "--ablate", "sometimes"],
            "--ablate must be one of",
        ),
    ]
    for args, message in cases:
        out = runner.invoke(app, ["validate", *args, "--db", db])
        assert isinstance(out.exception, ValidityError), args
        assert message in str(out.exception)
    from benchmark.validity.sources import reference_source
    from benchmark.validity.study import Hooks, StudyConfig, resolve_demo

    plain = tmp_path / "plain"
    from benchmark.scenes.recording import RecordConfig, record
    from benchmark.scenes.registry import load_scene

    record(load_scene("block_push"), plain, 1, 0, config=RecordConfig(scan_frames=2, hold_steps=0))
    with pytest.raises(ValidityError, match="not filmed through the reference world's sensor"):
        resolve_demo(plain, reference_source("block_push"), StudyConfig(), Hooks())
