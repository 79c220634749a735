"""The s/t networks of the coupling layers: residual networks with rectifiers, skip
connections, weight normalization and batch normalization (paper section 4.1, appendix).

In evaluation the weight normalization and the batch norms are fixed affine maps, so the
networks run a folded form: weight-normalized weights computed once, each block's inner batch
norm folded into the convolution before it, and the batch norms on the residual stream applied
as one multiply-add fused with the rectifier. The folded weights are cached and rebuilt only when
a parameter or buffer changes (in place or replaced): switching modes alone (the app calls
``eval()`` on a shared model before every request) keeps them.
"""
from __future__ import annotations

import contextlib
import contextvars
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import weight_norm

from .precision import current_sampling_dtype

_INPUT_GRADIENTS_ONLY = contextvars.ContextVar("realnvp_input_gradients_only", default=False)


@contextlib.contextmanager
def input_gradients_only():
    """Within this block, evaluation-mode s/t networks run their folded form even with gradients
    enabled: gradients reach the inputs (pixels, latents) but never the parameters. For
    optimizing or sampling inputs under a fixed model (completion, Langevin chains)."""
    token = _INPUT_GRADIENTS_ONLY.set(True)
    try:
        yield
    finally:
        _INPUT_GRADIENTS_ONLY.reset(token)


def wn_conv3x3(in_channels: int, out_channels: int, bias: bool = True) -> nn.Module:
    return weight_norm(nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=bias))


def zero_output(conv: nn.Module) -> None:
    """Zero a weight-normalized convolution (its scale g and its bias): its output is then zero, while
    gradients still reach g, so it learns from the first step."""
    with torch.no_grad():
        conv.parametrizations.weight.original0.zero_()
        conv.bias.zero_()


