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

``--profile`` instead splits a control step into its stages (:mod:`benchmark.episodes.profiling`)
with the scripted expert behind the episode runner's policy call (``ask``, with the campaigns' step
timeout), at ``--hz`` (20) with one 128×128 camera and with the same plus the wrist camera, and
prints milliseconds per step per stage. ``--against REV`` runs the same profile in a copy of that
git revision (``git archive``, with this script and the profiling module copied in), alternating
with this tree (or revision ``--new``) for ``--rounds`` rounds, and prints both with their ratios
(median over rounds):

    OMP_NUM_THREADS=1 python bench/env_speed.py --profile --twin T [--against REV [--new REV]] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from benchmark.campaigns.campaign import DEFAULT_STEP_TIMEOUT_S
from benchmark.episodes import episode
from benchmark.episodes.env import EnvConfig, TwinEnv
from benchmark.episodes.profiling import StageTimer, profiled
from benchmark.scenes.recording import RecordConfig, record
from benchmark.scenes.registry import load_scene
from benchmark.scenes.twins import build_and_evaluate
from benchmark.sim.expert import ScriptedExpert
from twin.appearance import AppearanceConfig
from twin.build import BuildConfig
from twin.scene.world import mujoco

SIZE = (128, 128)
ROOT = Path(__file__).resolve().parents[1]
PROFILE_FILES = ("bench/env_speed.py", "benchmark/episodes/profiling.py")


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


# -- --profile ------------------------------------------------------------------------------------
def profile_config(twin: Path, wrist: bool, episodes: int, hz: float, max_steps: int) -> dict:
    """Milliseconds per control step by stage, over ``episodes`` expert episodes (each at most
    ``max_steps`` steps), with the front camera (plus the wrist camera when ``wrist``)."""
    env = TwinEnv(twin, EnvConfig(image_size=SIZE, cameras=("front",), wrist_camera=wrist, control_hz=hz))
    timer = StageTimer()
    ask = timer.wrap(episode.ask, "policy_boundary")
    steps, seconds, wire_s = 0, 0.0, 0.0
    for seed in range(episodes):
        obs, _ = env.reset(seed=seed)
        expert = ScriptedExpert(env.scenario.world, env.task, seed=seed)
        expert.reset(obs["instruction"])
        expert.act = timer.wrap(expert.act, "policy")
        with profiled(env, timer):
            start = time.perf_counter()
            for _ in range(max_steps):
                obs, _, terminated, truncated, _ = env.step(ask(expert, obs, DEFAULT_STEP_TIMEOUT_S))
                steps += 1
                if terminated or truncated:
                    break
            seconds += time.perf_counter() - start
        wire_s += _wire_seconds(obs)
    splats = env.scenario.renderer.splats
    env.close()
    return {
        "cameras": ["front", "robot/wrist"] if wrist else ["front"],
        "splat_compositing": splats,
        "steps": steps,
        "steps_per_s": steps / seconds,
        "ms_per_step": timer.per_step_ms(steps),
        "splat_layer_renders_per_step": timer.calls["splat_layers"] / max(steps, 1),
        "isolated_policy_wire_ms": 1e3 * wire_s / episodes,
    }


def _wire_seconds(obs: dict) -> float:
    """One observation and one action through the isolated workers' msgpack framing, both ways."""
    from benchmark.policies.wire import pack, unpack

    start = time.perf_counter()
    unpack(pack(obs))
    unpack(pack({"action": torch.zeros(7).numpy()}))
    return time.perf_counter() - start


def profile(args) -> dict:
    """The profile of both camera set-ups in this tree."""
    configs = {
        name: profile_config(args.twin, wrist, args.episodes, args.hz, args.max_steps)
        for name, wrist in (("front", False), ("front+wrist", True))
    }
    return {"image": f"{SIZE[0]}x{SIZE[1]}", "control_hz": args.hz, "code": str(ROOT), **configs}


def _profile_child(root: Path, args) -> dict:
    """``--profile`` run by a fresh Python in the tree ``root``."""
    cmd = [sys.executable, str(root / "bench/env_speed.py"), "--profile", "--twin", str(args.twin)]
    cmd += ["--episodes", str(args.episodes), "--hz", str(args.hz), "--max-steps", str(args.max_steps)]
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run(cmd, cwd=root, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def _median_profile(runs: list[dict]) -> dict:
    """Per camera set-up: median steps/s and median ms per stage over ``runs``."""
    out = {}
    for name in ("front", "front+wrist"):
        stages = runs[0][name]["ms_per_step"]
        out[name] = {
            "steps_per_s": round(statistics.median(r[name]["steps_per_s"] for r in runs), 2),
            "steps_per_s_runs": [round(r[name]["steps_per_s"], 2) for r in runs],
            "ms_per_step": {
                k: round(statistics.median(r[name]["ms_per_step"].get(k, 0.0) for r in runs), 3)
                for k in stages
            },
            "splat_layer_renders_per_step": round(runs[0][name]["splat_layer_renders_per_step"], 3),
            "isolated_policy_wire_ms": round(
                statistics.median(r[name]["isolated_policy_wire_ms"] for r in runs), 3
            ),
        }
    return out


def _tree(rev: str, dest: Path) -> Path:
    """Revision ``rev`` of this repository unpacked at ``dest``, with this tree's profiling files."""
    dest.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    for rel in PROFILE_FILES:  # the instrumentation itself, so both trees are measured alike
        shutil.copy(ROOT / rel, dest / rel)
    return dest


def compare(args) -> dict:
    """``args.new`` (a revision; None: this working tree) against ``args.against``, alternated over
    ``args.rounds`` rounds in fresh processes."""
    with tempfile.TemporaryDirectory() as tmp:
        old = _tree(args.against, Path(tmp) / "old")
        new_root = ROOT if args.new is None else _tree(args.new, Path(tmp) / "new")
        runs: dict[str, list[dict]] = {"new": [], "old": []}
        for _ in range(args.rounds):
            runs["old"].append(_profile_child(old, args))
            runs["new"].append(_profile_child(new_root, args))
    new, old_ = _median_profile(runs["new"]), _median_profile(runs["old"])
    ratios = {
        name: {
            "steps_per_s_new_over_old": round(new[name]["steps_per_s"] / old_[name]["steps_per_s"], 3),
            "ms_per_step_new_over_old": {
                k: round(v / old_[name]["ms_per_step"][k], 3)
                for k, v in new[name]["ms_per_step"].items()
                if old_[name]["ms_per_step"].get(k)
            },
        }
        for name in new
    }
    return {
        "image": f"{SIZE[0]}x{SIZE[1]}",
        "control_hz": args.hz,
        "rounds": args.rounds,
        "new": {"tree": args.new or "working tree", **new},
        "old": {"tree": args.against, **old_},
        "ratios": ratios,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--splat-steps", type=int, default=150)
    parser.add_argument("--twin", type=Path, help="Use this twin package instead of building one.")
    parser.add_argument("--profile", action="store_true", help="Per-stage milliseconds of a control step.")
    parser.add_argument("--hz", type=float, default=20.0, help="Control rate of --profile.")
    parser.add_argument("--max-steps", type=int, default=400, help="Most steps of a --profile episode.")
    parser.add_argument("--against", help="With --profile: a git revision to profile alternately.")
    parser.add_argument(
        "--new", help="With --against: the revision to profile against it (default: this tree)."
    )
    parser.add_argument("--rounds", type=int, default=3, help="Rounds of --against.")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.profile:
        if args.twin is None:
            parser.error("--profile needs --twin (a twin package with splats)")
        print(json.dumps(compare(args) if args.against else profile(args), indent=1))
        return
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
