"""The two rearrangements of the multi-scale architecture (paper section 3.6): squeeze and
factor-out. Both only move values, so their log-dets are zero.

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
from torch import Tensor

from .bijection import Bijection


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


def split_half(x: Tensor) -> tuple[Tensor, Tensor]:
    """The first half of the channels (dim -3) and the second: (factored, kept)."""
    c = x.shape[-3]
    return x[..., : c // 2, :, :], x[..., c // 2 :, :, :]


def join_half(factored: Tensor, kept: Tensor) -> Tensor:
    return torch.cat([factored, kept], dim=-3)


class Squeeze(Bijection):
    """(C, H, W) -> (4C, H/2, W/2)."""

    def encode(self, x: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        out = squeeze(x)
        return out, out.new_zeros(out.shape)

    def decode(self, z: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        out = unsqueeze(z)
        return out, out.new_zeros(out.shape)

    def move(self, t: Tensor) -> Tensor:
        return squeeze(t)

    def move_back(self, t: Tensor) -> Tensor:
        return unsqueeze(t)


class FactorOut(Bijection):
    """h -> (z, kept): the first half of the channels leaves the flow as this scale's latent,
    the second half goes on to the coarser scales. Its output is that pair of tensors, and
    decoding takes the pair."""

    def encode(self, x: Tensor, y: Tensor | None = None):
        out = split_half(x)
        return out, tuple(t.new_zeros(t.shape) for t in out)

    def decode(self, parts, y: Tensor | None = None):
        out = join_half(*parts)
        return out, out.new_zeros(out.shape)

    def move(self, t: Tensor):
        return split_half(t)

    def move_back(self, parts) -> Tensor:
        return join_half(*parts)
