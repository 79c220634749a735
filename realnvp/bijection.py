"""The protocol every layer of the flow follows.

    encode(x, y) -> (z, logdet)      decode(z, y) -> (x, logdet)

`logdet` holds the per-element log-Jacobian terms, shaped like the output; summed over the
non-batch dimensions it is log|det J| of that direction. `y` is the class label batch of a
class-conditional model, or None.

Most layers are element-wise: output element i depends on the whole input, but sits where
input element i sat, so per-element terms need no bookkeeping. The rearrangements (squeeze,
factor-out) move elements; `move` applies the same rearrangement to any tensor shaped like
the input (a log-det map carried from earlier layers), `move_back` undoes it.
"""
from __future__ import annotations

from torch import nn


class Bijection(nn.Module):
    def move(self, t):
        """Where the elements of `t` (shaped like an input) land in the output layout."""
        return t

    def move_back(self, t):
        """The inverse of `move`."""
        return t
