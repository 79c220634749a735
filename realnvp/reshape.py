"""Squeeze / unsqueeze (paper section 3.6) and the factor-out bookkeeping.

The squeeze turns each 2x2 spatial block into 4 channels: (C, H, W) -> (4C, H/2, W/2).
Channel index = (2*i + j) * C + c for the pixel at offset (i, j) inside the block, so the
first half of the channels is the top row of every block for all colour channels alike.
Factoring out that first half after the channel-wise couplings therefore keeps one pixel of
each checkerboard colour per block (the partition the paper asks for: not redundant with the
checkerboard masks).

Both functions accept any number of leading dimensions.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn


def squeeze(x: Tensor) -> Tensor:
    *lead, c, h, w = x.shape
    if h % 2 or w % 2:
        raise ValueError(f"squeeze needs even height and width, got {h}x{w}")
    x = x.reshape(*lead, c, h // 2, 2, w // 2, 2)
    n = len(lead)
    # (..., c, h2, i, w2, j) -> (..., i, j, c, h2, w2)
    perm = list(range(n)) + [n + 2, n + 4, n, n + 1, n + 3]
    return x.permute(perm).reshape(*lead, 4 * c, h // 2, w // 2)


def unsqueeze(x: Tensor) -> Tensor:
    *lead, c4, h2, w2 = x.shape
    if c4 % 4:
        raise ValueError(f"unsqueeze needs a channel count divisible by 4, got {c4}")
    c = c4 // 4
    x = x.reshape(*lead, 2, 2, c, h2, w2)
    n = len(lead)
    # (..., i, j, c, h2, w2) -> (..., c, h2, i, w2, j)
    perm = list(range(n)) + [n + 2, n + 3, n, n + 4, n + 1]
    return x.permute(perm).reshape(*lead, c, 2 * h2, 2 * w2)


class Squeeze(nn.Module):
    """The squeeze as a bijection. It only moves values, so its log-det is zero."""

    def encode(self, x: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        out = squeeze(x)
        return out, out.new_zeros(out.shape)

    def decode(self, z: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        out = unsqueeze(z)
        return out, out.new_zeros(out.shape)


def split_half(x: Tensor) -> tuple[Tensor, Tensor]:
    """Factor out the first half of the channels (dim -3): returns (factored, kept)."""
    c = x.shape[-3]
    return x[..., : c // 2, :, :], x[..., c // 2 :, :, :]


def join_half(factored: Tensor, kept: Tensor) -> Tensor:
    return torch.cat([factored, kept], dim=-3)
