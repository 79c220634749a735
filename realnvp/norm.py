"""Invertible batch normalization inside the flow (paper section 3.7 and appendix E).

    y = (x - mu) / sqrt(var + eps) * exp(log_gamma) + beta,
    log|dy/dx| = log_gamma - 1/2 log(var + eps)   (per element, per channel).

In training the running averages are updated and the statistics are, with
`training_statistics="batch"`, those of the current minibatch (gradients flow through them),
or with "averaged", the paper's appendix E variant: the updated running averages
    mu~ <- rho mu~ + (1 - rho) mu^   (rho = 1 - momentum, 0.95 in the paper)
with gradients flowing through the batch part. In evaluation, decoding and sampling the
running averages are used, so the map is a fixed bijection.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from .bijection import Bijection


class FlowBatchNorm(Bijection):
    TRAINING_STATISTICS = ("batch", "averaged")

    def __init__(self, channels: int, momentum: float = 0.05, eps: float = 1e-4, training_statistics: str = "batch"):
        super().__init__()
        if training_statistics not in self.TRAINING_STATISTICS:
            raise ValueError(f"training_statistics must be one of {self.TRAINING_STATISTICS}, got {training_statistics!r}")
        self.training_statistics = training_statistics
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
        if self.training_statistics == "averaged":
            mean = torch.lerp(self.running_mean.detach().to(mean.dtype), mean, self.momentum)
            var = torch.lerp(self.running_var.detach().to(var.dtype), var, self.momentum)
            with torch.no_grad():
                self.running_mean.copy_(mean.detach())
                self.running_var.copy_(var.detach())
            return mean, var
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
