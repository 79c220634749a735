"""Directions in latent space between classes: the mean latent of each class's images, the
difference of two classes' means, and an image's latents moved along it, at every scale or only
at some (the coarse ones hold the overall shape).

    z(t) = z + t (mean[target] - mean[source])     on the chosen scales, the others unchanged
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from .model import RealNVP


@torch.no_grad()
def class_mean_latents(model: RealNVP, images: Tensor, labels: Tensor, num_classes: int,
                       batch_size: int = 100) -> tuple[list[Tensor], Tensor]:
    """The mean latent of each class, per scale ((num_classes, C, H, W) each, finest first, in the
    model's dtype, summed in float64), and the number of images of each class. An unconditional
    model encodes every image alike; a class-conditional one under the image's own label."""
    labels = labels.long()
    if labels.shape != (images.shape[0],) or labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f"expected one label in 0..{num_classes - 1} per image, got {tuple(labels.shape)}")
    counts = torch.bincount(labels.cpu(), minlength=num_classes)
    if (counts == 0).any():
        missing = [i for i in range(num_classes) if counts[i] == 0]
        raise ValueError(f"no images of class(es) {missing}: every class needs one for its mean")
    sums = None
    for start in range(0, images.shape[0], batch_size):
        x, y = images[start:start + batch_size], labels[start:start + batch_size]
        latents = model.encode(x, y if model.num_classes is not None else None)
        if sums is None:
            sums = [torch.zeros((num_classes, *z.shape[1:]), dtype=torch.float64, device=z.device) for z in latents]
        for total, z in zip(sums, latents):
            total.index_add_(0, y.to(z.device), z.double())
    divisor = counts.to(sums[0].device, torch.float64)
    dtype = next(model.parameters()).dtype
    return [(total / divisor.view(-1, 1, 1, 1)).to(dtype) for total in sums], counts


def class_direction(means: Sequence[Tensor], source: int, target: int) -> list[Tensor]:
    """Per scale, mean[target] - mean[source], with a batch dimension of 1."""
    return [(m[target] - m[source])[None] for m in means]


def move_along(latents: Sequence[Tensor], direction: Sequence[Tensor], amount: float,
               scales: Sequence[int] | None = None) -> list[Tensor]:
    """latents + amount * direction on the scales listed (all when None; 0 is the finest), the
    other scales' latents unchanged (the very same tensors)."""
    if len(latents) != len(direction):
        raise ValueError(f"expected {len(latents)} direction parts, got {len(direction)}")
    chosen = set(range(len(latents)) if scales is None else scales)
    if not chosen <= set(range(len(latents))):
        raise ValueError(f"scales must lie in 0..{len(latents) - 1}, got {sorted(chosen)}")
    return [z + amount * d.to(z) if i in chosen else z for i, (z, d) in enumerate(zip(latents, direction))]
