"""The splat fit's stop rule (step cap, time budget, convergence), driven by a fake clock: no test
here reads or asserts wall-clock time."""

from __future__ import annotations

import math

import numpy as np
import pytest

from twin.splats.fit import FitConfig, fit_splats, plateaued, schedule_progress, stop_reason


class TickClock:
    """A clock that moves ``tick`` seconds every time it is read."""

    def __init__(self, tick: float = 1.0):
        self.now, self.tick, self.reads = 0.0, tick, 0

    def __call__(self) -> float:
        self.reads += 1
        self.now += self.tick
        return self.now - self.tick


# -- the pure rule ---------------------------------------------------------------------------------
def test_plateau_compares_the_last_two_windows():
    assert not plateaued([20.0, 20.0, 20.0], window=2, min_gain=0.1)  # fewer than two windows
    assert plateaued([20.0, 20.0, 20.02, 20.02], window=2, min_gain=0.1)
    assert not plateaued([20.0, 20.0, 21.0, 21.0], window=2, min_gain=0.1)
    assert plateaued([22.0, 22.0, 21.0, 21.0], window=2, min_gain=0.1)  # getting worse counts as done
    assert not plateaued([20.0] * 10, window=0, min_gain=0.1)  # window 0: never


def test_stop_reasons_in_order_of_precedence():
    cfg = FitConfig(max_steps=10, time_budget_s=5.0, converge_window=2, converge_db=0.1, converge_after=0.5)
    flat = [20.0] * 8
    assert stop_reason(10, 9.0, 1.0, flat, cfg) == "max_steps"
    assert stop_reason(3, 5.0, 1.0, flat, cfg) == "time_budget"
    assert stop_reason(6, 1.0, 0.6, flat, cfg) == "converged"
    assert stop_reason(4, 1.0, 0.4, flat, cfg) is None  # too early to call it converged
    assert stop_reason(6, 1.0, 0.6, [20.0, 20.0, 21.0, 21.0], cfg) is None  # still improving


def test_convergence_waits_for_densification_to_end_by_default():
    cfg = FitConfig(max_steps=100, time_budget_s=math.inf, converge_window=2, converge_db=0.1)
    flat = [20.0] * 4
    assert stop_reason(59, 0.0, cfg.densify.stop - 0.01, flat, cfg) is None
    assert stop_reason(60, 0.0, cfg.densify.stop, flat, cfg) == "converged"


def test_the_schedule_follows_the_steps_until_the_clock_runs_ahead():
    cfg = FitConfig(max_steps=100, time_budget_s=100.0, pace_grace=0.05)
    assert schedule_progress(10, 14.0, cfg, False) == (0.1, False)  # 0.14 is within the grace
    assert schedule_progress(10, 16.0, cfg, False) == (0.16, True)  # 0.16 is not: the clock leads
    assert schedule_progress(20, 16.0, cfg, True) == (0.2, True)  # ... for good, by the larger
    assert schedule_progress(20, 21.0, cfg, True) == (0.21, True)
    no_budget = FitConfig(max_steps=100, time_budget_s=math.inf)
    assert schedule_progress(50, 1e6, no_budget, False) == (0.5, False)


# -- the fit under a fake clock ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny():
    """A 6-frame 32×24 scan and initial points: (frames, cameras, points)."""
    pytest.importorskip("mujoco", reason="mujoco is needed to render the scan")
    import torch

    from twin.splats.camera import points_from_rgbd, voxel_downsample
    from twin.splats.testing import tabletop_scan

    scan = tabletop_scan(6, 32, 24)
    poses = torch.linalg.inv(scan.cameras.viewmats.double()).numpy()
    pts, cols = points_from_rgbd(
        scan.rgb, scan.depth, scan.cameras.Ks[0].numpy(), poses, stride=2, max_depth=10.0
    )
    return scan.rgb, scan.cameras, voxel_downsample(pts, cols, 0.08)


def _fit(tiny, clock, **kw):
    frames, cameras, points = tiny
    config = FitConfig(sh_degree=0, **kw)
    return fit_splats(frames, cameras, points, config=config, clock=clock)


def test_the_time_budget_stops_the_fit(tiny):
    clock = TickClock(1.0)  # every step "takes" one second: the budget allows 5 steps
    result = _fit(tiny, clock, max_steps=1000, time_budget_s=5.5)
    assert (result.steps, result.stop_reason) == (5, "time_budget")
    assert clock.reads == result.steps + 2  # the start, then once before every step and the stop
    assert result.train_psnr_db is not None and np.isfinite(result.train_psnr_db)


