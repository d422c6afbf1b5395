"""Benchmark the splat renderer and fitter; prints one JSON document.

    python bench/splats.py                      # render + fit-step timings, then a 2-minute fit
    python bench/splats.py --fit-budget 0       # timings only
    python bench/splats.py --demo PATH          # also fit the scan of a recorded demonstration

Render timings: median of ``--repeats`` runs after a warm-up, one camera, SH degree 3, on a
table-like cloud of random splats filling the view.  A fit step is one iteration of
``fit_splats`` (render, L1 + D-SSIM, backward, Adam) with densification off.  The fit run renders
an orbit around a MuJoCo tabletop, holds out every 8th frame and reports their PSNR.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")
# numba's and torch's OpenMP workers busy-wait between kernels by default; on 2 shared cores that
# costs ~3x under load. Must be set before torch (and its libgomp) loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from twin.splats._densify import DensifyConfig  # noqa: E402
from twin.splats.camera import Cameras, points_from_rgbd, voxel_downsample  # noqa: E402
from twin.splats.fit import FitConfig, _init_params, _to_splats, evaluate_psnr, fit_splats  # noqa: E402
from twin.splats.rendering import rasterization  # noqa: E402
from twin.splats.testing import orbit_cameras, random_splats, tabletop_scan  # noqa: E402

SIZES = [(20_000, 160, 120), (20_000, 320, 240), (100_000, 160, 120), (100_000, 320, 240)]


def _median_time(fn, repeats: int) -> float:
    fn()  # warm-up (JIT cache load, allocations)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench_render(n: int, width: int, height: int, repeats: int) -> dict:
    means, quats, scales, opac, colors = random_splats(n, sh_degree=3)
    cams = orbit_cameras(8, width, height, radius=1.0, height_m=0.8, target=(0.0, 0.0, 0.0))
    cam = cams[0]

    def forward():
        with torch.no_grad():
            return rasterization(
                means, quats, scales, opac, colors, cam.viewmats, cam.Ks, width, height, sh_degree=3
            )

    fwd = _median_time(forward, repeats)
    coverage = float(forward().alpha.mean())
    frames = torch.stack(
        [
            rasterization(
                means, quats, scales, opac, colors, cams[i].viewmats, cams[i].Ks, width, height, sh_degree=3
            )
            .rgb[0]
            .clamp(0, 1)
            for i in range(len(cams))
        ]
    )
    steps = max(repeats, 5)
    cfg = FitConfig(
        max_steps=steps, time_budget_s=1e9, sh_degree=3, sh_warmup=0.0, densify=DensifyConfig(start=2.0)
    )
    init = (means.numpy(), np.clip(colors[:, 0].numpy() * 0.28209479177387814 + 0.5, 0, 1))
    fit_splats(frames, cams, init, config=FitConfig(max_steps=2, sh_degree=3, sh_warmup=0.0))  # warm-up
    result = fit_splats(frames, cams, init, config=cfg)
    return {
        "splats": n,
        "width": width,
        "height": height,
        "forward_ms": round(fwd * 1000, 1),
        "forward_fps": round(1.0 / fwd, 2),
        "fit_step_ms": round(result.wall_s / result.steps * 1000, 1),
        "fit_step_cpu_ms": round(result.cpu_s / result.steps * 1000, 1),
        "alpha_coverage": round(coverage, 3),
    }


def _fit_report(
    frames, cameras: Cameras, depths, train, test, budget: float, voxel: float, sh_degree: int, clock: str
) -> dict:
    poses = torch.linalg.inv(cameras.viewmats.double()).numpy()
    pts, cols = points_from_rgbd(
        frames[train], depths[train], cameras.Ks[0].numpy(), poses[train], stride=2, max_depth=10.0
    )
    pts, cols = voxel_downsample(pts, cols, voxel)
    tr, te = cameras[np.flatnonzero(train)], cameras[np.flatnonzero(test)]
    cfg = FitConfig(time_budget_s=budget, budget_clock=clock, sh_degree=sh_degree)
    init = _to_splats(_init_params((pts, cols), cfg), sh_degree)
    result = fit_splats(frames[train], tr, (pts, cols), config=cfg)
    return {
        "width": cameras.width,
        "height": cameras.height,
        "frames_train": int(train.sum()),
        "frames_heldout": int(test.sum()),
        "init_points": int(len(pts)),
        "budget_s": budget,
        "budget_clock": clock,
        "steps": result.steps,
        "wall_s": round(result.wall_s, 1),
        "cpu_s": round(result.cpu_s, 1),
        "final_splats": len(result.splats),
        "psnr_heldout_init": round(float(np.mean(evaluate_psnr(init, te, frames[test]))), 2),
        "psnr_heldout": round(float(np.mean(evaluate_psnr(result.splats, te, frames[test]))), 2),
        "psnr_train": round(float(np.mean(evaluate_psnr(result.splats, tr, frames[train]))), 2),
    }


def bench_fit_tabletop(budget: float, clock: str, width: int, height: int, voxel: float) -> dict:
    scan = tabletop_scan(48, width, height)
    test = np.arange(48) % 8 == 3
    report = _fit_report(scan.rgb, scan.cameras, scan.depth, ~test, test, budget, voxel, 3, clock)
    return {"scene": "MuJoCo tabletop (textured plane, 3 boxes, sphere), 48-frame orbit", **report}


def bench_fit_demo(path: Path, budget: float, clock: str, voxel: float) -> dict:
    from twin.demonstration import read_demonstration

    demo = read_demonstration(path)
    cam = demo.primary
    start, end = demo.segments.get("scan", [0, demo.num_frames])[:2]
    idx = np.arange(start, end)
    poses = np.stack([cam.pose(i) for i in idx])
    cameras = Cameras.from_poses(cam.K, poses, cam.width, cam.height)
    test = np.arange(len(idx)) % 5 == 2
    report = _fit_report(cam.rgb[idx], cameras, cam.depth[idx], ~test, test, budget, voxel, 3, clock)
    return {"scene": f"recorded demonstration {path} (scan frames {start}..{end - 1})", **report}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--fit-budget", type=float, default=120.0, help="seconds; 0 skips the fit run")
    parser.add_argument("--fit-clock", choices=["cpu", "wall"], default="cpu", help="what the budget counts")
    parser.add_argument("--fit-size", type=int, nargs=2, default=(320, 240), metavar=("W", "H"))
    parser.add_argument("--fit-voxel", type=float, default=0.02, help="metres between initial points")
    parser.add_argument("--demo", type=Path, help="a recorded demonstration folder to fit as well")
    args = parser.parse_args()
    torch.set_num_threads(1)
    import numba

    out: dict = {
        "machine": {
            "cpus": os.cpu_count(),
            "numba_threads": numba.config.NUMBA_NUM_THREADS,
            "torch_threads": torch.get_num_threads(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "render": [bench_render(n, w, h, args.repeats) for n, w, h in SIZES],
    }
    if args.fit_budget > 0:
        out["fit"] = bench_fit_tabletop(args.fit_budget, args.fit_clock, *args.fit_size, args.fit_voxel)
        if args.demo is not None:
            out["fit_demo"] = bench_fit_demo(args.demo, args.fit_budget, args.fit_clock, args.fit_voxel)
    out["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
