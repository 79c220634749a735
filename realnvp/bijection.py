"""The protocol every layer of the flow follows, factor-out included.

    encode(x, y) -> (z, logdet)      decode(z, y) -> (x, logdet)

`logdet` holds the per-element log-Jacobian terms, shaped like the output; summed over the
non-batch dimensions it is log|det J| of that direction. `y` is the class label batch of a
class-conditional model, or None. Inputs and outputs are single tensors, so a composition is a
loop over its layers with no special cases (nflows and zuko compose transforms the same way).

Most layers are element-wise: output element i depends on the whole input, but sits where
input element i sat, so per-element terms need no bookkeeping. The squeeze moves elements;
`move` applies the same rearrangement to any tensor shaped like the input (a log-det map carried
from earlier layers), `move_back` undoes it. A factor-out keeps every element in place: half of
the channels leave the flow unchanged and the rest of the flow acts on the other half.
"""
from __future__ import annotations

import abc

from torch import Tensor, nn


class Bijection(nn.Module, abc.ABC):
    @abc.abstractmethod
    def encode(self, x: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Data side to latent side: the output and its per-element log-det map."""

    @abc.abstractmethod
    def decode(self, z: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """The exact inverse of `encode`, with the per-element log-det map of this direction."""

    def move(self, t: Tensor) -> Tensor:
        """Where the elements of `t` (shaped like an input) land in the output layout."""
        return t

    def move_back(self, t: Tensor) -> Tensor:
        """The inverse of `move`."""
        return t
