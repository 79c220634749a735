"""Variational dequantization (Flow++, Ho et al. 2019, section 3.1): the dequantization noise u
of an image drawn from a learned q(u | k) instead of U[0,1)^D.

For quantized data (levels k, L of them) and any density q on [0,1)^D, Jensen's inequality gives

    log P(k) >= E_{u ~ q}[ log p((k + u) / L) - D log L - log q(u | k) ],

so bits/dim = E_q[ -log p((k + u)/L) + log q(u | k) + D ln L ] / (D ln 2) is an upper bound on the
discrete model's code length, reachable by bits-back coding. Uniform noise is the case q = 1
(log q = 0), the paper's figure. A flow trained with uniform noise must spread its density evenly
over each level's bin: where the image is nearly flat, or grey (three equal channels), it cannot
be sharp. With a learned q the bound is tighter and the flow may be sharper.

The q here: for each pixel, Gaussian noise e = mean + A eps with eps ~ N(0, I) over the pixel's C
channels and A lower triangular with a positive diagonal (so the channels of a pixel can share
their noise: a grey pixel's three channels can move together), mean and A computed from the whole
quantized image by a small convolutional network; u = Phi(e), the standard normal CDF, puts it in
[0, 1). Its last convolution starts at zero: then e = eps and u = Phi(eps) is exactly U[0,1)^D with
log q = 0, so a model given a new dequantizer starts at its uniform-noise figure.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class VariationalDequantizer(nn.Module):
    """q(u | k) for images of `channels` channels; `forward(k_unit, eps)` gives (u, log q per element)."""

    def __init__(self, channels: int, hidden_channels: int = 32, num_layers: int = 3):
        super().__init__()
        self.channels = channels
        self.num_off_diagonal = channels * (channels - 1) // 2
        layers: list[nn.Module] = [nn.Conv2d(channels, hidden_channels, 3, padding=1), nn.ReLU()]
        for _ in range(num_layers - 1):
            layers += [nn.Conv2d(hidden_channels, hidden_channels, 3, padding=1), nn.ReLU()]
        self.out = nn.Conv2d(hidden_channels, 2 * channels + self.num_off_diagonal, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self.body = nn.Sequential(*layers)
        rows, cols = torch.tril_indices(channels, channels, offset=-1)
        self.register_buffer("rows", rows, persistent=False)
        self.register_buffer("cols", cols, persistent=False)

    def forward(self, k_unit: Tensor, eps: Tensor) -> tuple[Tensor, Tensor]:
        """k_unit: the quantized image k / (L - 1) in [0, 1], (B, C, H, W); eps: standard normal noise
        of the same shape. Returns u in [0, 1) and log q(u | k) per element (nats; the sum over an
        image's elements is its log q)."""
        c = self.channels
        params = self.out(self.body(2 * k_unit - 1))
        mean, log_scale, off = params[:, :c], params[:, c:2 * c], params[:, 2 * c:]
        e = mean + log_scale.exp() * eps
        if self.num_off_diagonal:
            # e_i += sum_{j < i} A_ij eps_j: one term per off-diagonal entry (rows[m], cols[m])
            mixed = (off * eps[:, self.cols]).to(e.dtype)
            e = e.index_add(1, self.rows, mixed)
        # u = Phi(e): log q(u) = log N(eps) - log|det A| - log phi(e), per element (the 2 pi terms cancel)
        log_q = -0.5 * eps * eps - log_scale + 0.5 * e * e
        u = 0.5 * torch.erfc(-e / math.sqrt(2))
        # Phi rounds to 1 for e > ~5.4 in float32; keep u inside [0, 1) so (k + u) stays in k's bin
        u = u.clamp(max=1 - torch.finfo(u.dtype).eps)
        return u, log_q
