"""Invertible batch normalization inside the flow (paper section 3.7 and appendix E).

    y = (x - mu) / sqrt(var + eps) * exp(log_gamma) + beta,
    log|dy/dx| = log_gamma - 1/2 log(var + eps)   (per element, per channel).

In training the statistics are those of the current minibatch (gradients flow through them)
and the running averages are updated; in evaluation, decoding and sampling the running
averages of recent minibatches are used, so the map is a fixed bijection.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn


class FlowBatchNorm(nn.Module):
    def __init__(self, channels: int, momentum: float = 0.05, eps: float = 1e-4):
        super().__init__()
        self.momentum = momentum
        self.eps = eps
        self.log_gamma = nn.Parameter(torch.zeros(channels))
        self.beta = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def _statistics(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if not self.training:
            return self.running_mean, self.running_var
        mean = x.mean(dim=(0, 2, 3))
        var = x.var(dim=(0, 2, 3), unbiased=False)
        with torch.no_grad():
            self.running_mean.lerp_(mean.detach().to(self.running_mean.dtype), self.momentum)
            self.running_var.lerp_(var.detach().to(self.running_var.dtype), self.momentum)
        return mean, var

    def _log_scale(self, var: Tensor) -> Tensor:
        return self.log_gamma - 0.5 * torch.log(var + self.eps)

    def encode(self, x: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        mean, var = self._statistics(x)
        log_scale = self._log_scale(var)[None, :, None, None]
        out = (x - mean[None, :, None, None]) * torch.exp(log_scale) + self.beta[None, :, None, None]
        return out, log_scale.expand_as(out)

    def decode(self, z: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        # Decoding always uses the running averages: there is no batch to take statistics from.
        log_scale = self._log_scale(self.running_var)[None, :, None, None]
        out = (z - self.beta[None, :, None, None]) * torch.exp(-log_scale) + self.running_mean[None, :, None, None]
        return out, (-log_scale).expand_as(out)
