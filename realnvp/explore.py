"""Looking inside a flow, tensors in and tensors out: samples at a temperature (one per scale
too), latent interpolation, per-scale reconstruction, per-pixel bits and the bits/dim breakdown,
class likelihoods, and completion of erased pixels. Images are (N, C, H, W) in [0, 1]."""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from .model import RealNVP


# ----------------------------------------------------------------------------- sampling
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


# ----------------------------------------------------------------------------- latents
def _mix(latents: Sequence[Tensor], weights: Tensor) -> list[Tensor]:
    """Per scale, the (G, ...) weighted sums of the K images' latents: weights (G, K), latents
    a list of (K, ...) tensors. All G mixtures are decoded in one batch (batch norm uses its
    running averages in evaluation mode, so the batch does not change the result)."""
    return [torch.einsum("gk,k...->g...", weights.to(z.device, z.dtype), z) for z in latents]


def _label_batch(y, n: int):
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
    return model.decode(_mix(latents, weights), _label_batch(ys, len(weights))).clamp(0, 1)


@torch.no_grad()
def interpolate_pair(model: RealNVP, first: Tensor, second: Tensor, steps: int, y=None) -> Tensor:
    """z = cos(t) z1 + sin(t) z2 for t from 0 to pi/2 (keeps the prior's scale, unlike a
    straight line)."""
    z1, z2 = model.encode(first, y), model.encode(second, y)
    ts = [0.5 * math.pi * i / max(1, steps - 1) for i in range(steps)]
    weights = torch.tensor([[math.cos(t), math.sin(t)] for t in ts], dtype=torch.float64)
    latents = [torch.cat([a, b]) for a, b in zip(z1, z2)]
    return model.decode(_mix(latents, weights), _label_batch(y, steps)).clamp(0, 1)


@torch.no_grad()
def per_scale_reconstructions(model: RealNVP, x: Tensor, mode: str = "resample", temperature: float = 1.0,
                              seed: int = 0, y=None) -> tuple[Tensor, list[str]]:
    """Decodings that keep the latents of the k coarsest scales (k = all ... 0) and resample
    (z ~ N(0, T^2)) or zero the finer ones. Returns (num_scales + 1, C, H, W) and captions."""
    if mode not in ("resample", "zero"):
        raise ValueError(f"mode must be 'resample' or 'zero', got {mode!r}")
    latents = model.encode(x, y)
    generator = torch.Generator().manual_seed(int(seed))
    fresh = [torch.randn(z.shape, generator=generator, dtype=z.dtype).to(z.device) * temperature for z in latents]
    out, captions = [], []
    n = model.num_scales
    for keep in range(n, -1, -1):
        mixed = [z if i >= n - keep else (f if mode == "resample" else torch.zeros_like(z))
                 for i, (z, f) in enumerate(zip(latents, fresh))]
        out.append(model.decode(mixed, y))
        captions.append("all scales (exact)" if keep == n else f"{keep} coarsest scale{'s' if keep != 1 else ''}"
                        if keep else "no scale kept")
    return torch.cat(out).clamp(0, 1), captions


@torch.no_grad()
def round_trip_error(model: RealNVP, x: Tensor, y=None) -> float:
    return (model.decode(model.encode(x, y), y) - x).abs().max().item()


# ----------------------------------------------------------------------------- likelihood
def bits_map(model: RealNVP, x: Tensor, y=None) -> Tensor:
    """(B, H, W): each pixel's share of the image's bits/dim; its mean over pixels is the
    image's bits/dim exactly (nll_map per pixel, with the discretization term, in bits per
    channel value)."""
    channels = x.shape[1]
    nll = model.nll_map(x, y)
    return (nll + channels * math.log(model.num_levels)) / (channels * math.log(2))


