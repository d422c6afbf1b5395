"""A minimal Adam over a dict of per-splat tensors whose rows can be selected and appended.

Densification changes the number of splats; keeping the moments next to the parameters (rather
than inside ``torch.optim.Adam``) makes that a plain row operation on both.
"""

from __future__ import annotations

import torch


class RowAdam:
    """Adam (3DGS settings: eps 1e-15) with one learning rate per parameter name."""

    def __init__(self, params: dict[str, torch.Tensor], lrs: dict[str, float], betas=(0.9, 0.999), eps=1e-15):
        self.params = params
        self.lrs = dict(lrs)
        self.betas, self.eps, self.t = betas, eps, 0
        self.m = {k: torch.zeros_like(p) for k, p in params.items()}
        self.v = {k: torch.zeros_like(p) for k, p in params.items()}

    @torch.no_grad()
    def step(self) -> None:
        self.t += 1
        b1, b2 = self.betas
        bc1, bc2 = 1.0 - b1**self.t, 1.0 - b2**self.t
        for k, p in self.params.items():
            if p.grad is None:
                continue
            g = p.grad
            self.m[k].mul_(b1).add_(g, alpha=1.0 - b1)
            self.v[k].mul_(b2).addcmul_(g, g, value=1.0 - b2)
            denom = (self.v[k] / bc2).sqrt_().add_(self.eps)
            p.addcdiv_(self.m[k], denom, value=-self.lrs[k] / bc1)
            p.grad = None

    @torch.no_grad()
    def edit_rows(self, keep: torch.Tensor, new_rows: dict[str, torch.Tensor] | None = None) -> None:
        """Keep the rows where ``keep`` is true and append ``new_rows`` (zero moments)."""
        for k in list(self.params):
            parts = [self.params[k][keep]]
            m_parts, v_parts = [self.m[k][keep]], [self.v[k][keep]]
            if new_rows is not None:
                parts.append(new_rows[k].to(parts[0]))
                m_parts.append(torch.zeros_like(parts[-1]))
                v_parts.append(torch.zeros_like(parts[-1]))
            self.params[k] = torch.cat(parts).requires_grad_(True)
            self.m[k], self.v[k] = torch.cat(m_parts), torch.cat(v_parts)
