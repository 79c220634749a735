"""The bijection protocol, its composition, and one scale of the multi-scale architecture
(paper section 3.6).

Every bijection has `encode(x, y) -> (z, logdet)` and `decode(z, y) -> (x, logdet)`, where
`logdet` holds per-element log-Jacobian terms shaped like the output: its sum over the
non-batch dimensions is log|det J| of that direction. Element-wise layers (couplings, batch
norms, the logit map, the factor-out) keep every element where it is; the squeeze moves
elements and says how with `move` / `move_back`. A composition carries the
per-element log-dets along with their elements, which is what lets `RealNVP.nll_map` place
every term of the exact log-likelihood on the pixel it belongs to.
"""
from __future__ import annotations

import contextlib
import contextvars

import torch
from torch import Tensor, nn

from .bijection import Bijection
from .coupling import ChannelCoupling, CheckerboardCoupling
from .norm import FlowBatchNorm
from .reshape import FactorOut, Squeeze, Unsqueeze


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


# Checking every layer's output costs a host synchronisation per layer (on a GPU); a pass is
# checked once at its end, and only when that check fails is it re-run with this switched on
# to name the first layer that went non-finite (see RealNVP._checked).
_LOCATING = contextvars.ContextVar("realnvp_locating_non_finite", default=False)


@contextlib.contextmanager
def locating_non_finite():
    token = _LOCATING.set(True)
    try:
        yield
    finally:
        _LOCATING.reset(token)


def run_steps(steps, h: Tensor, y: Tensor | None, direction: str, path: str) -> tuple[Tensor, Tensor]:
    """Apply `(name, layer)` steps in the given order in one direction ("encode" or "decode").
    Each layer's log-det map is added to the running map after the running map has been moved
    the way the layer moves elements, so every term stays with its element."""
    total = h.new_zeros(h.shape)
    locating = _LOCATING.get()
    for name, layer in steps:
        if direction == "encode":
            h, logdet = layer.encode(h, y)
            total = layer.move(total) + logdet
        else:
            h, logdet = layer.decode(h, y)
            total = layer.move_back(total) + logdet
        if locating:
            where = f"{path}.{name} ({type(layer).__name__})"
            check_finite(h, where, direction + "ing")
            check_finite(logdet, where + " log-det", direction + "ing")
    return h, total


class Composite(Bijection):
    """A bijection made of named steps; subclasses define `steps()`, in encoding order."""

    path = "flow"  # set by the owning model to the module's qualified name, for error messages

    def steps(self) -> list[tuple[str, nn.Module]]:
        raise NotImplementedError

    def encode(self, x, y: Tensor | None = None):
        return run_steps(self.steps(), x, y, "encode", self.path)

    def decode(self, z, y: Tensor | None = None):
        return run_steps(self.steps()[::-1], z, y, "decode", self.path)

    def move(self, t):
        for _, layer in self.steps():
            t = layer.move(t)
        return t

    def move_back(self, t):
        for _, layer in self.steps()[::-1]:
            t = layer.move_back(t)
        return t


class FlowSequence(Composite, nn.ModuleList):
    """Element-wise bijections (couplings and batch norms) applied in order."""

    def steps(self):
        return [(str(i), layer) for i, layer in enumerate(self)]


def coupling_steps(kind: type, channels: int, parities: list[int], hidden: int, blocks: int,
                   num_classes: int | None, bn_momentum: float, bn_statistics: str = "batch") -> FlowSequence:
    """Couplings of one mask type with alternating parities, each followed by a flow batch norm."""
    layers: list[nn.Module] = []
    for parity in parities:
        layers.append(kind(channels, parity, hidden, blocks, num_classes))
        layers.append(FlowBatchNorm(channels, momentum=bn_momentum, training_statistics=bn_statistics))
    return FlowSequence(layers)


class Scale(Composite):
    """One resolution level of the multi-scale architecture (section 3.6):

        3 checkerboard couplings, squeeze, 3 channel-wise couplings, unsqueeze

    so a scale's output is in the layout of its input, (C, H, W). The last scale is 4
    checkerboard couplings. Each coupling is followed by a flow batch norm. The factor-out
    between scales is the model's: scale i acts inside the factor-outs of the i scales before it
    (`in_image_layout`), on the half of the elements that they kept.
    """

    def __init__(self, channels: int, hidden: int, blocks: int, last: bool,
                 num_classes: int | None = None, bn_momentum: float = 0.05, bn_statistics: str = "batch"):
        super().__init__()
        self.last = last
        self.checkerboard = coupling_steps(CheckerboardCoupling, channels, [0, 1, 0, 1] if last else [0, 1, 0],
                                           hidden, blocks, num_classes, bn_momentum, bn_statistics)
        if not last:
            self.squeeze = Squeeze()
            self.channelwise = coupling_steps(ChannelCoupling, 4 * channels, [0, 1, 0], hidden, blocks,
                                              num_classes, bn_momentum, bn_statistics)
            self.unsqueeze = Unsqueeze()

    def steps(self):
        names = ["checkerboard"] if self.last else ["checkerboard", "squeeze", "channelwise", "unsqueeze"]
        return [(name, getattr(self, name)) for name in names]


class Nested(Composite):
    """Squeeze, factor-out (the first half leaves, `inner` acts on the rest), unsqueeze: one scale's
    rearrangements around the coarser part of the flow, in the layout of its input."""

    def __init__(self, inner: Bijection):
        super().__init__()
        self.squeeze, self.factor_out, self.unsqueeze = Squeeze(), FactorOut(inner), Unsqueeze()

    def steps(self):
        return [("squeeze", self.squeeze), ("factor_out", self.factor_out), ("unsqueeze", self.unsqueeze)]


def in_image_layout(scale: Scale, depth: int) -> Bijection:
    """Scale `depth` of the model as a bijection of the whole image-layout tensor: inside the
    factor-outs of the `depth` scales before it, so it acts on the elements they kept."""
    layer: Bijection = scale
    for _ in range(depth):
        layer = Nested(layer)
    return layer
