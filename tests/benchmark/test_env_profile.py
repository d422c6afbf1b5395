"""The per-stage step profile (benchmark.episodes.profiling) and the env's one-thread splat rendering."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.episodes import env as env_module
from benchmark.episodes.env import EnvConfig, TwinEnv, numba_threads
from benchmark.episodes.profiling import STAGES, StageTimer, profiled
from benchmark.scenes.authored import reference_twin

PUSH = np.array([0.01, 0.0, -0.01, 0, 0, 0, 0.0])


class FakeClock:
    """A clock that moves only when told."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_stage_times_are_exclusive_and_add_up():
    clock = FakeClock()
    timer = StageTimer(clock)

    def inner():
        clock.now += 2.0

    inner = timer.wrap(inner, "physics")

    def outer():
        clock.now += 1.0
        inner()
        clock.now += 0.5
        inner()

    timer.wrap(outer, "task_reward")()
    assert timer.seconds == {"physics": 4.0, "task_reward": 1.5}
    assert timer.calls == {"physics": 2, "task_reward": 1}
    ms = timer.per_step_ms(steps=2)
    assert list(ms) == ["physics", "task_reward", "total"]
    assert ms == {"physics": 2000.0, "task_reward": 750.0, "total": 2750.0}


def test_a_raising_stage_still_counts_and_unwinds():
    clock = FakeClock()
    timer = StageTimer(clock)

    def fails():
        clock.now += 1.0
        raise ValueError("no")

    with pytest.raises(ValueError):
        timer.wrap(fails, "policy")()
    timer.wrap(lambda: None, "physics")()
    assert timer.seconds == {"policy": 1.0, "physics": 0.0}


def test_profiling_times_every_stage_changes_nothing_and_leaves_no_trace():
    config = EnvConfig(image_size=(64, 64), render="mesh", control_hz=20)
    plain, timed = TwinEnv(reference_twin("tray_pick"), config), TwinEnv(reference_twin("tray_pick"), config)
    a, _ = plain.reset(seed=3)
    b, _ = timed.reset(seed=3)
    timer = StageTimer()
    with profiled(timed, timer):
        for _ in range(4):
            a, ra, *_ = plain.step(PUSH)
            b, rb, *_ = timed.step(PUSH)
            assert ra == rb
            np.testing.assert_array_equal(a["state"], b["state"])
            for name in a["images"]:
                np.testing.assert_array_equal(a["images"][name], b["images"][name])
    # a mesh-only twin draws no splats; every other stage ran once a step
    assert set(timer.seconds) == set(STAGES) - {"splat_layers"}
    assert timer.calls["physics"] == timer.calls["task_reward"] == 4
    assert all(s >= 0 for s in timer.seconds.values())
    for obj in (timed, timed.controller, timed.scenario.world, timed.scenario.renderer):
        assert not {"step", "_observation", "apply", "render_rgbd", "render", "_layer"} & set(vars(obj))
    plain.close()
    timed.close()


def test_profiling_needs_a_reset_env():
    env = TwinEnv(reference_twin("tray_pick"), EnvConfig(image_size=(32, 32), render="mesh"))
    with pytest.raises(RuntimeError, match="reset"), profiled(env, StageTimer()):
        pass


def test_numba_threads_is_scoped():
    numba = pytest.importorskip("numba")
    before = numba.get_num_threads()
    with numba_threads(1):
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == before
    with numba_threads(None):
        assert numba.get_num_threads() == before


def test_one_render_thread_renders_the_same_splat_episode(tray_pick_twin, monkeypatch):
    """Rendering a step's splats on one numba thread (the default) gives the very same observations
    as numba's full pool."""
    config = EnvConfig(image_size=(64, 64), wrist_camera=True, control_hz=20)
    runs = []
    for threads in (1, None):
        monkeypatch.setattr(env_module, "RENDER_THREADS", threads)
        env = TwinEnv(tray_pick_twin["twin"], config)
        obs, _ = env.reset(seed=1)
        assert env.scenario.renderer.splats
        frames = [obs["images"]]
        for _ in range(3):
            obs, *_ = env.step(PUSH)
            frames.append(obs["images"])
        env.close()
        runs.append(frames)
    for one, pool in zip(*runs, strict=True):
        for name in one:
            np.testing.assert_array_equal(one[name], pool[name])
