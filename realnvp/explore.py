"""What the app shows, as plain functions: sample grids, latent interpolation, per-scale
reconstruction, likelihood heatmaps and breakdowns, and completion of erased pixels."""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import matplotlib
import numpy as np
import torch
from torch import Tensor
from torchvision.utils import make_grid

from .model import RealNVP

matplotlib.use("Agg")


# ----------------------------------------------------------------------------- grids
def grid_image(images: Tensor, nrow: int, padding: int = 2) -> np.ndarray:
    """(N, C, H, W) in [0, 1] -> one (H', W', 3) uint8 picture (torchvision's make_grid)."""
    grid = make_grid(images.detach().float().cpu().clamp(0, 1), nrow=max(1, nrow), padding=padding, pad_value=1.0)
    return (grid * 255).round().byte().numpy().transpose(1, 2, 0)


@torch.no_grad()
def sample_grid(model: RealNVP, n: int, temperature: float | Sequence[float], seed: int, y=None) -> Tensor:
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


def colorize(values: np.ndarray, vmin: float, vmax: float, cmap: str = "magma") -> np.ndarray:
    """(H, W) floats -> (H, W, 3) uint8 through a matplotlib colour map."""
    norm = np.clip((values - vmin) / max(vmax - vmin, 1e-12), 0, 1)
    return (matplotlib.colormaps[cmap](norm)[..., :3] * 255).round().astype(np.uint8)


def overlay(image: np.ndarray, heat: np.ndarray, alpha: float = 0.6) -> np.ndarray:
    return (alpha * heat.astype(np.float64) + (1 - alpha) * image.astype(np.float64)).round().astype(np.uint8)


def heatmap_figure(image: np.ndarray, bits: np.ndarray, title: str, cmap: str = "magma", alpha: float = 0.6):
    """A matplotlib figure: the image, and the per-pixel bits overlaid with a colour bar."""
    fig = new_figure(8, 4)
    axes = fig.subplots(1, 2)
    axes[0].imshow(image, interpolation="nearest")
    axes[0].set_title("image")
    vmin, vmax = float(np.percentile(bits, 1)), float(np.percentile(bits, 99))
    axes[1].imshow(image, interpolation="nearest")
    shown = axes[1].imshow(bits, cmap=cmap, alpha=alpha, vmin=vmin, vmax=max(vmax, vmin + 1e-6), interpolation="nearest")
    axes[1].set_title(title)
    for ax in axes:
        ax.axis("off")
    fig.colorbar(shown, ax=axes[1], fraction=0.046, pad=0.04, label="bits per value at the pixel")
    fig.tight_layout()
    return fig


def new_figure(width: float, height: float, dpi: int = 100):
    """A matplotlib Figure drawn by Agg, outside pyplot's global state (pyplot is not thread-safe,
    and the app serves several requests at once)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def figure_to_image(fig) -> np.ndarray:
    """A figure -> (H, W, 3) uint8 RGB; pyplot figures are closed afterwards."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    array = np.asarray(canvas.buffer_rgba())[..., :3].copy()
    if getattr(fig, "number", None) is not None:  # made by pyplot: release it from pyplot's registry
        import matplotlib.pyplot as plt

        plt.close(fig)
    return array


def histogram_figure(reference_bpd: np.ndarray, value: float, label: str = "this image"):
    fig = new_figure(6, 3)
    ax = fig.subplots()
    ax.hist(reference_bpd, bins=40, color="#7f8c8d", alpha=0.8, label=f"test set ({len(reference_bpd)} images)")
    ax.axvline(value, color="#e74c3c", linewidth=2.5, label=f"{label}: {value:.3f}")
    ax.set_xlabel("bits/dim (lower = more likely)")
    ax.set_ylabel("images")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig


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


def mask_preview(x: Tensor, mask: Tensor, color: Sequence[int] = (230, 60, 60), alpha: float = 0.65) -> np.ndarray:
    """(H, W, 3) uint8: the image (1, C, H, W) with the masked pixels tinted."""
    image = (x[0].detach().float().cpu().clamp(0, 1) * 255).round().byte().numpy().transpose(1, 2, 0)
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    tint = np.empty_like(image)
    tint[...] = np.asarray(color, dtype=np.uint8)
    where = mask[0, 0].cpu().numpy()[:, :, None]
    return np.where(where, overlay(image, tint, alpha), image)


def curve_figure(values: Sequence[float], xlabel: str = "step", ylabel: str = "bits/dim", title: str = ""):
    fig = new_figure(6, 3)
    ax = fig.subplots()
    ax.plot(range(1, len(values) + 1), values, color="#2c7fb8", linewidth=2)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
