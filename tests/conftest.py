"""Shared fixtures: reference scenes and a small recorded demonstration."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def recorded_demo(tmp_path_factory):
    """One short tray_pick demonstration (8-frame scan), recorded once per test session."""
    from benchmark.recording import RecordConfig, record
    from benchmark.scenes import load_scene

    out = tmp_path_factory.mktemp("rec") / "demo"
    record(load_scene("tray_pick"), out, episodes=1, seed=3, config=RecordConfig(scan_frames=8))
    return out / "episode_000000"
