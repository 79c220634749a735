"""The rearrangements of the multi-scale architecture (paper section 3.6): squeeze (and its
inverse) and factor-out. They only move values, so their log-dets are zero; `split_scales` and
`join_scales` convert between the image layout and the per-scale latents.

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


class Inverse(Bijection):
    """`inner` run the other way round: its decode is this encode, and its moves are swapped
    (nflows' InverseTransform), so "the inverse is really the inverse" is one definition."""

    def __init__(self, inner: Bijection):
        super().__init__()
        self.inner = inner

    def encode(self, x: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        return self.inner.decode(x, y)

    def decode(self, z: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        return self.inner.encode(z, y)

    def move(self, t: Tensor) -> Tensor:
        return self.inner.move_back(t)

    def move_back(self, t: Tensor) -> Tensor:
        return self.inner.move(t)


class Unsqueeze(Inverse):
    """(4C, H/2, W/2) -> (C, H, W): the inverse of Squeeze, which ends a scale so that its output
    is in the layout of its input."""

    def __init__(self):
        super().__init__(Squeeze())


class FactorOut(Bijection):
    """The factor-out of section 3.6 as one bijection of the whole tensor: the first half of the
    channels leaves the flow (finished latents, passed through unchanged, log-det zero) and
    `rest`, a bijection that keeps its input's shape, acts on the second half. Every element
    stays where it is.

    `rest` is not registered as a submodule: the model owns its scales (and their parameter
    names), and wraps each in the factor-outs of the scales before it for its walk."""

    def __init__(self, rest: Bijection):
        super().__init__()
        self.__dict__["rest"] = rest  # not a submodule (see above)

    def encode(self, x: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        finished, kept = split_half(x)
        z, logdet = self.rest.encode(kept, y)
        return join_half(finished, z), join_half(finished.new_zeros(finished.shape), logdet)

    def decode(self, z: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        finished, kept = split_half(z)
        x, logdet = self.rest.decode(kept, y)
        return join_half(finished, x), join_half(finished.new_zeros(finished.shape), logdet)

    def move(self, t: Tensor) -> Tensor:
        finished, kept = split_half(t)
        return join_half(finished, self.rest.move(kept))

    def move_back(self, t: Tensor) -> Tensor:
        finished, kept = split_half(t)
        return join_half(finished, self.rest.move_back(kept))


def split_scales(t: Tensor, num_scales: int) -> list[Tensor]:
    """A tensor in image layout (..., C, H, W) -> its per-scale parts, finest first: at each
    scale but the last, squeeze and take the first half of the channels (the elements the
    scale factors out); the last part is what remains."""
    parts = []
    for _ in range(num_scales - 1):
        finished, t = split_half(squeeze(t))
        parts.append(finished)
    return parts + [t]


def join_scales(parts: list[Tensor]) -> Tensor:
    """The inverse of `split_scales`: per-scale parts back into image layout."""
    t = parts[-1]
    for finished in reversed(parts[:-1]):
        t = unsqueeze(join_half(finished, t))
    return t
