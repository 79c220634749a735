"""Tools for checking a flow's exactness: the autograd log-determinant to compare log-dets
against, and small models with random weights (a fresh model's couplings are the identity,
which would let a wrong log-det pass). Used by the tests and by bench/exactness.py."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from .model import RealNVP


def jacobian_logabsdet(fn, x: Tensor) -> Tensor:
    """log|det J| of `fn` at a single input `x` (no batch dimension), by autograd."""
    flat = x.reshape(-1)
    jac = torch.autograd.functional.jacobian(lambda v: fn(v.reshape(x.shape)).reshape(-1), flat)
    return torch.linalg.slogdet(jac)[1]


def randomize_(model: nn.Module, seed: int = 0, std: float = 0.3) -> nn.Module:
    """Add N(0, std^2) to every parameter and move the batch-norm running statistics away
    from their initial values, in place."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g, dtype=p.dtype) * std)
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(torch.randn(b.shape, generator=g, dtype=b.dtype) * 0.2)
            elif name.endswith("running_var"):
                b.copy_(torch.rand(b.shape, generator=g, dtype=b.dtype) * 0.75 + 0.75)
    return model


def random_model(channels: int = 1, size: int = 4, num_scales: int = 2, dtype: torch.dtype = torch.float64,
                 seed: int = 0, **kwargs) -> RealNVP:
    """A small RealNVP (4 hidden channels, 1 block unless given) with random weights, in
    evaluation mode. The global random state is left as it was (the initialisation draws from
    a forked generator seeded with `seed`)."""
    kwargs.setdefault("hidden_channels", 4)
    kwargs.setdefault("num_blocks", 1)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = RealNVP(in_channels=channels, image_size=size, num_scales=num_scales, **kwargs).to(dtype)
    return randomize_(model, seed).eval()
