"""Adaptive density control (3DGS / gsplat's default strategy): clone, split, prune.

``DensifyConfig`` holds the settings; the running statistics live in a plain dict the caller owns
(``new_state``), fed after every backward by ``accumulate`` and used by ``refine``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from twin.splats._adam import RowAdam
from twin.splats._quat import quat_to_rotmat


@dataclass(frozen=True)
class DensifyConfig:
    """When and how splats are added and removed; progress is the fraction of the fit done."""

    grad_threshold: float = 0.0002  # mean screen-space gradient (in NDC units) that triggers growth
    grow_scale3d: float = 0.01  # largest axis below this × scene scale: clone, else split
    prune_opacity: float = 0.005
    prune_scale3d: float = 0.1  # largest axis above this × scene scale is pruned
    start: float = 0.05  # progress at which refinement begins
    stop: float = 0.6  # ... and ends
    every: int = 50  # steps between refinements
    max_splats: int = 150_000


def new_state(n: int) -> dict[str, torch.Tensor]:
    return {"grad2d": torch.zeros(n), "count": torch.zeros(n)}


@torch.no_grad()
def accumulate(state: dict, means2d_grad: torch.Tensor, radii: torch.Tensor, width: int, height: int) -> None:
    """Add one step's screen-space gradient norms of the visible splats."""
    g = means2d_grad.detach().clone()
    g[..., 0] *= width / 2.0
    g[..., 1] *= height / 2.0
    visible = (radii > 0).any(dim=-1)
    state["grad2d"] += torch.where(visible, g.norm(dim=-1), 0.0).sum(0)
    state["count"] += visible.sum(0).to(state["count"])


@torch.no_grad()
def refine(opt: RowAdam, state: dict, cfg: DensifyConfig, scene_scale: float, gen: torch.Generator) -> dict:
    """Clone small high-gradient splats, split large ones, prune faint or huge ones; reset ``state``."""
    p = opt.params
    n = p["means"].shape[0]
    avg = state["grad2d"] / state["count"].clamp_min(1.0)
    scale_max = torch.exp(p["scales"]).amax(dim=-1)
    high = avg > cfg.grad_threshold
    room = max(cfg.max_splats - n, 0)
    if int(high.sum()) > room:  # keep the strongest candidates that fit under the cap
        idx = torch.nonzero(high).flatten()
        top = idx[torch.argsort(avg[idx], descending=True)[:room]]
        high = torch.zeros_like(high)
        high[top] = True
    clone = high & (scale_max <= cfg.grow_scale3d * scene_scale)
    split = high & ~clone
    new = {k: v[clone] for k, v in p.items()}
    if bool(split.any()):
        scales = torch.exp(p["scales"][split])
        rot = quat_to_rotmat(p["quats"][split])
        for _ in range(2):
            offset = torch.randn(scales.shape, generator=gen) * scales
            child = {k: v[split] for k, v in p.items()}
            child["means"] = child["means"] + torch.einsum("nij,nj->ni", rot, offset)
            child["scales"] = torch.log(scales / 1.6)
            new = {k: torch.cat([new[k], child[k]]) for k in p}
    opacity = torch.sigmoid(p["opacities"])
    prune = split | (opacity < cfg.prune_opacity) | (scale_max > cfg.prune_scale3d * scene_scale)
    opt.edit_rows(~prune, new)
    m = opt.params["means"].shape[0]
    state.update(new_state(m))
    return {
        "cloned": int(clone.sum()),
        "split": int(split.sum()),
        "pruned": int(prune.sum()) - int(split.sum()),
        "n": m,
    }
