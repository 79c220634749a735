"""Polyak averaging: an exponential moving average of a model's weights.

The average covers the parameters and the floating-point buffers (the batch norms' running
averages); other buffers are copied. The decay warms up as in TensorFlow's
ExponentialMovingAverage, min(decay, (1 + t) / (10 + t)) at update t, so the first averages
are not dominated by the initialization. The trainer evaluates, samples and saves models with
the average and keeps training the raw weights.
"""
from __future__ import annotations

import contextlib

import torch
from torch import nn


class WeightAverage:
    def __init__(self, model: nn.Module, decay: float):
        if not 0 < decay < 1:
            raise ValueError(f"the decay of a moving average must be in (0, 1), got {decay}")
        self.decay = decay
        self.tensors = {name: t.detach().clone() for name, t in model.state_dict().items()}

    def decay_at(self, update: int) -> float:
        return min(self.decay, (1 + update) / (10 + update))

    @torch.no_grad()
    def update(self, model: nn.Module, update: int) -> None:
        """Fold in the model's current weights; `update` counts updates (the optimizer step)."""
        weight = 1 - self.decay_at(update)
        for name, t in model.state_dict().items():
            if t.is_floating_point():
                self.tensors[name].lerp_(t.detach(), weight)
            else:
                self.tensors[name].copy_(t)

    def load(self, tensors: dict[str, torch.Tensor]) -> None:
        for name, t in self.tensors.items():
            t.copy_(tensors[name])

    @contextlib.contextmanager
    def applied(self, model: nn.Module):
        """The model holds the averaged weights inside; its own weights are restored after."""
        raw = {name: t.detach().clone() for name, t in model.state_dict().items()}
        model.load_state_dict(self.tensors)
        try:
            yield model
        finally:
            model.load_state_dict(raw)
