"""Synthetic inputs for tests and benchmarks: random splat clouds and an orbiting RGB-D scan of a
small MuJoCo tabletop.  Nothing here is used by the renderer itself; mujoco is imported lazily.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch

from twin.splats.camera import Cameras, intrinsics, look_at


def random_splats(
    n: int, seed: int = 0, sh_degree: int | None = None, dtype=torch.float32, extent: float = 1.0
):
    """``n`` splats on surfaces, like a fitted tabletop: a 2×2 table plane (z = 0) and the faces of
    four boxes, sized about their spacing.  Returns activated tensors ``means, quats, scales,
    opacities, colors`` (colors ``[N,3]`` or SH ``[N,(d+1)^2,3]``)."""
    g = torch.Generator().manual_seed(seed)
    n_box = n // 5
    table = torch.rand(n - n_box, 3, generator=g) * 2.0 - 1.0
    table[:, 2] = 0.0
    # box faces: pick a box, a face axis and a side, then a point on that face
    centres = torch.tensor([[0.3, 0.2, 0.1], [-0.3, 0.1, 0.08], [0.0, -0.35, 0.06], [-0.2, -0.2, 0.12]])
    half = torch.tensor([[0.1, 0.08, 0.1], [0.08, 0.12, 0.08], [0.14, 0.06, 0.06], [0.06, 0.06, 0.12]])
    which = torch.randint(0, 4, (n_box,), generator=g)
    axis = torch.randint(0, 3, (n_box,), generator=g)
    side = torch.randint(0, 2, (n_box,), generator=g) * 2.0 - 1.0
    local = (torch.rand(n_box, 3, generator=g) * 2.0 - 1.0) * half[which]
    local[torch.arange(n_box), axis] = side * half[which, axis]
    means = torch.cat([table, centres[which] + local]) * extent
    spacing = extent * (4.6 / n) ** 0.5  # surface area ≈ 4.6 m²
    scales = spacing * torch.exp(torch.rand(n, 3, generator=g) * 1.4 - 0.7)
    quats = torch.randn(n, 4, generator=g)
    opacities = torch.rand(n, generator=g) * 0.7 + 0.3
    if sh_degree is None:
        colors = torch.rand(n, 3, generator=g)
    else:
        colors = torch.randn(n, (sh_degree + 1) ** 2, 3, generator=g) * 0.2
        colors[:, 0] = (torch.rand(n, 3, generator=g) - 0.5) / 0.28209479177387814
    return tuple(t.to(dtype) for t in (means, quats, scales, opacities, colors))


def orbit_cameras(
    n: int,
    width: int,
    height: int,
    radius: float = 1.6,
    height_m: float = 1.0,
    fov_y_deg: float = 55.0,
    target=(0.0, 0.0, 0.1),
    start: float = 0.0,
    sweep: float = 2 * np.pi,
) -> Cameras:
    """``n`` cameras on a circle around ``target``, looking at it."""
    angles = start + sweep * np.arange(n) / n
    poses = [look_at((radius * np.cos(a), radius * np.sin(a), height_m), target) for a in angles]
    return Cameras.from_poses(intrinsics(width, height, fov_y_deg), np.stack(poses), width, height)


@dataclass(frozen=True)
class Scan:
    """Frames ``rgb [T,H,W,3]`` uint8 and ``depth [T,H,W]`` metres seen by ``cameras``."""

    rgb: np.ndarray
    depth: np.ndarray
    cameras: Cameras
    fov_y_deg: float


def tabletop_scan(n_frames: int, width: int, height: int, radius: float = 1.1, height_m: float = 0.9) -> Scan:
    """Render an orbit around a textured table with a few coloured boxes, built with ``mujoco.MjSpec``
    and drawn by MuJoCo's offscreen renderer (EGL unless ``MUJOCO_GL`` says otherwise)."""
    os.environ.setdefault("MUJOCO_GL", "egl")
    import mujoco

    fov = 50.0
    spec = mujoco.MjSpec()
    spec.visual.global_.offwidth = max(width, 64)
    spec.visual.global_.offheight = max(height, 64)
    spec.visual.headlight.ambient = [0.5, 0.5, 0.5]
    spec.visual.headlight.diffuse = [0.3, 0.3, 0.3]
    spec.visual.headlight.specular = [0.0, 0.0, 0.0]
    spec.add_texture(
        name="wood",
        type=mujoco.mjtTexture.mjTEXTURE_2D,
        builtin=mujoco.mjtBuiltin.mjBUILTIN_CHECKER,
        rgb1=[0.55, 0.4, 0.3],
        rgb2=[0.7, 0.55, 0.4],
        width=64,
        height=64,
    )
    mat = spec.add_material(name="wood")
    mat.textures[mujoco.mjtTextureRole.mjTEXROLE_RGB] = "wood"
    mat.texrepeat = [4.0, 4.0]
    mat.specular = 0.0
    world = spec.worldbody
    world.add_light(pos=[0.3, -0.4, 2.5], dir=[0, 0, -1], diffuse=[0.5, 0.5, 0.5], castshadow=False)
    world.add_geom(type=mujoco.mjtGeom.mjGEOM_PLANE, size=[3.0, 3.0, 0.1], material="wood")
    boxes = [
        ((0.15, 0.1, 0.06), (0.06, 0.06, 0.06), (0.8, 0.15, 0.1)),
        ((-0.2, 0.05, 0.05), (0.05, 0.09, 0.05), (0.1, 0.5, 0.85)),
        ((0.0, -0.22, 0.04), (0.08, 0.04, 0.04), (0.2, 0.7, 0.2)),
    ]
    for pos, size, rgb in boxes:
        world.add_geom(type=mujoco.mjtGeom.mjGEOM_BOX, pos=pos, size=size, rgba=[*rgb, 1.0])
    world.add_geom(
        type=mujoco.mjtGeom.mjGEOM_SPHERE, pos=[0.2, -0.15, 0.05], size=[0.05, 0, 0], rgba=[0.9, 0.8, 0.1, 1]
    )
    world.add_camera(name="scan", pos=[0, 0, 1], fovy=fov)
    model = spec.compile()
    data = mujoco.MjData(model)
    cams = orbit_cameras(
        n_frames, width, height, radius=radius, height_m=height_m, fov_y_deg=fov, target=(0, 0, 0.05)
    )
    poses = torch.linalg.inv(cams.viewmats.double()).numpy()
    rgb = np.zeros((n_frames, height, width, 3), np.uint8)
    depth = np.zeros((n_frames, height, width), np.float32)
    opencv_to_mujoco = np.diag([1.0, -1.0, -1.0])
    with mujoco.Renderer(model, height=height, width=width) as renderer:
        for i, pose in enumerate(poses):
            model.cam_pos[0] = pose[:3, 3]
            quat = np.zeros(4)
            mujoco.mju_mat2Quat(quat, (pose[:3, :3] @ opencv_to_mujoco).reshape(-1))
            model.cam_quat[0] = quat
            mujoco.mj_forward(model, data)
            renderer.update_scene(data, camera="scan")
            rgb[i] = renderer.render()
            renderer.enable_depth_rendering()
            depth[i] = renderer.render()
            renderer.disable_depth_rendering()
    return Scan(rgb=rgb, depth=depth, cameras=cams, fov_y_deg=fov)
