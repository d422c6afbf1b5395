"""Robustness curves: a policy's success rate per twin, axis and level, over seeded episodes.

:func:`expert_cell` runs the vision expert (:class:`~benchmark.perception.VisionExpert`) in one
cell: one twin, one axis at one level, ``seeds`` episodes. Cells are independent, so
:func:`robustness_rows` spreads them over worker processes.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

from benchmark.env import EnvConfig, TwinEnv


def expert_cell(twin: str | Path, axis: str | None, level: float, seeds: int, config: EnvConfig) -> dict:
    """Success rate and mean progress of the vision expert in ``twin`` with ``axis`` at ``level``."""
    from benchmark.episode import run_episode
    from benchmark.perception import VisionExpert

    perturbations = () if axis is None or level == 0 else (f"{axis}={level:g}",)
    env = TwinEnv(twin, replace(config, perturbations=perturbations))
    try:
        expert = VisionExpert.calibrated(env)
        outcomes = [run_episode(env, expert, seed) for seed in range(seeds)]
    finally:
        env.close()
    return {
        "twin": env.twin.name,
        "task": env.twin.task["name"],
        "axis": axis or "none",
        "level": level,
        "episodes": seeds,
        "success_rate": sum(o.success for o in outcomes) / seeds,
        "mean_progress": round(sum(o.progress for o in outcomes) / seeds, 3),
        "terminations": {
            r: sum(o.termination == r for o in outcomes) for r in {o.termination for o in outcomes}
        },
    }


def _cell(args):
    import torch

    torch.set_num_threads(1)
    return expert_cell(*args)


def robustness_rows(
    twins: list[str | Path],
    axes: list[str],
    levels: list[float],
    seeds: int = 10,
    config: EnvConfig | None = None,
    workers: int = 1,
    on_row=None,
) -> list[dict]:
    """Rows for every twin: level 0 once, then every axis at every non-zero level."""
    config = config or EnvConfig()
    jobs = []
    for twin in twins:
        jobs.append((str(twin), None, 0.0, seeds, config))
        jobs += [(str(twin), axis, level, seeds, config) for axis in axes for level in levels if level > 0]
    if workers <= 1:
        rows = []
        for job in jobs:
            rows.append(_cell(job))
            if on_row:
                on_row(rows[-1])
        return rows
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        rows = []
        for row in pool.map(_cell, jobs):
            rows.append(row)
            if on_row:
                on_row(row)
        return rows
