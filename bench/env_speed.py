"""Control steps per second of the twin environment against raw MuJoCo, on the same machine and
in the same run. Prints one JSON object.

- ``env``: a full control step of :class:`benchmark.episodes.env.TwinEnv` with one 128×128 camera and splat
  compositing on (a reconstructed twin), the scripted expert answering every observation
  (policy I/O included) so that objects are grasped and carried: IK, physics, robot render,
  object splats whenever an object moved, compositing, the observation. (The scripted expert
  plans from the simulator's state: the vision expert cannot find the objects at 128×128.)
- ``raw``: the same compiled model stepped for the same control period with ``mj_step`` plus
  one 128×128 render of the same camera through ``mujoco.Renderer``.

    python bench/env_speed.py [--episodes 3] [--splat-steps 150]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from benchmark.episodes.env import EnvConfig, TwinEnv
from benchmark.scenes.recording import RecordConfig, record
from benchmark.scenes.registry import load_scene
from benchmark.scenes.twins import build_and_evaluate
from benchmark.sim.expert import ScriptedExpert
from twin.appearance import AppearanceConfig
from twin.build import BuildConfig
from twin.scene.world import mujoco

SIZE = (128, 128)


def build_twin(workdir: Path, splat_steps: int) -> Path:
    record(load_scene("tray_pick"), workdir / "demo", 1, 3, None, RecordConfig(scan_frames=16))
    config = BuildConfig(max_scan_frames=16, appearance=AppearanceConfig(steps=splat_steps))
    return Path(
        build_and_evaluate(workdir / "demo" / "episode_000000", workdir / "twin", config=config)["twin"]
    )


def env_rate(twin: Path, episodes: int) -> dict:
    env = TwinEnv(twin, EnvConfig(image_size=SIZE))
    steps, seconds, successes = 0, 0.0, 0
    for seed in range(episodes):
        obs, _ = env.reset(seed=seed)
        expert = ScriptedExpert(env.scenario.world, env.task, seed=seed)
        expert.reset(obs["instruction"])
        start = time.perf_counter()
        done = False
        while not done:
            obs, _, terminated, truncated, info = env.step(expert.act(obs))
            steps += 1
            done = terminated or truncated
        seconds += time.perf_counter() - start
        successes += info["termination"] == "success"
    camera = env.scenario.cameras[0]
    splats = env.scenario.renderer.splats
    world = env.scenario.world
    env.close()
    return {
        "steps_per_s": steps / seconds,
        "steps": steps,
        "successes": successes,
        "splats": splats,
        "camera": camera,
        "substeps": world.substeps,
    }


def raw_rate(twin: Path, camera: str, steps: int) -> float:
    env = TwinEnv(twin, EnvConfig(image_size=SIZE, render="mesh"))
    env.reset(seed=0)
    world = env.scenario.world
    renderer = mujoco.Renderer(world.model, height=SIZE[1], width=SIZE[0])
    renderer.update_scene(world.data, camera=camera)
    renderer.render()  # warm-up
    start = time.perf_counter()
    for _ in range(steps):
        mujoco.mj_step(world.model, world.data, nstep=world.substeps)
        renderer.update_scene(world.data, camera=camera)
        renderer.render()
    rate = steps / (time.perf_counter() - start)
    renderer.close()
    env.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--splat-steps", type=int, default=150)
    parser.add_argument("--twin", type=Path, help="Use this twin package instead of building one.")
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        twin = args.twin or build_twin(Path(tmp), args.splat_steps)
        raw_before = raw_rate(twin, "front", 150)
        env = env_rate(twin, args.episodes)
        raw_after = raw_rate(twin, env["camera"], 150)
    raw = (raw_before + raw_after) / 2
    print(
        json.dumps(
            {
                "image": f"{SIZE[0]}x{SIZE[1]}",
                "splat_compositing": env["splats"],
                "physics_substeps": env["substeps"],
                "env_steps_per_s": round(env["steps_per_s"], 1),
                "env_steps": env["steps"],
                "expert_successes": f"{env['successes']}/{args.episodes}",
                "raw_mujoco_step_render_per_s": round(raw, 1),
                "raw_runs_per_s": [round(raw_before, 1), round(raw_after, 1)],
                "env_over_raw": round(env["steps_per_s"] / raw, 3),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
