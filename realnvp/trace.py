"""One image's journey through the flow, layer by layer: every coupling, batch norm, squeeze,
factor-out and the logit map, in either direction, with the tensor each one leaves, its log-det
and the running total.

The walk follows the model's own composition (`RealNVP._layers`): composites are opened into
their steps, a factor-out sets its first half aside and walks its rest on the second half, and
every other layer is one step, called through the bijection protocol. Each step's tensor is also
given in image layout (`picture`): the moves of the layers before it undone (`move_back`), with
NaN where elements have left the flow (encoding) or not yet joined it (decoding).

Log-dets are in nats. `bits_per_dim` of a state is the bits/dim of the flow truncated there: the
log-dets from the image to that state plus a standard normal prior on the whole state (elements
set aside included). At the latents it is the model's bits/dim; at the image, that of the image
under a standard normal.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from . import inputs
from .class_shift import ClassShift
from .coupling import ChannelCoupling, CheckerboardCoupling
from .flow import Composite
from .model import RealNVP, standard_normal_log_density
from .norm import FlowBatchNorm
from .preprocess import LogitTransform, bits_per_dim
from .reshape import FactorOut, Inverse, Squeeze, join_half, split_half, split_scales

KINDS = {CheckerboardCoupling: "checkerboard coupling", ChannelCoupling: "channel-wise coupling",
         FlowBatchNorm: "batch norm", LogitTransform: "logit", Squeeze: "squeeze", Inverse: "unsqueeze",
         ClassShift: "class mean"}


@dataclass
class Step:
    """One layer applied to a batch. `output` is in the layout the layer gives it (B, C', H', W');
    `picture` the same values in image layout (B, C, H, W), NaN where elements are outside the
    flow; `logdet` (B,) nats of this step in this direction, `total` (B,) the running sum;
    `changed` (C', H', W') bool: the elements a coupling transforms (None for other layers);
    `set_aside` the half a factor-out leaves (encoding) or brings back (decoding)."""

    index: int
    name: str
    kind: str
    output: Tensor
    picture: Tensor
    logdet: Tensor
    total: Tensor
    bits_per_dim: Tensor
    changed: Tensor | None = None
    changed_picture: Tensor | None = None
    set_aside: Tensor | None = None


@dataclass
class Trace:
    direction: str  # "encode" or "decode"
    start: Tensor  # the image (encode) or the latents in image layout (decode)
    start_bits_per_dim: Tensor
    steps: list[Step]
    latents: list[Tensor]  # per scale, finest first (the start of a decode, the end of an encode)
    image: Tensor  # the end of a decode, the start of an encode
    prior: Tensor  # (B,) log N(latents) in nats
    log_prob: Tensor  # (B,) log-density of the image: sum of the encode log-dets + prior

    @property
    def logdet(self) -> Tensor:
        """(B,) the sum of the steps' log-dets, this direction."""
        return self.steps[-1].total


ToImage = Callable[[Tensor, bool], Tensor]  # (tensor in some layout, keep the elements outside?) -> image layout


class _Walk:
    def __init__(self, direction: str, y: Tensor | None):
        self.direction, self.y = direction, y
        self.steps: list[Step] = []
        self.total: Tensor | None = None
        self.state_priors: list[Tensor] = []  # (B,) log N(whole state) after each step

    def record(self, name: str, kind: str, output: Tensor, logdet: Tensor, to_image: ToImage, **extra) -> None:
        self.total = logdet if self.total is None else self.total + logdet
        self.state_priors.append(_log_normal(to_image(output, True)))
        self.steps.append(Step(len(self.steps), name, kind, output, to_image(output, False), logdet, self.total,
                               None, **extra))

    def walk(self, layer, h: Tensor, to_image: ToImage, path: str) -> tuple[Tensor, ToImage]:
        """Apply `layer` to `h` (in the layout `to_image` maps from), recording its steps; returns
        the output and the map from the output's layout to image layout."""
        forward = self.direction == "encode"
        if isinstance(layer, Composite):
            children = layer.steps() if forward else layer.steps()[::-1]
            for name, child in children:
                h, to_image = self.walk(child, h, to_image, f"{path} · {name}")
            return h, to_image
        if isinstance(layer, FactorOut):
            return self.factor_out(layer, h, to_image, path)
        out, logdet = layer.encode(h, self.y) if forward else layer.decode(h, self.y)

        # encoding moves elements by `move`, so pictures undo it with `move_back`; decoding the reverse
        def out_to_image(t, keep, before=to_image, layer=layer):
            return before(layer.move_back(t) if forward else layer.move(t), keep)

        extra = {}
        if isinstance(layer, (CheckerboardCoupling, ChannelCoupling)):
            changed = layer.changes(out[0])
            extra = {"changed": changed, "changed_picture": out_to_image(changed.expand(out.shape).to(out.dtype), False)[0]}
        kind = next((k for cls, k in KINDS.items() if isinstance(layer, cls)), type(layer).__name__)
        self.record(path, kind, out, logdet.flatten(1).sum(1), out_to_image, **extra)
        return out, out_to_image

    def factor_out(self, layer: FactorOut, h: Tensor, to_image: ToImage, path: str) -> tuple[Tensor, ToImage]:
        aside, kept = split_half(h)

        def kept_to_image(t, keep):
            return to_image(join_half(aside if keep else torch.full_like(aside, math.nan), t), keep)

        zero = h.new_zeros(h.shape[0])
        if self.direction == "encode":
            self.record(f"{path} (half set aside)", "factor-out", kept, zero, kept_to_image, set_aside=aside)
        kept, _ = self.walk(layer.rest, kept, kept_to_image, path)
        joined = join_half(aside, kept)
        if self.direction == "decode":
            self.record(f"{path} (half brought back)", "factor-in", joined, zero, to_image, set_aside=aside)
        return joined, to_image  # a factor-out's rest keeps its input's layout


def _identity(t: Tensor, keep: bool) -> Tensor:
    return t


def _log_normal(t: Tensor) -> Tensor:
    return standard_normal_log_density(t).flatten(1).sum(1)


def _run(model: RealNVP, direction: str, start: Tensor, y) -> tuple[Tensor, _Walk]:
    walk = _Walk(direction, y)
    layers = model._layers() if direction == "encode" else model._layers()[::-1]
    h, to_image = start, _identity
    for name, layer in layers:
        h, to_image = walk.walk(layer, h, to_image, name)
    return h, walk


def _truncated_bits(model: RealNVP, walk: _Walk, image_to_start: Tensor, start: Tensor) -> Tensor:
    """Fill each step's bits/dim (see the module's docstring) and return the start state's.
    `image_to_start`: (B,) the encode-direction log-dets from the image to the start state."""
    num_dims = start[0].numel()
    # decoding from the start state adds minus the encode log-dets from the state reached to the
    # start, so in both directions image -> state is image_to_start + the running total
    for step, state_prior in zip(walk.steps, walk.state_priors):
        step.bits_per_dim = bits_per_dim(image_to_start + step.total + state_prior, num_dims, model.num_levels)
    return bits_per_dim(image_to_start + _log_normal(start), num_dims, model.num_levels)


@torch.no_grad()
def trace_encode(model: RealNVP, x: Tensor, y=None) -> Trace:
    """Encode images x (B, C, H, W) in [0, 1] layer by layer (the fixed bijection: batch-norm
    running averages). The steps' log-dets sum to log_prob(x) minus the prior term."""
    inputs.check_dtype(model)
    inputs.check_images(model, x, unit_interval=True)
    y = inputs.labels(model, y, x.shape[0])
    with model._fixed_bijection():
        z, walk = _run(model, "encode", x, y)
    latents = split_scales(z, model.num_scales)
    prior = sum(_log_normal(part) for part in latents)
    start_bits = _truncated_bits(model, walk, x.new_zeros(x.shape[0]), x)
    return Trace("encode", x, start_bits, walk.steps, latents, x, prior, walk.total + prior)


@torch.no_grad()
def trace_decode(model: RealNVP, latents: list[Tensor], y=None) -> Trace:
    """Decode per-scale latents (finest first) layer by layer, down to the image. The steps'
    log-dets sum to minus the encode log-dets of the image they end at."""
    inputs.check_dtype(model)
    latents = inputs.check_latents(model, latents)
    y = inputs.labels(model, y, latents[-1].shape[0])
    z = model.assemble(latents)
    with model._fixed_bijection():
        x, walk = _run(model, "decode", z, y)
    prior = sum(_log_normal(part) for part in latents)
    # from the image to the latents, encoding's log-dets are minus the whole decode's
    start_bits = _truncated_bits(model, walk, -walk.total, z)
    return Trace("decode", z, start_bits, walk.steps, list(latents), x, prior, -walk.total + prior)
