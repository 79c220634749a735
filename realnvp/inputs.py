"""What the model checks before it computes: its configuration, the images, labels and latents
it is given, its dtype, and a training batch large enough for batch statistics. Each check
raises with what is wrong and what to do."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


CONDITIONING = ("networks", "latent_means", "both")  # where a class-conditional model sees the label


def check_config(*, in_channels: int, image_size: int, num_scales: int, hidden_channels: int, num_blocks: int,
                 num_levels: int, num_classes: int | None, conditioning: str = "networks") -> None:
    for name, value, low in [("in_channels", in_channels, 1), ("image_size", image_size, 1),
                             ("num_scales", num_scales, 1), ("hidden_channels", hidden_channels, 1),
                             ("num_blocks", num_blocks, 0), ("num_levels", num_levels, 2)]:
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if num_classes is not None and (not isinstance(num_classes, int) or num_classes < 1):
        raise ValueError(f"num_classes must be None or a positive integer, got {num_classes!r}")
    if conditioning not in CONDITIONING:
        raise ValueError(f"conditioning must be one of {', '.join(map(repr, CONDITIONING))}, got {conditioning!r}")
    if image_size % 2 ** (num_scales - 1):
        raise ValueError(f"image_size {image_size} must be divisible by 2^(num_scales-1) = {2 ** (num_scales - 1)}")


def check_size(model, height: int, width: int) -> None:
    m = model.size_multiple
    if height < 1 or width < 1 or height % m or width % m:
        raise ValueError(f"height and width must be positive multiples of {m} for a {model.num_scales}-scale "
                         f"model, got {height}x{width}; crop or resize the image")

def check_images(model, x: Tensor, unit_interval: bool = True) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"expected a tensor of images (B, C, H, W), got {type(x).__name__}")
    if x.dim() != 4 or x.shape[1] != model.in_channels:
        raise ValueError(f"expected images of shape (B, {model.in_channels}, H, W), got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"expected floating-point images in [0, 1], got dtype {x.dtype}; divide uint8 data by 255")
    check_size(model, x.shape[2], x.shape[3])
    if not torch.isfinite(x).all():
        raise ValueError("images contain NaN or infinite values")
    if not x.numel():
        return
    if unit_interval and (x.min() < 0 or x.max() > 1):
        raise ValueError(f"image values must lie in [0, 1], got [{x.min().item():.4g}, {x.max().item():.4g}]")
    low, high = model.preprocess.domain
    if x.min() <= low or x.max() >= high:
        raise ValueError(f"values must lie in ({low:.4g}, {high:.4g}), the domain of the logit preprocessing "
                         f"(images in [0, 1]), got [{x.min().item():.4g}, {x.max().item():.4g}]")

def labels(model, y, batch: int) -> Tensor | None:
    if model.num_classes is None:
        if y is not None:
            raise ValueError("this model is not class-conditional: do not pass y")
        return None
    if y is None:
        raise ValueError(f"this model is class-conditional ({model.num_classes} classes): pass labels y")
    device = next(model.parameters()).device
    y = torch.as_tensor(y, device=device).long()
    if y.dim() == 0:
        y = y.expand(batch)
    if y.shape != (batch,):
        raise ValueError(f"labels y must be an int or have shape ({batch},), got {tuple(y.shape)}")
    if y.numel() and (y.min() < 0 or y.max() >= model.num_classes):
        raise ValueError(f"labels must lie in 0..{model.num_classes - 1}, got {y.min().item()}..{y.max().item()}")
    return y


def check_dtype(model) -> None:
    dtype = next(model.parameters()).dtype
    if dtype not in (torch.float32, torch.float64):
        raise TypeError(
            f"the model's parameters are {dtype}: the flow's log-determinants and likelihoods are not "
            f"reliable in half precision (on MNIST, bfloat16 reads 0.3 bits/dim off and decode(encode(x)) "
            f"is off by 0.15). Call model.float(); for faster convolutions use "
            f"model.set_autocast(torch.bfloat16), which keeps the flow's arithmetic in float32.")


def check_training_batch(model, x: Tensor) -> None:
    h, w = (s // model.size_multiple for s in x.shape[2:])
    if x.shape[0] * h * w < 2:
        raise ValueError(
            f"in training mode the batch norms normalize with batch statistics, which need more than one "
            f"value per channel; a batch of {x.shape[0]} image(s) of {x.shape[2]}x{x.shape[3]} leaves "
            f"{h}x{w} at the coarsest scale. Use a batch of at least 2, larger images or fewer scales, "
            f"or call model.eval() (log_prob, encode and nll_map always evaluate the fixed bijection).")


def check_latents(model, latents: Sequence[Tensor]) -> list[Tensor]:
    latents = list(latents)
    if len(latents) != model.num_scales:
        raise ValueError(f"expected {model.num_scales} latent tensors (one per scale), got {len(latents)}")
    last = latents[-1]
    if not isinstance(last, Tensor) or last.dim() != 4:
        raise ValueError(f"latents must be (B, C, H, W) tensors, got {getattr(last, 'shape', type(last))}")
    expected = model.latent_shapes(last.shape[2] * model.size_multiple, last.shape[3] * model.size_multiple)
    for i, (z, shape) in enumerate(zip(latents, expected)):
        if tuple(z.shape[1:]) != shape or z.shape[0] != last.shape[0]:
            raise ValueError(f"latent {i} has shape {tuple(z.shape)}, expected (B, {', '.join(map(str, shape))}) "
                             f"with the same B for every scale")
    return latents
