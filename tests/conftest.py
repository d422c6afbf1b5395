"""Shared fixtures: small recorded demonstrations of the reference scenes, recorded once per session."""

from __future__ import annotations

from pathlib import Path

import pytest


def _record(tmp_path_factory, scene: str, scan_frames: int) -> Path:
    from benchmark.scenes.recording import RecordConfig, record
    from benchmark.scenes.registry import load_scene

    out = tmp_path_factory.mktemp(f"rec_{scene}_{scan_frames}") / "demo"
    record(load_scene(scene), out, episodes=1, seed=3, config=RecordConfig(scan_frames=scan_frames))
    return out / "episode_000000"


@pytest.fixture(scope="session")
def recorded_demo(tmp_path_factory) -> Path:
    """One short tray_pick demonstration (8-frame scan)."""
    return _record(tmp_path_factory, "tray_pick", 8)


@pytest.fixture(scope="session")
def tray_pick_demo(tmp_path_factory) -> Path:
    """One tray_pick demonstration with a 12-frame scan, for twin builds; never modify it."""
    return _record(tmp_path_factory, "tray_pick", 12)


@pytest.fixture(scope="session")
def cube_stack_scan(tmp_path_factory):
    """The 20-frame scan of a cube_stack demonstration: rgb, depth, K, ground-truth T_world_camera."""
    from twin.demonstration import read_demonstration

    demo = read_demonstration(_record(tmp_path_factory, "cube_stack", 20))
    start, end = demo.segments["scan"]
    cam = demo.primary
    return cam.rgb[start:end], cam.depth[start:end], cam.K, cam.T_world_camera[start:end]


@pytest.fixture(scope="session")
def tray_pick_twin(tray_pick_demo, tmp_path_factory) -> dict:
    """The tray_pick demonstration built into a twin with splats (a quick build, with ground-truth
    scoring); ``["twin"]`` is its folder. Never modify it: copy it first."""
    from benchmark.scenes.twins import build_and_evaluate
    from twin.appearance import AppearanceConfig
    from twin.build import BuildConfig

    out = tmp_path_factory.mktemp("tray_pick_twin") / "twin"
    config = BuildConfig(max_scan_frames=12, appearance=AppearanceConfig(steps=30))
    return build_and_evaluate(tray_pick_demo, out, config=config)
