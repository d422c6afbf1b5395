"""Simulation throughput: mj_step/s per scene with the Panda, render fps, recorder efficiency.

Prints one JSON object. Run: ``python bench/sim.py`` (``--quick`` for a short smoke run).
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmark.scenes.recording import RecordConfig, record
from benchmark.scenes.registry import load_scene, scene_names
from twin.scene.world import World, mujoco


def steps_per_second(world: World, steps: int) -> float:
    world.reset(0)
    start = time.perf_counter()
    mujoco.mj_step(world.model, world.data, nstep=steps)
    return steps / (time.perf_counter() - start)


def render_fps(world: World, camera: str, size: int, frames: int, depth: bool = False) -> float:
    world.reset(0)
    world.render(camera, size, size, depth=depth)  # warm-up: context and texture upload
    start = time.perf_counter()
    for _ in range(frames):
        world.render(camera, size, size, depth=depth)
    return frames / (time.perf_counter() - start)


def recorder_ratio(scene_name: str, episodes: int) -> dict:
    """Recorder frames/s against raw (physics substeps + the same renders) frames/s."""
    scene = load_scene(scene_name)
    config = RecordConfig()
    main = scene.cameras[0]
    with World(scene) as world:
        world.reset(0)
        frames = 40
        for _ in range(2):  # warm-up
            world.render(main.name, main.width, main.height, depth=True)
            world.render(world.wrist_camera, *config.wrist_size)
        start = time.perf_counter()
        for _ in range(frames):
            world.step()
            world.render(main.name, main.width, main.height, depth=True)
            world.render(world.wrist_camera, *config.wrist_size)
        raw_fps = frames / (time.perf_counter() - start)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        summaries = record(scene, Path(tmp) / "rec", episodes, seed=0, config=config)
        elapsed = time.perf_counter() - start
    recorded = sum(s.frames for s in summaries)
    return {
        "scene": scene_name,
        "raw_step_plus_render_fps": raw_fps,
        "recorder_fps": recorded / elapsed,
        "ratio": (recorded / elapsed) / raw_fps,
        "frames": recorded,
        "includes": "world build, IK, expert, depth + wrist renders, H.264 and npz writing",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer steps and frames")
    args = parser.parse_args()
    steps, frames, episodes = (2000, 30, 1) if args.quick else (20000, 200, 3)
    result: dict = {
        "machine": {"python": platform.python_version(), "mujoco": mujoco.__version__},
        "scenes": {},
    }
    for name in scene_names():
        scene = load_scene(name)
        with World(scene) as world:
            camera = scene.cameras[0].name
            result["scenes"][name] = {
                "mj_step_per_s": steps_per_second(world, steps),
                "render_fps_128": render_fps(world, camera, 128, frames),
                "render_fps_256": render_fps(world, camera, 256, frames),
                "render_depth_fps_128": render_fps(world, camera, 128, frames, depth=True),
                "shadow_size": scene.physics.shadow_size,
            }
    result["recorder"] = recorder_ratio("tray_pick", episodes)
    summary = result["scenes"].values()
    result["median"] = {
        key: float(np.median([s[key] for s in summary]))
        for key in ("mj_step_per_s", "render_fps_128", "render_fps_256")
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
