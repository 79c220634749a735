"""Class-dependent latent means as the flow's last layer (the Gaussian-mixture prior of FlowGMM,
Izmailov et al. 2020, written as a bijection).

The prior of a class-conditional flow becomes p(u | y) = N(u; mu_y, I) on the flow's output u.
Written as a layer, encode(u, y) = u - mu_y and decode(z, y) = z + mu_y, so the model's latents z
stay standard normal under every class: sampling, temperature and `decode(encode(x, y), y')`
(the same latents under another label) need no special case. A translation preserves volume:
its log-det is zero.

When the coupling networks do not see the label, the whole flow before this layer is shared by
every class, so one pass gives log p(x | y) of all classes (`RealNVP.log_prob_every_class`):
the generative classifier costs one encoding instead of one per class.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from .bijection import Bijection


class ClassShift(Bijection):
    """u -> u - means[y] on image-layout latents (B, C, H, W). The means start at zero, so a
    model given this layer computes its unconditional density for every label until trained."""

    volume_preserving = True  # log-det zero: no term of its own in the log-likelihood

    def __init__(self, num_classes: int, shape: tuple[int, int, int]):
        super().__init__()
        self.means = nn.Parameter(torch.zeros(num_classes, *shape))

    def _check(self, h: Tensor, y: Tensor | None) -> None:
        if y is None:
            raise ValueError("this model's prior depends on the class: labels y are required")
        self._check_shape(h)

    def _check_shape(self, h: Tensor) -> None:
        if tuple(h.shape[1:]) != tuple(self.means.shape[1:]):
            c, hh, ww = self.means.shape[1:]
            raise ValueError(f"this model's class means are {hh}x{ww} latents: it works on {hh}x{ww} images only, "
                             f"got {h.shape[2]}x{h.shape[3]}; resize the image to {hh}x{ww}")

    def encode(self, x: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        self._check(x, y)
        return x - self.means[y].to(x.dtype), x.new_zeros(x.shape)

    def decode(self, z: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        self._check(z, y)
        return z + self.means[y].to(z.dtype), z.new_zeros(z.shape)

    def log_prior_every_class(self, u: Tensor) -> Tensor:
        """(B, K) log N(u; mu_k, I) summed over elements, for the flow's output u (B, C, H, W)."""
        self._check_shape(u)
        diff = u.flatten(1)[:, None, :] - self.means.flatten(1)[None].to(u.dtype)
        return -0.5 * (diff * diff).sum(-1) - 0.5 * diff.shape[-1] * torch.log(u.new_tensor(2 * torch.pi))
