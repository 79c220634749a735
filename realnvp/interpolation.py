"""Interpolation in latent space: the paper's four-image manifold, the path between two images,
and closed great-circle walks (each frame's latent near the prior's typical shell)."""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from .model import RealNVP


def _mix(latents: Sequence[Tensor], weights: Tensor) -> list[Tensor]:
    """Per scale, the (G, ...) weighted sums of the K images' latents: weights (G, K), latents
    a list of (K, ...) tensors. All G mixtures are decoded in one batch (batch norm uses its
    running averages in evaluation mode, so the batch does not change the result)."""
    return [torch.einsum("gk,k...->g...", weights.to(z.device, z.dtype), z) for z in latents]


def label_batch(y, n: int):
    """One label (int, 0-dim or (k,) tensor: its first entry) repeated n times; None stays None."""
    if y is None:
        return None
    return torch.as_tensor(y).reshape(-1)[:1].expand(n)


@torch.no_grad()
def interpolation_manifold(model: RealNVP, images: Tensor, size: int, y=None) -> Tensor:
    """The paper's manifold of four images (section 5, figure 6):
    z = cos(a)(cos(b) z1 + sin(b) z2) + sin(a)(cos(b) z3 + sin(b) z4), a, b in [0, pi/2],
    decoded on a size x size grid (row-major: a down the rows, b across). Corners are the
    four images themselves. With a class-conditional model, `y` (one label, or one per image:
    the first is used to decode) conditions every image."""
    if images.shape[0] != 4:
        raise ValueError(f"the manifold needs exactly 4 images, got {images.shape[0]}")
    ys = None if y is None else torch.as_tensor(y).reshape(-1).expand(4) if torch.as_tensor(y).dim() == 0 else torch.as_tensor(y)
    latents = model.encode(images, ys)
    angles = [0.5 * math.pi * i / max(1, size - 1) for i in range(size)]
    weights = torch.tensor([[math.cos(a) * math.cos(b), math.cos(a) * math.sin(b), math.sin(a) * math.cos(b),
                             math.sin(a) * math.sin(b)] for a in angles for b in angles], dtype=torch.float64)
    return model.decode(_mix(latents, weights), label_batch(ys, len(weights))).clamp(0, 1)


@torch.no_grad()
def interpolate_pair(model: RealNVP, first: Tensor, second: Tensor, steps: int, y=None) -> Tensor:
    """z = cos(t) z1 + sin(t) z2 for t from 0 to pi/2 (keeps the prior's scale, unlike a
    straight line)."""
    z1, z2 = model.encode(first, y), model.encode(second, y)
    ts = [0.5 * math.pi * i / max(1, steps - 1) for i in range(steps)]
    weights = torch.tensor([[math.cos(t), math.sin(t)] for t in ts], dtype=torch.float64)
    latents = [torch.cat([a, b]) for a, b in zip(z1, z2)]
    return model.decode(_mix(latents, weights), label_batch(y, steps)).clamp(0, 1)


def great_circle_latents(latents_a: Sequence[Tensor], latents_b: Sequence[Tensor], ts: Sequence[float] | Tensor
                         ) -> list[Tensor]:
    """Per scale, the (T, ...) latents cos(t) z_a + sin(t) z_b for each angle t (radians);
    latents_a and latents_b hold one latent per scale with a batch of one. Angles are computed in
    float64, so t and t + 2 pi give the same latents up to rounding."""
    ts = torch.as_tensor(ts, dtype=torch.float64).reshape(-1)
    weights = torch.stack([torch.cos(ts), torch.sin(ts)], 1)
    latents = [torch.cat([a[:1], b[:1]]) for a, b in zip(latents_a, latents_b)]
    return _mix(latents, weights)


@torch.no_grad()
def geodesic_frames(model: RealNVP, latents_a: Sequence[Tensor], latents_b: Sequence[Tensor],
                    ts: Sequence[float] | Tensor, y=None, batch: int = 32) -> Tensor:
    """(T, C, H, W): decode(cos(t) z_a + sin(t) z_b) for each angle t, in [0, 1], decoded in
    batches of `batch`."""
    latents = great_circle_latents(latents_a, latents_b, ts)
    n = latents[0].shape[0]
    frames = [model.decode([z[i:i + batch] for z in latents], label_batch(y, min(batch, n - i)))
              for i in range(0, n, batch)]
    return torch.cat(frames).clamp(0, 1)


def great_circle_walk(model: RealNVP, latents_a: Sequence[Tensor], latents_b: Sequence[Tensor], frames: int,
                      y=None) -> Tensor:
    """(frames, C, H, W): a closed walk decode(cos(t) z_a + sin(t) z_b), t = 2 pi i / frames.

    With z_a, z_b of about equal norm and about orthogonal (independent draws of the prior, or
    see `manifold_circle_latents`), ||z(t)||^2 = cos^2 t ||z_a||^2 + sin^2 t ||z_b||^2
    + 2 sin t cos t <z_a, z_b> stays near the prior's typical radius all the way round, unlike
    a straight line; the frame after the last is the first (t = 2 pi)."""
    if isinstance(frames, bool) or not isinstance(frames, int) or frames < 1:
        raise ValueError(f"frames must be a positive integer, got {frames!r}")
    return geodesic_frames(model, latents_a, latents_b, [2 * math.pi * i / frames for i in range(frames)], y)


def manifold_circle_latents(latents: Sequence[Tensor]) -> tuple[list[Tensor], list[Tensor]]:
    """The great circle through the middle of the four-image manifold: from the four corners'
    latents (a list per scale of (4, ...) tensors) z_a = (z1 + z2)/sqrt 2 and
    z_b = (z3 + z4)/sqrt 2, the midpoints of the manifold's top and bottom edges
    (a = 0 and a = pi/2 at b = pi/4). For t in [0, pi/2] the walk runs down the manifold's
    middle column; it goes on through -z_a and -z_b (as likely under the prior) back to z_a."""
    if latents[0].shape[0] != 4:
        raise ValueError(f"the manifold needs exactly 4 images, got {latents[0].shape[0]}")
    root = math.sqrt(0.5)
    return [(z[0:1] + z[1:2]) * root for z in latents], [(z[2:3] + z[3:4]) * root for z in latents]


def there_and_back_angles(frames: int, end: float = 0.5 * math.pi) -> list[float]:
    """`frames` angles going smoothly from 0 to `end` and back (t = end (1 - cos(2 pi i/frames))/2):
    the two-image path as a loop, frame frames/2 at the second image."""
    if isinstance(frames, bool) or not isinstance(frames, int) or frames < 1:
        raise ValueError(f"frames must be a positive integer, got {frames!r}")
    return [end * (1 - math.cos(2 * math.pi * i / frames)) / 2 for i in range(frames)]
