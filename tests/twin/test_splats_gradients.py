"""The cpu backend's analytic backward against autograd through float64 references."""

from __future__ import annotations

import pytest
import torch

from twin.splats._cpu_backend import ProjectionSettings, project
from twin.splats._raster_reference import render_reference
from twin.splats.rendering import RasterConfig, rasterization

GRAD_RTOL = 1e-3
NAMES = ("means", "quats", "scales", "opacities", "colors")


def _assert_grads_close(ours, ref, names):
    for name, a, b in zip(names, ours, ref, strict=True):
        assert a is not None and b is not None, name
        scale = float(b.abs().max())
        assert scale > 0, f"reference gradient for {name} is zero: the test would prove nothing"
        err = float((a - b).abs().max())
        assert err <= GRAD_RTOL * scale, f"{name}: max error {err:.3g} vs max |grad| {scale:.3g}"


def _loss(rgb, depth, alpha, weights):
    # depth only where something was hit, as a depth loss would use it
    return (rgb * weights[0]).sum() + (depth * weights[1] * (alpha > 0.05)).sum() + (alpha * weights[2]).sum()


CASES = {
    "rgb": dict(n_cams=2),
    "sh3": dict(sh_degree=3),
    "per-camera-sh1": dict(sh_degree=1, per_camera_colors=True),
    "dense-early-stop": dict(n=60, dense=True),
    "off-screen": dict(n=120, spread=3.0),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("antialiased", [False, True])
def test_gradients_match_reference_autograd(scene_factory, case, antialiased):
    *params, viewmats, ks, w, h = scene_factory(**CASES[case])
    sh = CASES[case].get("sh_degree")
    params = [p.clone().requires_grad_(True) for p in params]
    bg = torch.tensor([0.3, 0.1, 0.5], dtype=torch.float64, requires_grad=True)
    g = torch.Generator().manual_seed(7)
    ours = rasterization(
        *params,
        viewmats,
        ks,
        w,
        h,
        sh_degree=sh,
        backgrounds=bg,
        config=RasterConfig(antialiased=antialiased, tile_size=8),
        backend="cpu",
    )
    weights = [
        torch.randn(t.shape, generator=g, dtype=torch.float64) for t in (ours.rgb, ours.depth, ours.alpha)
    ]
    g_ours = torch.autograd.grad(_loss(ours.rgb, ours.depth, ours.alpha, weights), [*params, bg])
    ref = render_reference(*params, viewmats, ks, w, h, sh_degree=sh, backgrounds=bg, antialiased=antialiased)
    g_ref = torch.autograd.grad(_loss(*ref, weights), [*params, bg])
    _assert_grads_close(g_ours, g_ref, [*NAMES, "backgrounds"])


@pytest.mark.parametrize("antialiased", [False, True])
def test_projection_gradients_match_gsplat_torch_impl(scene_factory, antialiased):
    impl = pytest.importorskip(
        "gsplat.cuda._torch_impl", reason="gsplat not installed: no projection reference"
    )
    means, quats, scales, opac, _, viewmats, ks, w, h = scene_factory(n=200, n_cams=3, spread=2.0)
    leaves = [t.clone().requires_grad_(True) for t in (means, quats, scales)]
    settings = ProjectionSettings(w, h, 0.3, 0.01, 1e10, antialiased, 0.0)
    m2d, conics, depths, comps, radii = project(*leaves, opac, viewmats, ks, settings)
    valid = (radii > 0).any(-1)
    g = torch.Generator().manual_seed(3)
    outs = (m2d, conics, depths, comps) if antialiased else (m2d, conics, depths)
    weights = [torch.randn(o.shape, generator=g, dtype=torch.float64) for o in outs]

    def loss(tensors):
        return sum((o * wt)[valid].sum() for o, wt in zip(tensors, weights, strict=False))

    g_ours = torch.autograd.grad(loss(outs), leaves)
    covars, _ = impl._quat_scale_to_covar_preci(leaves[1], leaves[2], compute_preci=False)
    _, g_m2d, g_depths, g_conics, g_comps = impl._fully_fused_projection(
        leaves[0], covars, viewmats, ks, w, h, eps2d=0.3, calc_compensations=antialiased
    )
    ref_outs = (g_m2d, g_conics, g_depths, g_comps) if antialiased else (g_m2d, g_conics, g_depths)
    g_ref = torch.autograd.grad(loss(ref_outs), leaves)
    _assert_grads_close(g_ours, g_ref, NAMES[:3])


def test_reference_gradients_match_finite_differences(scene_factory):
    """The reference itself, checked by central differences (smooth case: nothing near a threshold)."""
    *params, viewmats, ks, w, h = scene_factory(n=6, n_cams=1, width=12, height=9, sh_degree=1)
    params = [p.clone().requires_grad_(True) for p in params]

    def f(*p):
        rgb, depth, alpha = render_reference(*p, viewmats, ks, w, h, sh_degree=1)
        return rgb.sum() + 0.1 * (depth * alpha).sum() + alpha.sum()

    assert torch.autograd.gradcheck(f, params, eps=1e-7, atol=1e-5, rtol=1e-4)


def test_screen_space_gradient_is_exposed(scene_factory):
    *params, viewmats, ks, w, h = scene_factory(n=30)
    params = [p.clone().requires_grad_(True) for p in params]
    out = rasterization(*params, viewmats, ks, w, h, backend="cpu")
    out.means2d.retain_grad()
    out.rgb.sum().backward()
    grad = out.means2d.grad
    assert grad is not None and grad.shape == (2, 30, 2)
    assert float(grad[(out.radii > 0).any(-1)].abs().sum()) > 0
    assert float(grad[~(out.radii > 0).any(-1)].abs().sum()) == 0
