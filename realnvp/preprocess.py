"""Data-space preprocessing (paper section 4.1): uniform dequantization and the logit map.

The model's density is over x in [0,1]^D. For quantized data with L levels (L = 2^n_bits,
256 for 8-bit images) a pixel value k in {0..L-1} is stored as x = k / (L-1) (what
torchvision's ToTensor gives). Dequantization moves it to (k + u) / L with u ~ U[0,1), so a
density p on [0,1]^D gives the discrete probability P(k) >= E_u p((k+u)/L) / L^D and

    bits/dim = (-log p(x) + D ln L) / (D ln 2).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from .bijection import Bijection


class LogitTransform(Bijection):
    """x in [0,1] -> logit(alpha + (1 - 2 alpha) x), a bijection onto a bounded box of R^D.

    alpha keeps the logit finite at the ends of [0,1] (the paper uses alpha = 0.05).
    """

    def __init__(self, alpha: float = 0.05):
        super().__init__()
        if not 0.0 < alpha < 0.5:
            raise ValueError(f"logit alpha must lie in (0, 0.5), got {alpha}")
        self.alpha = alpha

    @property
    def domain(self) -> tuple[float, float]:
        """The open interval of x where the map is finite: alpha + (1 - 2 alpha) x in (0, 1)."""
        return -self.alpha / (1 - 2 * self.alpha), 1 + self.alpha / (1 - 2 * self.alpha)

    def encode(self, x: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        p = self.alpha + (1 - 2 * self.alpha) * x
        log_p, log_1mp = torch.log(p), torch.log1p(-p)
        z = log_p - log_1mp
        # d/dx logit(a + (1-2a)x) = (1-2a) / (p (1-p))
        logdet = math.log(1 - 2 * self.alpha) - log_p - log_1mp
        return z, logdet

    def decode(self, z: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        x = (torch.sigmoid(z) - self.alpha) / (1 - 2 * self.alpha)
        logdet = F.logsigmoid(z) + F.logsigmoid(-z) - math.log(1 - 2 * self.alpha)
        return x, logdet


def quantize(x: Tensor, num_levels: int) -> Tensor:
    """The integer level k in {0..L-1} of data stored as k / (L-1)."""
    return torch.round(x.clamp(0, 1) * (num_levels - 1))


def dequantize(x: Tensor, num_levels: int = 256, noise: bool = True, generator: torch.Generator | None = None) -> Tensor:
    """Map quantized data k/(L-1) to (k + u)/L, u ~ U[0,1) (or u = 1/2 when noise=False)."""
    k = quantize(x, num_levels)
    if noise:
        u = torch.rand(x.shape, generator=generator, device=generator.device if generator is not None else x.device,
                       dtype=x.dtype).to(x.device)
    else:
        u = torch.full_like(x, 0.5)
    return (k + u) / num_levels


def bits_per_dim(log_prob: Tensor, num_dims: int, num_levels: int = 256) -> Tensor:
    """bits/dim of the discretized data from a continuous log-density on [0,1]^D in nats."""
    return (-log_prob + num_dims * math.log(num_levels)) / (num_dims * math.log(2.0))


def importance_weighted_bits(draws_bpd: Tensor, num_dims: int) -> Tensor:
    """(B,) from (K, B) single-draw figures bits/dim of K draws of the dequantization noise: -log2 of
    the mean weight w = 2^(-D bpd) = p(x + u) / q(u | k), per dimension (Burda et al. 2016)."""
    nats_per_bit = num_dims * math.log(2.0)
    log_w = -draws_bpd * nats_per_bit
    return -(torch.logsumexp(log_w, 0) - math.log(len(draws_bpd))) / nats_per_bit
