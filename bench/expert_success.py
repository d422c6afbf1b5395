"""The scripted expert's success rate per reference task over 20 seeded episodes; prints JSON.

Run: ``python bench/expert_success.py [--episodes N]``. The same loop backs the test
``tests/benchmark/test_tasks_expert.py``; this script prints the table for the README.
"""

from __future__ import annotations

import argparse
import json

from benchmark.scenes.registry import load_scene, scene_names
from benchmark.scenes.rollout import run_expert_episode
from twin.scene.world import World


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--episodes", type=int, default=20)
    args = parser.parse_args()
    rows = []
    for name in scene_names():
        scene = load_scene(name)
        with World(scene) as world:
            for task in scene.tasks:
                outcomes = [run_expert_episode(world, task, seed) for seed in range(args.episodes)]
                rows.append(
                    {
                        "scene": name,
                        "task": task.name,
                        "family": task.family,
                        "episodes": args.episodes,
                        "successes": sum(o.success for o in outcomes),
                        "mean_steps": sum(o.steps for o in outcomes) / len(outcomes),
                    }
                )
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
