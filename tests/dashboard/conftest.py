"""A seeded store for the dashboard's tests, built in about a second without a simulation.

Two twins (the authored ``tray_pick`` reference scene, and a copy of ``block_push`` dressed as a
reconstructed twin: a real frame, a three-panel preview and fidelity figures), three policies ×
(unperturbed, ``object_yaw`` 0.5 and 1) × four seeds in each twin, each episode a real artefact
folder with a short MP4 and ``episode.json``; the state judgment of each, a VLM judgment of each,
campaign ``seeded`` holding every job, and stored state and VLM ratings. ``alpha`` always
succeeds, ``beta`` fails early (progress < 0.3: known-answer pairs for qualification), ``gamma``
succeeds on even seeds and otherwise ends in a policy error.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import point_dashboard_at

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
POLICIES = ("alpha", "beta", "gamma")
CELLS = (("none", 0.0), ("object_yaw", 0.5), ("object_yaw", 1.0))
SEEDS = 4
INSTRUCTION = "put the red cube in the blue tray"


def _benchmark_conftest():
    """tests/benchmark/conftest.py, for its database fixtures (db_url over SQLite and PostgreSQL)."""
    name = "twinarena_benchmark_conftest"
    if name not in sys.modules:
        path = Path(__file__).parents[1] / "benchmark" / "conftest.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


_db = _benchmark_conftest()
postgres_server_url = _db.postgres_server_url
_postgres_admin = _db._postgres_admin
db_url = _db.db_url


def outcome(policy: str, seed: int, level: float) -> dict:
    if policy == "alpha":
        return {"success": True, "progress": 1.0, "steps": 40 + seed, "termination": "success"}
    if policy == "beta":
        return {"success": False, "progress": 0.05 * seed, "steps": 100, "termination": "timeout"}
    if seed % 2 == 0 and level < 1:
        return {"success": True, "progress": 1.0, "steps": 60, "termination": "success"}
    return {
        "success": False,
        "progress": 0.5,
        "steps": 20,
        "termination": "policy_error",
        "detail": "RuntimeError: gripper command out of range",
    }


@pytest.fixture(scope="session")
def videos(tmp_path_factory) -> dict[str, bytes]:
    """Three short real MP4s (green, red, amber), one per policy."""
    from twin.video import write_mp4

    root = tmp_path_factory.mktemp("videos")
    out = {}
    for policy, colour in zip(POLICIES, ((40, 200, 60), (220, 40, 40), (230, 160, 30)), strict=True):
        frames = np.zeros((6, 48, 64, 3), np.uint8)
        frames[:] = colour
        frames[:, :, :8] = np.arange(6, dtype=np.uint8)[:, None, None, None] * 40  # it moves
        write_mp4(root / f"{policy}.mp4", frames, fps=5)
        out[policy] = (root / f"{policy}.mp4").read_bytes()
    return out


@pytest.fixture(scope="session")
def twin_folders(tmp_path_factory) -> list[Path]:
    """The authored tray_pick twin, and block_push dressed as a reconstructed twin."""
    from PIL import Image

    from benchmark.scenes.authored import reference_twin

    authored = reference_twin("tray_pick")
    dressed = tmp_path_factory.mktemp("twins") / "block_push"
    shutil.copytree(reference_twin("block_push"), dressed)
    render = np.asarray(Image.open(dressed / "preview.png").convert("RGB"))
    real = render.copy()
    real[..., 0] = np.clip(real[..., 0].astype(int) + 25, 0, 255)  # the "filmed" frame, warmer
    difference = np.abs(real.astype(int) - render.astype(int)).astype(np.uint8)
    Image.fromarray(real).save(dressed / "reference.png")
    Image.fromarray(np.concatenate([real, render, difference], axis=1)).save(dressed / "preview.png")
    fidelity = {"psnr_db": 31.6, "ssim": 0.961, "depth_error_m": 0.011}
    fidelity["ground_truth"] = {"max_position_error_m": 0.0007}
    (dressed / "fidelity.json").write_text(json.dumps(fidelity))
    return [authored, dressed]


def seed_store(store, work: Path, videos: dict[str, bytes], twin_folders: list[Path]) -> dict:
    """Fill an empty store as the module docstring says; returns what it wrote."""
    from benchmark.judges.standings import fit_and_store
    from benchmark.judges.state import judge_state
    from benchmark.policies.protocol import PolicyInfo
    from benchmark.store.models import Judgment

    twins = [store.add_twin(folder) for folder in twin_folders]
    policy_ids = {
        name: store.add_policy(PolicyInfo(name=name, kind="builtin", extra={"spec": "random"})).id
        for name in POLICIES
    }
    scenarios = [
        {"key": f"{twin.id}-{axis}-{level}-{seed}", "twin_id": twin.id, "task": twin.task, "axis": axis,
         "level": level, "perturbations": [] if axis == "none" else [f"{axis}={level:g}"], "seed": seed,
         "config": {}}
        for twin in twins for axis, level in CELLS for seed in range(SEEDS)
    ]  # fmt: skip
    jobs = [(policy_ids[p], s["key"]) for s in scenarios for p in POLICIES]
    campaign, ids = store.add_campaign("c" * 64, "seeded", {"policy_names": list(POLICIES)}, scenarios, jobs)
    rng = np.random.default_rng(0)
    episodes = 0
    for scenario in scenarios:
        for policy in POLICIES:
            result = outcome(policy, scenario["seed"], scenario["level"])
            folder = work / "episodes" / f"{policy}-{scenario['key']}"
            folder.mkdir(parents=True)
            (folder / "front.mp4").write_bytes(videos[policy])
            record = {"scenario": {"instruction": INSTRUCTION, "key": scenario["key"]}, "outcome": result}
            (folder / "episode.json").write_text(json.dumps(record))
            episode = store.add_episode(
                policy_ids[policy], ids[scenario["key"]], result, folder, "seed", judgment=judge_state(result)
            )
            with store.session() as session:
                score = float(np.clip(100 * result["progress"] * 0.9 + rng.normal(0, 3), 0, 100))
                session.add(
                    Judgment(episode_id=episode, judge="vlm", model="test-vlm", prompt_version="v1",
                             score=score, success=score > 50, detail={})
                )  # fmt: skip
            episodes += 1
    for judge in ("state", "vlm"):
        fit_and_store(store, judge, rounds=20)
    return {"campaign": campaign.name, "episodes": episodes, "twins": [t.name for t in twins]}


@pytest.fixture
def seeded(db_url, tmp_path, videos, twin_folders, monkeypatch) -> dict:
    """A seeded store on ``db_url`` (SQLite or PostgreSQL); the dashboard's environment points at
    it. Returns the URL, the artefact folder and what was written."""
    from benchmark.store import open_store

    artefacts = tmp_path / "artefacts"
    with open_store(db_url, artefacts) as store:
        written = seed_store(store, tmp_path, videos, twin_folders)
    point_dashboard_at(monkeypatch, db_url, artefacts)
    return {"url": db_url, "artefacts": artefacts, **written}


@pytest.fixture
def empty(tmp_path, monkeypatch) -> str:
    """The dashboard's environment pointed at a new, empty SQLite store."""
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    point_dashboard_at(monkeypatch, url, tmp_path / "artefacts")
    return url


@pytest.fixture
def app(request):
    """A fresh AppTest of the dashboard (run it after choosing a page); the caches are emptied
    after the test, so no store stays open."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    yield lambda: AppTest.from_file(str(APP), default_timeout=60)
    st.cache_data.clear()
    st.cache_resource.clear()
