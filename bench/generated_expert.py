"""The scripted (privileged) expert's success on generated scenes; prints JSON.

Run: ``python bench/generated_expert.py [--seeds 0-29]``. One episode per scene (the scene's
seed is the episode's seed), so each row is a different table, frame, object set and task; the
summary gives the rate per task family and the failing seeds to look at.
"""

from __future__ import annotations

import argparse
import json
import time


def parse_seeds(text: str) -> list[int]:
    """``"0-29"``, ``"3,7,11"`` or a mix (``"0-4,9"``) as a list of seeds."""
    seeds: list[int] = []
    for part in text.split(","):
        if "-" in part.strip("-")[1:]:
            lo, hi = part.split("-", 1)
            seeds.extend(range(int(lo), int(hi) + 1))
        elif part:
            seeds.append(int(part))
    return seeds


def main() -> None:
    from benchmark.scenes.generator import generate_scene
    from benchmark.scenes.rollout import run_expert_episode
    from twin.scene.world import World

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", default="0-29")
    args = parser.parse_args()
    rows = []
    start = time.perf_counter()
    for seed in parse_seeds(args.seeds):
        scene = generate_scene(seed)
        task = scene.tasks[0]
        with World(scene) as world:
            outcome = run_expert_episode(world, task, seed)
        rows.append(
            {
                "seed": seed,
                "family": task.family,
                "object": f"{scene.object(task.object).shape}",
                "target": f"{scene.object(task.target).shape}",
                "objects": len(scene.objects),
                "success": bool(outcome.success),
                "progress": round(outcome.progress, 3),
                "steps": outcome.steps,
            }
        )
    families = sorted({r["family"] for r in rows})
    summary = {
        "scenes": len(rows),
        "success_rate": round(sum(r["success"] for r in rows) / len(rows), 3),
        "by_family": {
            f: f"{sum(r['success'] for r in rows if r['family'] == f)}/{sum(r['family'] == f for r in rows)}"
            for f in families
        },
        "failed_seeds": [r["seed"] for r in rows if not r["success"]],
        "seconds": round(time.perf_counter() - start, 1),
    }
    print(json.dumps({"summary": summary, "scenes": rows}, indent=1))


if __name__ == "__main__":
    main()
