"""The ``gsplat`` (CUDA) backend against the ``cpu`` backend on the same inputs.

Runs only where a CUDA GPU and gsplat's CUDA extension are present; elsewhere every test here is
skipped by a capability probe that says why (never skipped by default).  gsplat computes in float32
with fast-math exponentials, so the bar is looser than the float64 reference comparisons: mean
image error ≤ 1e-4 (a few pixels may flip at the 1/255 alpha cut-off) and gradients within 1 %.
"""

from __future__ import annotations

import pytest
import torch

from twin.splats._gsplat_backend import gsplat_status
from twin.splats.rendering import RasterConfig, rasterization


@pytest.fixture(scope="module")
def cuda():
    ok, reason = gsplat_status()
    if not ok:
        pytest.skip(f"gsplat backend not run: {reason}")
    return torch.device("cuda")


CASES = {"rgb": dict(), "sh3": dict(sh_degree=3), "dense": dict(n=200, dense=True, sh_degree=1)}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("antialiased", [False, True])
def test_gsplat_matches_cpu_forward_and_backward(cuda, scene_factory, case, antialiased):
    kw = CASES[case]
    args = scene_factory(
        n=kw.get("n", 400),
        width=96,
        height=64,
        sh_degree=kw.get("sh_degree"),
        dense=kw.get("dense", False),
        dtype=torch.float32,
    )
    *params, viewmats, ks, w, h = args
    cfg = RasterConfig(antialiased=antialiased)
    results, grads = {}, {}
    for backend, device in (("cpu", torch.device("cpu")), ("gsplat", cuda)):
        leaves = [p.to(device).clone().requires_grad_(True) for p in params]
        out = rasterization(
            *leaves,
            viewmats.to(device),
            ks.to(device),
            w,
            h,
            sh_degree=kw.get("sh_degree"),
            config=cfg,
            backend=backend,
        )
        assert out.backend == backend
        g = torch.Generator().manual_seed(0)
        weights = [torch.randn(t.shape, generator=g).to(device) for t in (out.rgb, out.alpha)]
        loss = (out.rgb * weights[0]).sum() + (out.alpha * weights[1]).sum()
        grads[backend] = [t.cpu() for t in torch.autograd.grad(loss, leaves)]
        results[backend] = [t.detach().cpu() for t in (out.rgb, out.alpha, out.depth)]
    for name, a, b in zip(("rgb", "alpha"), results["cpu"][:2], results["gsplat"][:2], strict=True):
        assert float((a - b).abs().mean()) <= 1e-4, name
        assert float((a - b).abs().max()) <= 2e-2, name
    hit = results["cpu"][1] > 0.5
    assert torch.allclose(results["cpu"][2][hit], results["gsplat"][2][hit], rtol=1e-3, atol=1e-3)
    for name, a, b in zip(
        ("means", "quats", "scales", "opacities", "colors"), grads["cpu"], grads["gsplat"], strict=True
    ):
        rel = float((a - b).norm() / b.norm().clamp_min(1e-12))
        assert rel <= 1e-2, f"{name}: relative gradient error {rel:.3g}"


def test_auto_picks_gsplat_for_cuda_tensors(cuda, scene_factory):
    *params, viewmats, ks, w, h = scene_factory(n=20, dtype=torch.float32)
    out = rasterization(*[p.to(cuda) for p in params], viewmats.to(cuda), ks.to(cuda), w, h)
    assert out.backend == "gsplat" and out.rgb.device.type == "cuda"