def breakdown_bits_per_dim(model: RealNVP, x: Tensor, y=None) -> dict[str, float]:
    """The bits/dim of one image split into the terms of the log-likelihood (they sum to the total)."""
    terms = model.log_prob_terms(x, y)
    d = x[0].numel()
    out = {"prior (Gaussian latents)": -terms.pop("prior")[0].item() / (d * math.log(2))}
    for name, value in terms.items():
        label = "preprocessing (logit)" if name == "preprocessing" else f"log-det, {name}"
        out[label] = -value[0].item() / (d * math.log(2))
    out[f"dequantization ({model.num_levels} levels)"] = math.log2(model.num_levels)
    return out


@torch.no_grad()
def class_log_likelihoods(model: RealNVP, x: Tensor) -> Tensor:
    """(num_classes,) log p(x | y) in nats of one image (1, C, H, W) under each class of a
    class-conditional model; its argmax is the model's guess of the class."""
    if model.num_classes is None:
        raise ValueError("the model is not class-conditional")
    k = model.num_classes
    labels = torch.arange(k, device=x.device)
    return model.log_prob(x.expand(k, *x.shape[1:]), labels)


def class_posterior(model: RealNVP, x: Tensor) -> Tensor:
    """(num_classes,) p(y | x) of one image (1, C, H, W) under a uniform prior over the classes."""
    return torch.softmax(class_log_likelihoods(model, x).double(), 0)


# ----------------------------------------------------------------------------- completion
def complete(model: RealNVP, x: Tensor, erased: Tensor, steps: int = 200, lr: float = 0.05, seed: int = 0, y=None,
             progress: Callable[[int, int, float], None] | None = None) -> tuple[Tensor, list[float]]:
    """Fill the erased pixels (erased: (1, 1 or C, H, W) bool) by maximizing log p(x) over them.

    The erased values are parametrized as sigmoid(u) so they stay in (0, 1), start from
    uniform noise, and follow Adam on -log p; known pixels never change. Returns the image
    and the bits/dim after each step."""
    erased = erased.expand_as(x).to(x.device)
    if not erased.any():
        raise ValueError("nothing is erased: paint over the part of the image to fill in")
    generator = torch.Generator().manual_seed(int(seed))
    start = torch.rand(x.shape, generator=generator).to(x.device, x.dtype).clamp(0.02, 0.98)
    u = torch.logit(start).requires_grad_(True)
    optimizer = torch.optim.Adam([u], lr=lr)
    was_training = model.training
    model.eval()
    history = []
    try:
        with torch.enable_grad():  # also when called under torch.no_grad()
            for step in range(steps):
                filled = torch.where(erased, torch.sigmoid(u), x)
                loss = -model.log_prob(filled, y).sum()
                # gradients w.r.t. the pixels only: the model's parameters are left untouched
                # (no .grad accumulates on them, so concurrent callers do not interfere)
                (u.grad,) = torch.autograd.grad(loss, [u])
                optimizer.step()
                bpd = (loss.item() / x[0].numel() + math.log(model.num_levels)) / math.log(2)
                history.append(bpd)
                if progress is not None:
                    progress(step + 1, steps, bpd)
    finally:
        model.train(was_training)
    with torch.no_grad():
        return torch.where(erased, torch.sigmoid(u), x).detach(), history


def rectangle_mask(height: int, width: int, top: float, bottom: float, left: float, right: float) -> Tensor:
    """(1, 1, H, W) bool, True inside the rectangle given in fractions of the image's height
    (top, bottom) and width (left, right); the edges snap outwards to whole pixels."""
    for name, value in (("top", top), ("bottom", bottom), ("left", left), ("right", right)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and 0.0 <= value <= 1.0):
            raise ValueError(f"{name} must be a fraction between 0 and 1, got {value!r}")
    if top >= bottom or left >= right:
        raise ValueError(f"the rectangle is empty: top ({top:g}) must be above bottom ({bottom:g}) and "
                         f"left ({left:g}) before right ({right:g})")
    r0, r1 = math.floor(top * height), max(math.floor(top * height) + 1, math.ceil(bottom * height))
    c0, c1 = math.floor(left * width), max(math.floor(left * width) + 1, math.ceil(right * width))
    mask = torch.zeros(1, 1, height, width, dtype=torch.bool)
    mask[..., r0:min(r1, height), c0:min(c1, width)] = True
    return mask
