"""Random translations of training batches (data augmentation for small data sets).

A shifted digit is still a digit: shifting each training image by a few pixels multiplies the
distinct inputs the flow sees (the squeeze and checkerboard masks fall differently on each
shift). The density of shifted images is a mixture of the (2k+1)^2 shifted copies of the
unshifted one, so it gives a centred test image at least 1/(2k+1)^2 of that density: at most
log2((2k+1)^2) bits more per image, 0.006 bits/dim for k = 2 on 28x28.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def random_shift(x: torch.Tensor, max_shift: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Each image of ``x`` (N, C, H, W) moved by its own random (dy, dx), each uniform in
    ``-max_shift..max_shift``; the pixels moved in repeat the nearest edge pixel, so every output
    value is one of the input's values (grey levels stay on the grid)."""
    if max_shift == 0:
        return x
    n, c, h, w = x.shape
    k = max_shift
    padded = F.pad(x, (k, k, k, k), mode="replicate")
    offsets = torch.randint(0, 2 * k + 1, (n, 2), generator=generator).to(x.device)
    rows = offsets[:, 0, None] + torch.arange(h, device=x.device)  # (N, H) rows of the padded image
    cols = offsets[:, 1, None] + torch.arange(w, device=x.device)
    batch = torch.arange(n, device=x.device)[:, None, None, None]
    channel = torch.arange(c, device=x.device)[None, :, None, None]
    return padded[batch, channel, rows[:, None, :, None], cols[:, None, None, :]]