class ResidualBlock(nn.Module):
    """x + conv(relu(bn(conv(relu(bn(x))))))  (pre-activation residual block)."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm2d(channels), nn.ReLU(),
            wn_conv3x3(channels, channels, bias=False),
            nn.BatchNorm2d(channels), nn.ReLU(),
            wn_conv3x3(channels, channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)

    def start_as_identity(self) -> None:
        """Zero the output convolution, so that the block is the identity: a block added to a trained
        network leaves its function unchanged."""
        zero_output(self.body[-1])

    def folded(self) -> FoldedBlock:
        """The evaluation-mode block as x + conv2(relu(conv1'(relu(x * scale + shift)))),
        conv1' = conv1 followed by bn2 (folded into its weight and bias)."""
        bn1, _, conv1, bn2, _, conv2 = self.body
        scale1, shift1 = batch_norm_affine(bn1)
        scale2, shift2 = batch_norm_affine(bn2)
        return FoldedBlock(scale1, shift1, conv1.weight * scale2[:, None, None, None], shift2, conv2.weight, conv2.bias)


def cast(t, dtype):
    return t.to(dtype, memory_format=torch.channels_last) if t.dim() == 4 else t.to(dtype)


class FoldedBlock(NamedTuple):
    """A residual block in evaluation mode: the pre-activation batch norm as a per-channel
    affine map (scale, shift), then two convolutions (the inner batch norm folded into the first)."""

    scale: Tensor
    shift: Tensor
    weight1: Tensor
    bias1: Tensor
    weight2: Tensor
    bias2: Tensor

    def to(self, dtype: torch.dtype) -> FoldedBlock:
        """The convolutions in `dtype`; the affine map stays in full precision."""
        return FoldedBlock(self.scale, self.shift, *(cast(t, dtype) for t in self[2:]))


class FoldedResNet(NamedTuple):
    """The whole s/t network in evaluation mode (see ResNet._folded)."""

    stem_weight: Tensor
    stem_bias: Tensor
    blocks: tuple[FoldedBlock, ...]
    head_scale: Tensor
    head_shift: Tensor
    head_weight: Tensor
    head_bias: Tensor

    def to(self, dtype: torch.dtype) -> FoldedResNet:
        """The convolutions in `dtype`; the per-channel affine maps stay in full precision."""
        stem_weight, stem_bias, head_weight, head_bias = (cast(t, dtype) for t in (
            self.stem_weight, self.stem_bias, self.head_weight, self.head_bias))
        return FoldedResNet(stem_weight, stem_bias, tuple(block.to(dtype) for block in self.blocks),
                            self.head_scale, self.head_shift, head_weight, head_bias)


def batch_norm_affine(bn: nn.BatchNorm2d) -> tuple[Tensor, Tensor]:
    """The evaluation-mode batch norm as y = x * scale + shift, per channel."""
    scale = bn.weight * torch.rsqrt(bn.running_var + bn.eps)
    return scale, bn.bias - bn.running_mean * scale


def channel_affine(x: Tensor, scale: Tensor, shift: Tensor) -> Tensor:
    """x * scale + shift per channel, as one evaluation-mode batch-norm kernel (on CPU several
    times faster than a broadcast addcmul, and it takes bfloat16 x with float32 scale and shift).
    cuDNN refuses a batch norm with eps 0, so other devices take the broadcast form."""
    if x.device.type != "cpu":
        return broadcast_channel_affine(x, scale, shift)
    return F.batch_norm(x, torch.zeros_like(scale), torch.ones_like(scale), scale, shift, False, 0.0, 0.0)


def broadcast_channel_affine(x: Tensor, scale: Tensor, shift: Tensor) -> Tensor:
    """`channel_affine` as a broadcast addcmul, in x's dtype (the path off the CPU)."""
    return torch.addcmul(shift.to(x.dtype)[None, :, None, None], x, scale.to(x.dtype)[None, :, None, None])


class ResNet(nn.Module):
    """in_channels -> hidden -> num_blocks residual blocks -> out_channels.

    The output convolution starts at zero so that every coupling starts as the identity.
    With `num_classes`, a learned class embedding is added to the first hidden features.
    """

    def __init__(self, in_channels: int, out_channels: int, hidden_channels: int, num_blocks: int,
                 num_classes: int | None = None):
        super().__init__()
        self.stem = wn_conv3x3(in_channels, hidden_channels)
        self.class_embedding = nn.Embedding(num_classes, hidden_channels) if num_classes else None
        self.blocks = nn.Sequential(*[ResidualBlock(hidden_channels) for _ in range(num_blocks)])
        self.head = nn.Sequential(nn.BatchNorm2d(hidden_channels), nn.ReLU(),
                                  wn_conv3x3(hidden_channels, out_channels))
        zero_output(self.head[-1])

    # Mixed precision for the convolutions of the training forward only (set through
    # RealNVP.set_autocast); the output returns in the input's dtype so scales, shifts and
    # log-dets stay in full precision, and evaluation (every reported figure) is never autocast.
    autocast_dtype: torch.dtype | None = None

    # {dtype: (key of the parameters and buffers, FoldedResNet)}: one entry per dtype, so that
    # requests in float32 (densities) and bfloat16 (sampling) on other threads neither evict each
    # other's weights nor hand each other theirs
    _fold_cache: dict | None = None

    def _folded(self, dtype: torch.dtype | None = None) -> FoldedResNet:
        """The folded evaluation weights (convolutions in `dtype` if given), rebuilt when any
        parameter or buffer has changed."""
        dtype = dtype or self.stem.bias.dtype  # one entry for "the model's dtype", named or not
        tensors = [*self.parameters(), *self.buffers()]
        key = tuple((t.data_ptr(), t._version, t.dtype, t.device) for t in tensors)
        cache = self._fold_cache
        if cache is None:
            cache = self._fold_cache = {}
        entry = cache.get(dtype)
        if entry is not None and entry[0] == key:
            return entry[1]
        # normal tensors even when first built under inference_mode, so that a later call
        # that takes gradients with respect to the input can save them for backward
        with torch.inference_mode(False), torch.no_grad():
            head_bn, _, head_conv = self.head
            folded = FoldedResNet(self.stem.weight, self.stem.bias, tuple(block.folded() for block in self.blocks),
                                  *batch_norm_affine(head_bn), head_conv.weight, head_conv.bias)
            folded = folded.to(dtype)
        cache[dtype] = (key, folded)
        return folded

    def _forward_folded(self, x: Tensor, y: Tensor | None) -> Tensor:
        """The folded network, in the sampling dtype when one is set (the weights cast once and
        cached, the whole network, residual stream included, in that dtype). The convolutions
        run channels-last, where oneDNN skips the layout reorders that NCHW costs on CPU."""
        dtype = current_sampling_dtype() or x.dtype
        net = self._folded() if dtype == x.dtype else self._folded(dtype)
        out = self._run_folded(x.to(dtype, memory_format=torch.channels_last), y, net)
        return out.to(x.dtype, memory_format=torch.contiguous_format)

    def _run_folded(self, x: Tensor, y: Tensor | None, net: FoldedResNet) -> Tensor:
        h = F.conv2d(x, net.stem_weight, net.stem_bias, padding=1)
        if self.class_embedding is not None:
            h = h + self._embedding(y).to(h.dtype)
        for block in net.blocks:
            a = torch.relu_(channel_affine(h, block.scale, block.shift))
            a = torch.relu_(F.conv2d(a, block.weight1, block.bias1, padding=1))
            h = F.conv2d(a, block.weight2, block.bias2, padding=1).add_(h)
        return F.conv2d(torch.relu_(channel_affine(h, net.head_scale, net.head_shift)), net.head_weight,
                        net.head_bias, padding=1)

    def _embedding(self, y: Tensor | None) -> Tensor:
        if y is None:
            raise ValueError("this network is class-conditional: labels y are required")
        return self.class_embedding(y)[:, :, None, None]

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        if not self.training:
            # the folded form has no gradient for the parameters: use it when none is wanted
            if not torch.is_grad_enabled() or not self.stem.bias.requires_grad or _INPUT_GRADIENTS_ONLY.get():
                return self._forward_folded(x, y)
            return self._forward(x, y)
        if self.autocast_dtype is None:
            return self._forward(x, y)
        with torch.autocast(x.device.type, dtype=self.autocast_dtype):
            out = self._forward(x, y)
        return out.to(x.dtype)

    def _forward(self, x: Tensor, y: Tensor | None) -> Tensor:
        h = self.stem(x)
        if self.class_embedding is not None:
            h = h + self._embedding(y)
        return self.head(self.blocks(h))
