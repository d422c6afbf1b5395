"""Rigid per-object splats: sets stored in their body frame, rendered under poses, composited in one pass.

An object's splats move with its pose ``T_world_body`` (4×4): means and rotations are transformed,
scales and opacities are not, and view-dependent colour is evaluated with the view direction taken
into the body frame, so a posed object looks exactly as if the camera had moved instead.  All sets
go through one ``rasterization`` call, so occlusion between objects follows depth per pixel.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from twin.splats._quat import quat_multiply, rotmat_to_quat
from twin.splats._sh import sh_to_rgb
from twin.splats.camera import Cameras
from twin.splats.errors import SplatInputError
from twin.splats.gaussians import Splats
from twin.splats.rendering import RasterConfig, Render, rasterization


def as_pose(pose, dtype=torch.float32) -> torch.Tensor:
    """A 4×4 rigid transform as a tensor; raises SplatInputError for anything else."""
    t = pose if isinstance(pose, torch.Tensor) else torch.as_tensor(np.asarray(pose, dtype=np.float64))
    if tuple(t.shape) != (4, 4) or not bool(torch.isfinite(t).all()):
        raise SplatInputError(f"a pose must be a finite 4×4 matrix, got shape {tuple(t.shape)}")
    rot = t[:3, :3].detach().double()
    if (
        not torch.allclose(rot @ rot.T, torch.eye(3, dtype=torch.float64), atol=1e-4)
        or float(torch.det(rot)) < 0
    ):
        raise SplatInputError("a pose's upper-left 3×3 block must be a rotation (orthonormal, det +1)")
    return t.to(dtype)


def posed_geometry(means: torch.Tensor, quats: torch.Tensor, pose: torch.Tensor):
    """World-frame ``means`` and ``quats`` of body-frame splats under ``pose`` (T_world_body)."""
    rot, trans = pose[:3, :3], pose[:3, 3]
    q_pose = rotmat_to_quat(rot.detach()).to(quats)
    return means @ rot.T + trans, quat_multiply(q_pose.expand_as(quats), quats)


def render_rigid(
    objects: Sequence[tuple[Splats, object]],
    cameras: Cameras,
    *,
    backgrounds: torch.Tensor | None = None,
    config: RasterConfig = RasterConfig(),  # noqa: B008 - frozen dataclass
    backend: str = "auto",
) -> Render:
    """Render ``(splats, T_world_body)`` pairs into ``cameras`` in one depth-composited pass."""
    if len(objects) == 0:
        raise SplatInputError("render_rigid needs at least one (splats, pose) pair")
    campos_w = torch.linalg.inv(cameras.viewmats.double())[:, :3, 3].float()  # [C, 3]
    parts: dict[str, list[torch.Tensor]] = {
        k: [] for k in ("means", "quats", "scales", "opacities", "colors")
    }
    for splats, pose in objects:
        p = splats.activated()
        pose_t = as_pose(pose)
        means_w, quats_w = posed_geometry(p["means"], p["quats"], pose_t)
        campos_b = (campos_w - pose_t[:3, 3]) @ pose_t[:3, :3]  # R^T (c - t), row-wise
        parts["colors"].append(sh_to_rgb(splats.sh_degree, p["means"], p["colors"], campos_b))
        parts["means"].append(means_w)
        parts["quats"].append(quats_w)
        parts["scales"].append(p["scales"])
        parts["opacities"].append(p["opacities"])
    cat = {k: torch.cat(v, dim=1 if k == "colors" else 0) for k, v in parts.items()}
    return rasterization(
        cat["means"],
        cat["quats"],
        cat["scales"],
        cat["opacities"],
        cat["colors"],
        cameras.viewmats,
        cameras.Ks,
        cameras.width,
        cameras.height,
        backgrounds=backgrounds,
        config=config,
        backend=backend,
    )


# degree-1 SH basis = SH_C1 · M · d for a unit direction d (gsplat's order: -y, z, -x)
_SH1_FROM_DIRECTION = np.array([[0.0, -1.0, 0.0], [0.0, 0.0, 1.0], [-1.0, 0.0, 0.0]])


def transform_splats(splats: Splats, pose) -> Splats:
    """The same splats expressed in another frame: ``pose`` maps their frame to the new one.

    Positions and rotations change, and degree-1 SH coefficients are rotated with them, so
    view-dependent colour stays exact up to degree 1 (higher bands are kept as they are; use
    ``render_rigid`` to render posed objects exactly at any degree)."""
    p = as_pose(pose, torch.float64)
    means, quats = posed_geometry(
        torch.as_tensor(splats.means, dtype=torch.float64),
        torch.as_tensor(splats.quats, dtype=torch.float64),
        p,
    )
    sh = torch.as_tensor(splats.sh).clone()
    if sh.shape[1] >= 4:
        m = torch.as_tensor(_SH1_FROM_DIRECTION, dtype=torch.float64)
        rot = (m @ p[:3, :3] @ m.T).to(sh.dtype)
        sh[:, 1:4, :] = torch.einsum("ij,njc->nic", rot, sh[:, 1:4, :])
    return Splats(means, quats, splats.log_scales, splats.opacity_logits, sh, splats.normals)
