"""The s/t networks of the coupling layers: residual networks with rectifiers, skip
connections, weight normalization and batch normalization (paper section 4.1, appendix).

In evaluation the weight normalization and the batch norms are fixed affine maps, so the
networks run a folded form: weight-normalized weights computed once, each block's inner batch
norm folded into the convolution before it, and the batch norms on the residual stream applied
as one multiply-add fused with the rectifier. The folded weights are cached and rebuilt when a
parameter or buffer changes (in place or replaced) or the mode changes.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import weight_norm

from .precision import current_sampling_dtype


def wn_conv3x3(in_channels: int, out_channels: int, bias: bool = True) -> nn.Module:
    return weight_norm(nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=bias))


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

    def folded(self) -> tuple[Tensor, ...]:
        """(scale1, shift1, weight1, bias1, weight2, bias2) of the evaluation-mode block
        x + conv2(relu(conv1'(relu(x * scale1 + shift1)))), conv1' = bn2 after conv1."""
        bn1, _, conv1, bn2, _, conv2 = self.body
        scale1, shift1 = batch_norm_affine(bn1)
        scale2, shift2 = batch_norm_affine(bn2)
        weight1 = conv1.weight * scale2[:, None, None, None]
        return scale1[:, None, None], shift1[:, None, None], weight1, shift2, conv2.weight, conv2.bias


def batch_norm_affine(bn: nn.BatchNorm2d) -> tuple[Tensor, Tensor]:
    """The evaluation-mode batch norm as y = x * scale + shift, per channel."""
    scale = bn.weight * torch.rsqrt(bn.running_var + bn.eps)
    return scale, bn.bias - bn.running_mean * scale


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
        head_conv = self.head[-1]
        with torch.no_grad():
            head_conv.parametrizations.weight.original0.zero_()
            head_conv.bias.zero_()

    # Mixed precision for the convolutions of the training forward only (set through
    # RealNVP.set_autocast); the output returns in the input's dtype so scales, shifts and
    # log-dets stay in full precision, and evaluation (every reported figure) is never autocast.
    autocast_dtype: torch.dtype | None = None

    _fold_cache: tuple | None = None

    def train(self, mode: bool = True):
        self._fold_cache = None
        return super().train(mode)

    def _folded_weights(self) -> list:
        """The folded evaluation weights, rebuilt when any parameter or buffer has changed."""
        tensors = [*self.parameters(), *self.buffers()]
        key = tuple((t.data_ptr(), t._version, t.dtype, t.device) for t in tensors)
        if self._fold_cache is None or self._fold_cache[0] != key:
            # normal tensors even when first built under inference_mode, so that a later call
            # that takes gradients with respect to the input can save them for backward
            with torch.inference_mode(False), torch.no_grad():
                head_bn, _, head_conv = self.head
                weights = [self.stem.weight, self.stem.bias, [block.folded() for block in self.blocks],
                           *(t[:, None, None] for t in batch_norm_affine(head_bn)), head_conv.weight, head_conv.bias]
            self._fold_cache = (key, weights)
        return self._fold_cache[1]

    def _forward_folded(self, x: Tensor, y: Tensor | None) -> Tensor:
        dtype = current_sampling_dtype()
        if dtype is None or dtype == x.dtype:
            return self._forward_folded_exact(x, y)
        with torch.autocast(x.device.type, dtype=dtype):
            out = self._forward_folded_exact(x, y)
        return out.to(x.dtype)

    def _forward_folded_exact(self, x: Tensor, y: Tensor | None) -> Tensor:
        stem_w, stem_b, blocks, head_scale, head_shift, head_w, head_b = self._folded_weights()
        h = F.conv2d(x, stem_w, stem_b, padding=1)
        if self.class_embedding is not None:
            h = h + self._embedding(y)
        for scale1, shift1, w1, b1, w2, b2 in blocks:
            a = torch.relu_(torch.addcmul(shift1, h, scale1))
            a = torch.relu_(F.conv2d(a, w1, b1, padding=1))
            h = F.conv2d(a, w2, b2, padding=1).add_(h)
        return F.conv2d(torch.relu_(torch.addcmul(head_shift, h, head_scale)), head_w, head_b, padding=1)

    def _embedding(self, y: Tensor | None) -> Tensor:
        if y is None:
            raise ValueError("this network is class-conditional: labels y are required")
        return self.class_embedding(y)[:, :, None, None]

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        if not self.training:
            # the folded form has no gradient for the parameters: use it when none is wanted
            if not torch.is_grad_enabled() or not self.stem.bias.requires_grad:
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
