"""Affine coupling layers with checkerboard and channel-wise masks (paper eqs. 7-9, 3.4-3.5).

    y = b * x + (1 - b) * (x * exp(s(b * x)) + t(b * x)),   log|det| = sum((1 - b) * s)

The log-scale is bounded, s = s_bound * tanh(net), with a learned per-channel bound `s_bound`
(section 4.1); the translation t is the network's affine output.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from .bijection import Bijection

from .nets import ResNet


def checkerboard_mask(height: int, width: int, parity: int, like: Tensor) -> Tensor:
    """(1, 1, H, W) mask, 1 where (h + w) % 2 == parity: the pixels that condition."""
    h = torch.arange(height, device=like.device)[:, None]
    w = torch.arange(width, device=like.device)[None, :]
    return ((h + w) % 2 == parity).to(like.dtype)[None, None]


class CheckerboardCoupling(Bijection):
    def __init__(self, channels: int, parity: int, hidden_channels: int, num_blocks: int,
                 num_classes: int | None = None):
        super().__init__()
        self.parity = parity
        # The mask is given to the network as an extra channel so it knows which pixels are known.
        self.net = ResNet(channels + 1, 2 * channels, hidden_channels, num_blocks, num_classes)
        self.s_bound = nn.Parameter(torch.ones(1, channels, 1, 1))

    def _scale_shift(self, x_known: Tensor, mask: Tensor, y: Tensor | None) -> tuple[Tensor, Tensor]:
        net_in = torch.cat([x_known, mask.expand(x_known.shape[0], 1, -1, -1)], dim=1)
        s_raw, t = self.net(net_in, y).chunk(2, dim=1)
        free = 1 - mask
        return free * self.s_bound * torch.tanh(s_raw), free * t

    def changes(self, like: Tensor) -> Tensor:
        """Bool, shaped like one input (C, H, W): the elements this coupling transforms; the
        others pass through unchanged and condition the transformation."""
        mask = checkerboard_mask(like.shape[-2], like.shape[-1], self.parity, like)[0]
        return (mask == 0).expand(like.shape[-3], -1, -1)

    def encode(self, x: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        mask = checkerboard_mask(x.shape[2], x.shape[3], self.parity, x)
        s, t = self._scale_shift(x * mask, mask, y)
        return x * torch.exp(s) + t, s

    def decode(self, z: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        mask = checkerboard_mask(z.shape[2], z.shape[3], self.parity, z)
        s, t = self._scale_shift(z * mask, mask, y)
        return (z - t) * torch.exp(-s), -s


class ChannelCoupling(Bijection):
    """Channel-wise mask: parity 0 transforms the second half of the channels given the
    first, parity 1 the reverse. The network only sees the conditioning half."""

    def __init__(self, channels: int, parity: int, hidden_channels: int, num_blocks: int,
                 num_classes: int | None = None):
        super().__init__()
        if channels % 2:
            raise ValueError(f"channel-wise coupling needs an even channel count, got {channels}")
        self.parity = parity
        half = channels // 2
        self.net = ResNet(half, 2 * half, hidden_channels, num_blocks, num_classes)
        self.s_bound = nn.Parameter(torch.ones(1, half, 1, 1))

    def _split(self, x: Tensor) -> tuple[Tensor, Tensor]:
        a, b = x.chunk(2, dim=1)
        return (a, b) if self.parity == 0 else (b, a)

    def _join(self, known: Tensor, free: Tensor) -> Tensor:
        return torch.cat([known, free] if self.parity == 0 else [free, known], dim=1)

    def changes(self, like: Tensor) -> Tensor:
        """Bool, shaped like one input (C, H, W): the elements this coupling transforms; the
        others pass through unchanged and condition the transformation."""
        known, free = self._split(torch.zeros(like.shape[-3:], dtype=torch.bool, device=like.device)[None])
        return self._join(known, ~free)[0]

    def _scale_shift(self, known: Tensor, y: Tensor | None) -> tuple[Tensor, Tensor]:
        s_raw, t = self.net(known, y).chunk(2, dim=1)
        return self.s_bound * torch.tanh(s_raw), t

    def encode(self, x: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        known, free = self._split(x)
        s, t = self._scale_shift(known, y)
        out = self._join(known, free * torch.exp(s) + t)
        return out, self._join(torch.zeros_like(known), s)

    def decode(self, z: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        known, free = self._split(z)
        s, t = self._scale_shift(known, y)
        out = self._join(known, (free - t) * torch.exp(-s))
        return out, self._join(torch.zeros_like(known), -s)
