"""The scripted expert in MuJoCo and in PyBullet, task by task and seed by seed; prints JSON.

Run: ``python bench/backends.py [--seeds N]``. For every reference task and seeds 0..N-1 it
runs the expert once per physics backend and reports success and final progress, each engine's
speed, per-task success rates, and every (task, seed) where the two engines disagree on success
with how far apart the episode's objects ended up.
"""

from __future__ import annotations

import argparse
import json
import re
import time

import numpy as np

from benchmark.scenes.registry import load_scene, scene_names
from benchmark.scenes.rollout import run_expert_episode
from benchmark.sim.bullet_world import BACKENDS, make_world

SPEED_STEPS = 50  # control periods timed with the arm holding still, per scene and backend
# Speeds: ``episode_control_steps_per_s`` is the whole expert loop (resets, expert, IK, physics);
# ``physics_steps_per_s`` is ``world.step`` alone (for PyBullet, with the copy back into MuJoCo).


def _final_positions(world) -> dict[str, np.ndarray]:
    return {name: pose.pos for name, pose in world.object_poses().items()}


def _physics_steps_per_s(world) -> float:
    """Physics steps per second of ``world.step`` alone (controls fixed, objects resting)."""
    world.reset(0)
    start = time.perf_counter()
    for _ in range(SPEED_STEPS):
        world.step()
    return SPEED_STEPS * world.substeps / (time.perf_counter() - start)


def run_scene(name: str, seeds: int) -> tuple[list[dict], dict[str, dict]]:
    """Every (task, seed) of scene ``name`` in every backend, and each backend's timings."""
    scene = load_scene(name)
    episodes, timing = [], {}
    for backend in BACKENDS:
        with make_world(scene, backend=backend) as world:
            control_steps, elapsed = 0, 0.0
            for task in scene.tasks:
                for seed in range(seeds):
                    start = time.perf_counter()
                    outcome = run_expert_episode(world, task, seed)
                    elapsed += time.perf_counter() - start
                    control_steps += outcome.steps
                    episodes.append(
                        {
                            "scene": name,
                            "task": task.name,
                            "object": task.object,
                            "seed": seed,
                            "backend": backend,
                            "success": outcome.success,
                            "progress": round(outcome.progress, 3),
                            "steps": outcome.steps,
                            "final": _final_positions(world),
                        }
                    )
            timing[backend] = {
                "episode_control_steps_per_s": control_steps / elapsed,
                "physics_steps_per_s": _physics_steps_per_s(world),
            }
    return episodes, timing


def _summary(runs: list[dict]) -> dict:
    return {
        "success_rate": sum(r["success"] for r in runs) / len(runs),
        "success": [r["success"] for r in runs],
        "progress": [r["progress"] for r in runs],
        "mean_steps": sum(r["steps"] for r in runs) / len(runs),
    }


def _distance(a: dict, b: dict, name: str) -> float:
    """How far apart object ``name`` ended in episodes ``a`` and ``b`` (m)."""
    return float(np.linalg.norm(a["final"][name] - b["final"][name]))


def _disagreement(a: dict, b: dict) -> dict:
    """One (task, seed) on whose success episodes ``a`` and ``b`` (two backends) differ."""
    return {
        "scene": a["scene"],
        "task": a["task"],
        "seed": a["seed"],
        **{f"{e['backend']}_success": e["success"] for e in (a, b)},
        **{f"{e['backend']}_progress": e["progress"] for e in (a, b)},
        "task_object_distance_m": round(_distance(a, b, a["object"]), 4),
        "max_object_distance_m": round(max(_distance(a, b, name) for name in a["final"]), 4),
    }


def compare(episodes: list[dict]) -> tuple[list[dict], list[dict]]:
    """Per-task rows (the backends side by side) and the (task, seed) disagreements."""
    reference, other = BACKENDS  # mujoco, pybullet
    runs: dict[tuple[str, str], dict[str, list[dict]]] = {}
    for e in episodes:
        runs.setdefault((e["scene"], e["task"]), {}).setdefault(e["backend"], []).append(e)
    rows, disagreements = [], []
    for (scene, task), by_backend in runs.items():
        pairs = list(zip(by_backend[reference], by_backend[other], strict=True))  # same seed order
        gaps = [_distance(a, b, a["object"]) for a, b in pairs]
        rows.append(
            {
                "scene": scene,
                "task": task,
                **{backend: _summary(by_backend[backend]) for backend in (reference, other)},
                "mean_task_object_distance_m": round(sum(gaps) / len(gaps), 4),
            }
        )
        disagreements += [_disagreement(a, b) for a, b in pairs if a["success"] != b["success"]]
    return rows, disagreements


def dumps(value) -> str:
    """Indented JSON with lists of plain values kept on one line."""
    text = json.dumps(value, indent=1)
    return re.sub(r"\[\s+([^\[\]{}]*?)\s+\]", lambda m: "[" + " ".join(m.group(1).split()) + "]", text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args()
    episodes, timings = [], {}
    for name in scene_names():
        scene_episodes, timings[name] = run_scene(name, args.seeds)
        episodes += scene_episodes
    rows, disagreements = compare(episodes)
    speed = {
        backend: {
            key: round(float(np.mean([t[backend][key] for t in timings.values()])))
            for key in ("episode_control_steps_per_s", "physics_steps_per_s")
        }
        for backend in BACKENDS
    }
    print(dumps({"seeds": args.seeds, "speed": speed, "tasks": rows, "disagreements": disagreements}))


if __name__ == "__main__":
    main()
