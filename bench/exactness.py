"""Measured exactness of the flow on tiny random models (the figures the tests bound):
worst inverse error, worst log-det error against the autograd Jacobian, Monte Carlo mass.

    python bench/exactness.py
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from realnvp.checks import jacobian_logabsdet  # noqa: E402
from realnvp.checks import random_model as tiny_model  # noqa: E402
import results  # noqa: E402  (bench/results.py: --record writes RESULTS.md)

CONFIGS = [(1, 4, 1), (1, 4, 2), (3, 4, 2), (2, 8, 2), (2, 8, 3)]


def flat(latents):
    return torch.cat([z.flatten(1) for z in latents], 1)


@torch.no_grad()
def inverse_error(dtype) -> float:
    worst = 0.0
    for c, s, n in CONFIGS:
        model = tiny_model(c, s, n, dtype=dtype)
        x = torch.rand(16, c, s, s, dtype=dtype)
        worst = max(worst, (model.decode(model.encode(x)) - x).abs().max().item())
    return worst


def logdet_error() -> float:
    worst = 0.0
    for c, s, n in CONFIGS:
        model = tiny_model(c, s, n, dtype=torch.float64)
        x = torch.rand(3, c, s, s, dtype=torch.float64)
        lp = model.log_prob(x)
        for b in range(3):
            z = flat(model.encode(x[b:b + 1]))[0]
            expected = (-0.5 * z**2 - 0.5 * math.log(2 * math.pi)).sum() + jacobian_logabsdet(
                lambda v: flat(model.encode(v[None]))[0], x[b])
            worst = max(worst, abs((lp[b] - expected) / expected).item())
    return worst


@torch.no_grad()
def nll_map_sum_error() -> float:
    """Worst |sum of nll_map + log_prob| / |log_prob| (float64)."""
    worst = 0.0
    for c, s, n in CONFIGS:
        model = tiny_model(c, s, n, dtype=torch.float64)
        x = torch.rand(16, c, s, s, dtype=torch.float64)
        lp = model.log_prob(x)
        worst = max(worst, ((model.nll_map(x).sum((1, 2)) + lp).abs() / lp.abs()).max().item())
    return worst


@torch.no_grad()
def monte_carlo_mass(n=1_000_000):
    model = tiny_model(2, 2, 1, hidden_channels=8)
    g = torch.Generator().manual_seed(0)
    p = torch.cat([model.log_prob(torch.rand(100_000, 2, 2, 2, generator=g, dtype=torch.float64)).exp()
                   for _ in range(n // 100_000)])
    z = torch.randn(n, 2, 2, 2, generator=g, dtype=torch.float64)
    xs = model.decode([z])
    inside = ((xs >= 0) & (xs <= 1)).flatten(1).all(1).double()
    return p.mean().item(), p.std().item() / math.sqrt(n), inside.mean().item(), inside.std().item() / math.sqrt(n)


def main() -> None:
    print(f"worst |decode(encode(x)) - x|: float32 {inverse_error(torch.float32):.2e}, float64 {inverse_error(torch.float64):.2e}")
    print(f"worst relative error of log_prob against the autograd Jacobian (float64): {logdet_error():.2e}")
    print(f"worst relative error of the nll_map sum against -log_prob (float64): {nll_map_sum_error():.2e}")
    mass, se, mass2, se2 = monte_carlo_mass()
    print(f"mass of p over [0,1]^8 (1e6 uniform samples): {mass:.4f} +- {se:.4f}; "
          f"prior probability that decode(z) lies in [0,1]^8: {mass2:.4f} +- {se2:.4f}")


if __name__ == "__main__":
    sys.exit(results.run_recorded("Exactness", main))
