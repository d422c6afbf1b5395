"""Where a control step's time goes: a stage timer that wraps one env's pieces from outside.

``with profiled(env, timer): env.step(a)`` shadows a few bound methods of this env's own objects
(controller, world, renderer, env) with timed wrappers and restores them on exit, so an env that
is not being profiled runs exactly the code it always runs and pays nothing. Times are *exclusive*:
a stage's time leaves out the stages nested inside it, so the stages of a step add up to the step.

Stages (:data:`STAGES`): ``ik_controller`` (the action → joint targets, IK for ``ee_delta``),
``physics`` (the control period's ``mj_step`` substeps), ``robot_render`` (MuJoCo's robot-only
RGB-D pass, or the whole mesh render), ``splat_layers`` (rasterising splats: objects when they
moved, the background once per view), ``compositing`` (the rest of a camera's render: camera
set-up, depth merge, uint8), ``observation`` (the rest of the observation: sensor model,
perturbations, padding, proprioception), ``task_reward`` (the rest of ``env.step``: action check,
latency queue, task state, success, progress, info), and whatever the caller wraps itself
(e.g. ``policy``).
"""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from collections.abc import Callable, Iterator

STAGES = (
    "ik_controller",
    "physics",
    "robot_render",
    "splat_layers",
    "compositing",
    "observation",
    "task_reward",
)


class StageTimer:
    """Exclusive seconds and call counts per stage name; ``clock`` is injectable for tests."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter):
        self.clock = clock
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._inner: list[float] = []  # time spent in timed callees, one entry per open call

    def wrap(self, fn: Callable, stage: str) -> Callable:
        """``fn`` with its exclusive time added to ``stage`` on every call."""

        def timed(*args, **kwargs):
            t0 = self.clock()
            self._inner.append(0.0)
            try:
                return fn(*args, **kwargs)
            finally:
                inner = self._inner.pop()
                spent = self.clock() - t0
                self.seconds[stage] += spent - inner
                self.calls[stage] += 1
                if self._inner:
                    self._inner[-1] += spent

        return timed

    def per_step_ms(self, steps: int) -> dict[str, float]:
        """Milliseconds per step of every stage seen (in :data:`STAGES` order first), and their sum."""
        names = [s for s in STAGES if s in self.seconds] + [s for s in self.seconds if s not in STAGES]
        out = {name: 1e3 * self.seconds[name] / max(steps, 1) for name in names}
        return out | {"total": sum(out.values())}


def _targets(env) -> list[tuple[object, str, str]]:
    """(object, method name, stage) for what :func:`profiled` wraps in ``env``'s current scenario."""
    sc = env.scenario
    return [
        (env, "step", "task_reward"),
        (env, "_observation", "observation"),
        (env.controller, "apply", "ik_controller"),
        (sc.world, "step", "physics"),
        (sc.world, "render_rgbd", "robot_render"),
        (sc.renderer, "render", "compositing"),
        (sc.renderer, "_layer", "splat_layers"),
    ]


@contextlib.contextmanager
def profiled(env, timer: StageTimer) -> Iterator[StageTimer]:
    """Time ``env``'s stages into ``timer`` inside the block (after ``reset``: the controller and
    scenario it wraps are the current ones); the env's objects are as before afterwards."""
    if env.scenario is None:
        raise RuntimeError("call reset() before profiling a step")
    wrapped = []
    try:
        for obj, name, stage in _targets(env):
            if name in vars(obj):  # already shadowed on this instance: leave it
                continue
            setattr(obj, name, timer.wrap(getattr(obj, name), stage))
            wrapped.append((obj, name))
        yield timer
    finally:
        for obj, name in wrapped:
            delattr(obj, name)
