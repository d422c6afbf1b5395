"""``fit_splats``: optimise Gaussian splats to posed frames (L1 + D-SSIM, optional depth), on a time budget.

Initialised from coloured points (e.g. back-projected RGB-D, see ``camera.points_from_rgbd``).  The
schedule (learning-rate decay, densification window, SH degree warm-up) runs on *progress*
(:func:`schedule_progress`): ``step / max_steps`` while the steps keep pace with the clock, so a fit
the budget does not cut is the same on every machine; once ``elapsed / time_budget_s`` runs
``pace_grace`` ahead, the larger of the two for the rest of the fit, so a budget-limited fit still
goes through its whole schedule.  Rendering uses ``rasterization`` (cpu backend unless tensors are CUDA).

A fit stops at whichever comes first (:func:`stop_reason`): ``max_steps``, the time budget, or
convergence: once densification is over, the mean training PSNR of the last ``converge_window``
steps gains less than ``converge_db`` over the window before.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch

from twin.splats import _densify
from twin.splats._adam import RowAdam
from twin.splats._knn import mean_knn_distance
from twin.splats._sh import rgb_to_sh0
from twin.splats.camera import Cameras
from twin.splats.errors import SplatInputError
from twin.splats.gaussians import Splats
from twin.splats.metrics import photometric_loss, psnr
from twin.splats.rendering import RasterConfig, rasterization

STOP_REASONS = ("max_steps", "time_budget", "converged")


@dataclass(frozen=True)
class LearningRates:
    """Adam step sizes (gsplat's simple_trainer defaults; means are × scene scale and decay 100×)."""

    means: float = 1.6e-4
    means_final_ratio: float = 0.01
    scales: float = 5e-3
    quats: float = 1e-3
    opacities: float = 5e-2
    sh0: float = 2.5e-3
    shN: float = 2.5e-3 / 20  # noqa: N815


@dataclass(frozen=True)
class FitConfig:
    """Settings of one fit."""

    time_budget_s: float = 120.0  # seconds for the optimisation loop, on ``budget_clock``
    budget_clock: Literal["wall", "cpu"] = "wall"  # cpu: this process's CPU time, all threads summed
    max_steps: int = 30_000
    pace_grace: float = 0.05  # the schedule follows the clock once it is this far ahead of the steps
    converge_window: int = 100  # steps per window of training PSNR (0: never stop for convergence)
    converge_db: float = 0.05  # converged: a window's mean PSNR gains less than this over the one before
    converge_after: float | None = None  # progress before which it is not checked (None: densify.stop)
    sh_degree: int = 3
    sh_warmup: float = 0.1  # one more SH degree every this much progress
    ssim_weight: float = 0.2
    depth_weight: float = 0.0  # L1 on expected depth (metres / scene scale) where depth is given
    init_opacity: float = 0.5
    init_scale: float = 1.0  # × mean distance to the 3 nearest initial points
    background: tuple[float, float, float] | None = None  # colour behind the splats (None: black)
    lr: LearningRates = field(default_factory=LearningRates)
    densify: _densify.DensifyConfig = field(default_factory=_densify.DensifyConfig)
    raster: RasterConfig = field(default_factory=RasterConfig)
    seed: int = 0


@dataclass(frozen=True)
class FitResult:
    """The fitted splats and how the fit went (``history``: one dict per logged step).

    ``stop_reason`` is one of :data:`STOP_REASONS`; ``train_psnr_db`` the mean PSNR of the training
    renders over the last ``converge_window`` steps (robot pixels left out), None before any step."""

    splats: Splats
    steps: int
    wall_s: float
    cpu_s: float
    history: list[dict]
    stop_reason: str = "max_steps"
    train_psnr_db: float | None = None


def plateaued(psnrs: Sequence[float], window: int, min_gain: float) -> bool:
    """Whether the mean of the last ``window`` values gains less than ``min_gain`` over the mean of
    the ``window`` before them (False until there are ``2 · window`` values, or if ``window`` < 1)."""
    if window < 1 or len(psnrs) < 2 * window:
        return False
    last = sum(psnrs[-window:]) / window
    before = sum(psnrs[-2 * window : -window]) / window
    return last - before < min_gain


def schedule_progress(step: int, elapsed: float, config: FitConfig, on_clock: bool) -> tuple[float, bool]:
    """How far the schedule is at ``step`` after ``elapsed`` seconds, and whether it now follows the
    clock: by steps until the time fraction runs more than ``config.pace_grace`` ahead of the step
    fraction (or ``on_clock`` already), from then on by the larger of the two."""
    by_steps, by_time = step / config.max_steps, elapsed / config.time_budget_s
    on_clock = on_clock or by_time > by_steps + config.pace_grace
    return (max(by_steps, by_time) if on_clock else by_steps), on_clock


def stop_reason(
    step: int, elapsed: float, progress: float, psnrs: Sequence[float], config: FitConfig
) -> str | None:
    """Why a fit at ``step``, ``elapsed`` budget-clock seconds and schedule ``progress`` in, with
    per-step training ``psnrs``, stops now (one of :data:`STOP_REASONS`), or None to go on."""
    if step >= config.max_steps:
        return "max_steps"
    if elapsed >= config.time_budget_s:
        return "time_budget"
    after = config.densify.stop if config.converge_after is None else config.converge_after
    if progress >= after and plateaued(psnrs, config.converge_window, config.converge_db):
        return "converged"
    return None


def fit_splats(
    frames,
    cameras: Cameras,
    init_points,
    depths=None,
    config: FitConfig = FitConfig(),  # noqa: B008 - frozen dataclass
    ignore=None,
    clock: Callable[[], float] | None = None,
) -> FitResult:
    """Fit splats to ``frames [T,H,W,3]`` (uint8 or float in [0,1]) seen by ``cameras`` (T of them).

    ``init_points`` is ``(xyz [P,3], rgb [P,3] in [0,1])``; ``depths [T,H,W]`` metres (0 = unknown)
    enables the depth term when ``config.depth_weight > 0``. ``ignore [T,H,W]`` (bool) marks pixels
    the splats should not explain, e.g. a robot drawn by the simulator: there the target is the
    render itself, so those pixels pass no gradient. ``clock`` (seconds) replaces the budget clock
    ``config.budget_clock`` names, e.g. a fake one in tests; it is read once before every step.
    """
    target, depth_t = _check_fit_inputs(frames, cameras, init_points, depths)
    ignore_t = None
    if ignore is not None:
        ignore_t = torch.as_tensor(np.asarray(ignore, dtype=bool))
        if tuple(ignore_t.shape) != tuple(target.shape[:3]):
            raise SplatInputError(
                f"ignore must be [T, H, W] = {tuple(target.shape[:3])}, got {tuple(ignore_t.shape)}"
            )
    gen = torch.Generator().manual_seed(config.seed)
    campos = torch.linalg.inv(cameras.viewmats.double())[:, :3, 3]
    scene_scale = float((campos - campos.mean(0)).norm(dim=-1).max()) * 1.1 or 1.0
    opt = RowAdam(_init_params(init_points, config), _lrs(config, scene_scale))
    state = _densify.new_state(opt.params["means"].shape[0])
    bg = None if config.background is None else torch.tensor(config.background, dtype=torch.float32)
    w, h = cameras.width, cameras.height
    history: list[dict] = []
    psnrs: list[float] = []
    t0, c0 = time.perf_counter(), time.process_time()
    if clock is None:
        clock = time.process_time if config.budget_clock == "cpu" else time.perf_counter
    start = clock()
    step, order, on_clock = 0, torch.randperm(len(cameras), generator=gen), False
    while True:
        elapsed = clock() - start
        progress, on_clock = schedule_progress(step, elapsed, config, on_clock)
        reason = stop_reason(step, elapsed, progress, psnrs, config)
        if reason is not None:
            break
        i = int(order[step % len(order)])
        if step % len(order) == len(order) - 1:
            order = torch.randperm(len(cameras), generator=gen)
        opt.lrs["means"] = _decayed(config.lr, scene_scale, progress)
        degree = (
            min(config.sh_degree, int(progress / config.sh_warmup))
            if config.sh_warmup > 0
            else config.sh_degree
        )
        render = _render(opt.params, cameras[i], degree, bg, config.raster)
        render.means2d.retain_grad()
        goal = target[i]
        if ignore_t is not None:
            goal = torch.where(ignore_t[i][..., None], render.rgb[0].detach(), goal)
        loss = photometric_loss(render.rgb[0], goal, config.ssim_weight)
        psnrs.append(_train_psnr(render.rgb[0], goal, None if ignore_t is None else ignore_t[i]))
        if depth_t is not None and config.depth_weight > 0:
            valid = depth_t[i] > 0
            if ignore_t is not None:
                valid = valid & ~ignore_t[i]
            if bool(valid.any()):
                err = (render.depth[0, ..., 0] - depth_t[i]).abs()[valid].mean() / scene_scale
                loss = loss + config.depth_weight * err
        loss.backward()
        dcfg = config.densify
        if dcfg.start <= progress < dcfg.stop and render.means2d.grad is not None:
            _densify.accumulate(state, render.means2d.grad, render.radii, w, h)
        opt.step()
        step += 1
        if dcfg.start <= progress < dcfg.stop and step % dcfg.every == 0:
            stats = _densify.refine(opt, state, dcfg, scene_scale, gen)
            history.append({"step": step, "progress": round(progress, 3), **stats})
        if step % 50 == 0:
            history.append({"step": step, "loss": float(loss.detach()), "n": opt.params["means"].shape[0]})
    window = psnrs[-max(config.converge_window, 1) :]
    return FitResult(
        splats=_to_splats(opt.params, config.sh_degree),
        steps=step,
        wall_s=time.perf_counter() - t0,
        cpu_s=time.process_time() - c0,
        history=history,
        stop_reason=reason,
        train_psnr_db=sum(window) / len(window) if window else None,
    )


def _train_psnr(render: torch.Tensor, goal: torch.Tensor, ignore: torch.Tensor | None) -> float:
    """PSNR (dB, at most 100) of one training render against its goal, ignored pixels left out."""
    err = (render.detach().clamp(0, 1) - goal).square().mean(-1)
    if ignore is not None:
        err = err[~ignore]
    mse = float(err.mean()) if err.numel() else 0.0
    return min(100.0, -10.0 * math.log10(max(mse, 1e-10)))


def render_frames(splats: Splats, cameras: Cameras, background=None, config: RasterConfig = RasterConfig()):  # noqa: B008
    """Render ``splats`` into every camera, one at a time: ``rgb [T,H,W,3]`` in [0,1] (no grad)."""
    p = splats.activated()
    bg = None if background is None else torch.tensor(background, dtype=torch.float32)
    out = []
    with torch.no_grad():
        for i in range(len(cameras)):
            c = cameras[i]
            r = rasterization(
                p["means"],
                p["quats"],
                p["scales"],
                p["opacities"],
                p["colors"],
                c.viewmats,
                c.Ks,
                c.width,
                c.height,
                sh_degree=splats.sh_degree,
                backgrounds=bg,
                config=config,
            )
            out.append(r.rgb[0].clamp(0, 1))
    return torch.stack(out)


def evaluate_psnr(splats: Splats, cameras: Cameras, frames, background=None) -> list[float]:
    """PSNR (dB) of ``splats`` rendered into ``cameras`` against ``frames``, per frame."""
    target = _as_float_frames(frames)
    rendered = render_frames(splats, cameras, background)
    return [psnr(rendered[i], target[i]) for i in range(len(cameras))]


def _render(params, cam: Cameras, degree: int, bg, raster: RasterConfig):
    colors = torch.cat([params["sh0"], params["shN"]], dim=1)
    return rasterization(
        params["means"],
        params["quats"],
        torch.exp(params["scales"]),
        torch.sigmoid(params["opacities"]),
        colors,
        cam.viewmats,
        cam.Ks,
        cam.width,
        cam.height,
        sh_degree=degree,
        backgrounds=bg,
        config=raster,
    )


def _init_params(init_points, config: FitConfig) -> dict[str, torch.Tensor]:
    xyz, rgb = (np.asarray(a, dtype=np.float64) for a in init_points)
    dist = np.clip(mean_knn_distance(xyz, k=3), 1e-7, None) * config.init_scale
    n, k = xyz.shape[0], (config.sh_degree + 1) ** 2
    p = {
        "means": torch.tensor(xyz, dtype=torch.float32),
        "scales": torch.tensor(np.log(dist), dtype=torch.float32)[:, None].repeat(1, 3),
        "quats": torch.tensor([[1.0, 0.0, 0.0, 0.0]]).repeat(n, 1),
        "opacities": torch.full((n,), math.log(config.init_opacity / (1 - config.init_opacity))),
        "sh0": rgb_to_sh0(torch.tensor(rgb, dtype=torch.float32))[:, None, :],
        "shN": torch.zeros(n, k - 1, 3),
    }
    return {name: t.contiguous().requires_grad_(True) for name, t in p.items()}


def _lrs(config: FitConfig, scene_scale: float) -> dict[str, float]:
    lr = config.lr
    return {
        "means": lr.means * scene_scale,
        "scales": lr.scales,
        "quats": lr.quats,
        "opacities": lr.opacities,
        "sh0": lr.sh0,
        "shN": lr.shN,
    }


def _decayed(lr: LearningRates, scene_scale: float, progress: float) -> float:
    return lr.means * scene_scale * lr.means_final_ratio ** min(progress, 1.0)


def _to_splats(params: dict[str, torch.Tensor], sh_degree: int) -> Splats:
    p = {k: v.detach() for k, v in params.items()}
    return Splats(
        means=p["means"],
        quats=p["quats"],
        log_scales=p["scales"],
        opacity_logits=p["opacities"],
        sh=torch.cat([p["sh0"], p["shN"]], dim=1)[:, : (sh_degree + 1) ** 2],
    )


def _as_float_frames(frames) -> torch.Tensor:
    arr = frames if isinstance(frames, torch.Tensor) else torch.as_tensor(np.asarray(frames))
    return arr.float() / 255.0 if arr.dtype == torch.uint8 else arr.float()


def _check_fit_inputs(frames, cameras, init_points, depths):
    target = _as_float_frames(frames)
    if target.dim() != 4 or target.shape[-1] != 3:
        raise SplatInputError(f"frames must be [T, H, W, 3], got {tuple(target.shape)}")
    if target.shape[1] == 0 or target.shape[2] == 0 or target.shape[0] == 0:
        raise SplatInputError(f"frames must be non-empty images, got shape {tuple(target.shape)}")
    if not isinstance(cameras, Cameras):
        raise SplatInputError(f"cameras must be a twin.splats.Cameras, got {type(cameras).__name__}")
    if len(cameras) != target.shape[0] or (cameras.height, cameras.width) != tuple(target.shape[1:3]):
        raise SplatInputError(
            f"{len(cameras)} cameras of {cameras.width}×{cameras.height} do not match "
            f"frames {tuple(target.shape)}"
        )
    if not torch.isfinite(target).all():
        raise SplatInputError("frames contain NaN or infinite values")
    if not isinstance(init_points, tuple | list) or len(init_points) != 2:
        raise SplatInputError("init_points must be a pair (xyz [P,3], rgb [P,3])")
    xyz, rgb = (np.asarray(a, dtype=np.float64) for a in init_points)
    if xyz.ndim != 2 or xyz.shape[1] != 3 or rgb.shape != xyz.shape or xyz.shape[0] == 0:
        raise SplatInputError(
            f"init_points must be xyz [P,3] and rgb [P,3] with P ≥ 1, got {xyz.shape}, {rgb.shape}"
        )
    if not (np.isfinite(xyz).all() and np.isfinite(rgb).all()):
        raise SplatInputError("init_points contain NaN or infinite values")
    depth_t = None
    if depths is not None:
        depth_t = torch.as_tensor(np.asarray(depths, dtype=np.float32))
        if tuple(depth_t.shape) != tuple(target.shape[:3]):
            raise SplatInputError(
                f"depths must be [T, H, W] = {tuple(target.shape[:3])}, got {tuple(depth_t.shape)}"
            )
        depth_t = torch.nan_to_num(depth_t, nan=0.0, posinf=0.0, neginf=0.0)
    return target, depth_t
