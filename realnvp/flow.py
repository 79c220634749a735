"""Composition of bijections, and one scale of the multi-scale architecture (section 3.6).

Every bijection here has `encode(x, y) -> (z, logdet)` and `decode(z, y) -> (x, logdet)`,
where `logdet` holds per-element log-Jacobian terms with the shape of the output: its sum
over the non-batch dimensions is log|det J| of that direction. Keeping the terms per element
is what lets `RealNVP.nll_map` attribute the exact log-likelihood to pixels.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from .coupling import ChannelCoupling, CheckerboardCoupling
from .norm import FlowBatchNorm
from .reshape import squeeze, unsqueeze


class NonFiniteError(FloatingPointError):
    """Raised when a layer of the flow produces NaN or infinite values."""


def check_finite(tensor: Tensor, where: str, direction: str) -> None:
    if not torch.isfinite(tensor).all():
        bad = (~torch.isfinite(tensor)).sum().item()
        raise NonFiniteError(
            f"{bad} non-finite value(s) in the output of {where} while {direction}: the input or "
            f"the weights of this layer are not finite, or the values overflowed "
            f"(dtype {tensor.dtype}). Check the input and the checkpoint; in training, lower the learning rate."
        )


class FlowSequence(nn.ModuleList):
    """Bijections applied in order; log-dets are added element-wise (all keep the shape)."""

    path = "flow"  # set by the owning model to the module's qualified name, for error messages

    def _run(self, layers, h: Tensor, y: Tensor | None, direction: str) -> tuple[Tensor, Tensor]:
        total = h.new_zeros(h.shape)
        for index, layer in layers:
            h, logdet = getattr(layer, direction)(h, y)
            total = total + logdet
            where = f"{self.path}.{index} ({type(layer).__name__})"
            check_finite(h, where, direction + "ing")
            check_finite(logdet, where + " log-det", direction + "ing")
        return h, total

    def encode(self, x: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        return self._run(list(enumerate(self)), x, y, "encode")

    def decode(self, z: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        return self._run(list(enumerate(self))[::-1], z, y, "decode")


def coupling_steps(kind: type, channels: int, parities: list[int], hidden: int, blocks: int,
                   num_classes: int | None, bn_momentum: float) -> FlowSequence:
    """Couplings of one mask type with alternating parities, each followed by a flow batch norm."""
    layers: list[nn.Module] = []
    for parity in parities:
        layers.append(kind(channels, parity, hidden, blocks, num_classes))
        layers.append(FlowBatchNorm(channels, momentum=bn_momentum))
    return FlowSequence(layers)


class Scale(nn.Module):
    """One scale: 3 checkerboard couplings, squeeze, 3 channel-wise couplings; the last scale
    has 4 checkerboard couplings and no squeeze. Factoring out is done by the model."""

    def __init__(self, channels: int, hidden: int, blocks: int, last: bool,
                 num_classes: int | None = None, bn_momentum: float = 0.05):
        super().__init__()
        self.last = last
        parities = [0, 1, 0, 1] if last else [0, 1, 0]
        self.checkerboard = coupling_steps(CheckerboardCoupling, channels, parities, hidden, blocks,
                                           num_classes, bn_momentum)
        self.channelwise = None if last else coupling_steps(
            ChannelCoupling, 4 * channels, [0, 1, 0], hidden, blocks, num_classes, bn_momentum)

    def encode(self, x: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        h, logdet = self.checkerboard.encode(x, y)
        if self.last:
            return h, logdet
        h, logdet2 = self.channelwise.encode(squeeze(h), y)
        return h, squeeze(logdet) + logdet2

    def decode(self, z: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        logdet = z.new_zeros(z.shape)
        if not self.last:
            z, logdet = self.channelwise.decode(z, y)
            z, logdet = unsqueeze(z), unsqueeze(logdet)
        x, logdet2 = self.checkerboard.decode(z, y)
        return x, logdet + logdet2