def test_the_step_cap_stops_a_fit_with_time_to_spare(tiny):
    result = _fit(tiny, TickClock(0.001), max_steps=7, time_budget_s=100.0, converge_window=0)
    assert (result.steps, result.stop_reason) == (7, "max_steps")


def test_convergence_stops_the_fit(tiny):
    # any gain below 1000 dB counts as converged: it stops as soon as two windows of 3 are in
    result = _fit(
        tiny, TickClock(0.001), max_steps=500, converge_window=3, converge_db=1000.0, converge_after=0.0
    )
    assert (result.steps, result.stop_reason) == (6, "converged")
    # and with a threshold nothing meets, the cap stops it
    again = _fit(tiny, TickClock(0.001), max_steps=12, converge_window=3, converge_db=-math.inf)
    assert again.stop_reason == "max_steps"


def test_the_same_fit_twice_gives_the_same_splats_when_no_budget_binds(tiny):
    """A budget the fit keeps pace with leaves the schedule on the steps: the same splats however
    fast the machine."""
    a = _fit(tiny, TickClock(0.001), max_steps=8, time_budget_s=100.0)
    b = _fit(tiny, TickClock(0.5), max_steps=8, time_budget_s=100.0)  # a slower "machine"
    assert a.steps == b.steps == 8
    np.testing.assert_array_equal(a.splats.means, b.splats.means)
    np.testing.assert_array_equal(a.splats.sh, b.splats.sh)
    # a machine that falls behind follows the clock: the schedule moves on, and the splats differ
    c = _fit(tiny, TickClock(5.0), max_steps=8, time_budget_s=60.0)
    assert c.steps == 8 and not np.array_equal(a.splats.means, c.splats.means)


def test_the_appearance_stage_takes_its_budget_and_clock():
    pytest.importorskip("mujoco", reason="mujoco is needed to render the scan")
    import torch

    from twin.appearance import AppearanceConfig, fit_scene
    from twin.splats.testing import tabletop_scan

    scan = tabletop_scan(4, 32, 24)
    poses = torch.linalg.inv(scan.cameras.viewmats.double()).numpy()
    config = AppearanceConfig(steps=100, seconds=3.0, init_voxel=0.08)
    fit = fit_scene(
        scan.rgb, scan.cameras.Ks[0].numpy(), poses, scan.depth, None, config, clock=TickClock(1.0)
    )
    assert (fit.steps, fit.stop_reason) == (2, "time_budget")


# -- what a build and the CLI report --------------------------------------------------------------
def test_a_build_reports_how_its_fit_stopped(tray_pick_twin):
    fit = tray_pick_twin["fidelity"]["splats"]
    assert fit["steps"] == fit["max_steps"] == 30 and fit["stop_reason"] == "max_steps"
    assert fit["budget_s"] > 0 and fit["fit_s"] >= 0 and 10.0 < fit["train_psnr_db"] < 100.0


def test_cli_passes_splat_seconds_and_prints_the_fit(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from benchmark.cli import app
    from benchmark.scenes import twins

    seen = {}

    def fake_build(demo, out, episode=None, overwrite=False, on_stage=None, config=None, sidecar=None):
        seen["config"], seen["sidecar"] = config, sidecar
        splats = {"steps": 412, "stop_reason": "time_budget", "train_psnr_db": 31.25, "fit_s": 90.2}
        return {
            "twin": str(out),
            "objects": ["cube"],
            "task": {"family": "pick_place", "object": "cube", "target": "tray"},
            "fidelity": {"psnr_db": 32.0, "ssim": 0.93, "splats": {**splats, "max_steps": 800}},
            "seconds": {"splats": 90.5},
        }

    monkeypatch.setattr(twins, "build_and_evaluate", fake_build)
    out = CliRunner().invoke(
        app, ["twin", "build", str(tmp_path), "-o", str(tmp_path / "t"), "--splat-seconds", "90"]
    )
    assert out.exit_code == 0, out.output
    assert seen["config"].appearance.seconds == 90.0 and seen["config"].appearance.steps == 800
    assert seen["sidecar"] is None
    assert "412 of at most 800 steps" in out.output and "time budget" in out.output and "31.2" in out.output
