"""The s/t networks of the coupling layers: residual networks with rectifiers, skip
connections, weight normalization and batch normalization (paper section 4.1, appendix)."""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils.parametrizations import weight_norm


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

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        if self.autocast_dtype is None or not self.training:
            return self._forward(x, y)
        with torch.autocast(x.device.type, dtype=self.autocast_dtype):
            out = self._forward(x, y)
        return out.to(x.dtype)

    def _forward(self, x: Tensor, y: Tensor | None) -> Tensor:
        h = self.stem(x)
        if self.class_embedding is not None:
            if y is None:
                raise ValueError("this network is class-conditional: labels y are required")
            h = h + self.class_embedding(y)[:, :, None, None]
        return self.head(self.blocks(h))
