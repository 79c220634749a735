"""Sampling with temperatures: a seeded grid of samples, and one temperature per scale going
linearly from the finest scale's to the coarsest scale's."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from .model import RealNVP


@torch.no_grad()
def sample_grid(model: RealNVP, n: int, temperature: float | Sequence[float], seed: int, y=None) -> Tensor:
    """n samples decode(z), z ~ N(0, T² I) (T one number or one per scale, finest first), from `seed`."""
    generator = torch.Generator().manual_seed(int(seed))
    return model.sample(n, temperature=temperature, generator=generator, y=y)


def scale_temperatures(num_scales: int, coarse: float, fine: float) -> list[float]:
    """One temperature per scale, finest scale first, going linearly from `fine` (the finest
    scale, the detail) to `coarse` (the coarsest scale, the overall structure)."""
    if num_scales == 1:
        return [float(coarse)]
    return [float(fine) + (float(coarse) - float(fine)) * i / (num_scales - 1) for i in range(num_scales)]
