"""Looking inside a flow, tensors in and tensors out: samples at a temperature (one per scale
too), latent interpolation and great-circle walks, per-scale reconstruction and scale mixing,
per-pixel bits and the bits/dim breakdown, the class-conditional model as a classifier
(posterior, calibration), likelihood-based out-of-distribution scores (AUROC), and completion of
erased pixels (maximizing log p, or sampling them). Images are (N, C, H, W) in [0, 1]."""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .model import RealNVP
from .nets import input_gradients_only
from .preprocess import bits_per_dim


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
    frames = [model.decode([z[i:i + batch] for z in latents], _label_batch(y, min(batch, n - i)))
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
def mix_scales(model: RealNVP, a: Tensor, b: Tensor, y=None) -> Tensor:
    """Scale mixing: decode the latents of the k coarsest scales of image `a` with the finer
    scales' latents of image `b`, for k = num_scales (all from a: a itself) down to 0 (all from
    b: b itself). a and b are (1, C, H, W) of the same size; with a class-conditional model `y`
    (one label) conditions all three. Returns (num_scales + 1, C, H, W), k = num_scales first,
    not clamped (encode accepts the result again, so its coarse latents can be checked)."""
    if a.shape != b.shape or a.shape[0] != 1:
        raise ValueError(f"expected two images of the same shape (1, C, H, W), got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    ys = None if y is None else _label_batch(y, 1)
    za, zb = model.encode(a, ys), model.encode(b, ys)
    n = model.num_scales
    rows = [[za[i] if i >= n - keep else zb[i] for i in range(n)] for keep in range(n, -1, -1)]
    latents = [torch.cat([row[i] for row in rows]) for i in range(n)]
    return model.decode(latents, _label_batch(y, n + 1))


def mix_scales_captions(num_scales: int) -> list[str]:
    """Short captions of the rows of `mix_scales`, k = num_scales first: "all from A",
    "k coarse A + (num_scales - k) fine B", ..., "all from B"."""
    return ["all from A" if k == num_scales else "all from B" if k == 0 else
            f"{k} coarse A + {num_scales - k} fine B" for k in range(num_scales, -1, -1)]


@torch.no_grad()
def round_trip_error(model: RealNVP, x: Tensor, y=None) -> float:
    return (model.decode(model.encode(x, y), y) - x).abs().max().item()


# ----------------------------------------------------------------------------- likelihood
def bits_map(model: RealNVP, x: Tensor, y=None) -> Tensor:
    """(B, H, W): each pixel's share of the image's bits/dim; its mean over pixels is the
    image's bits/dim exactly (nll_map per pixel, with the discretization term, in bits per
    channel value)."""
    return _nll_to_bits(model, model.nll_map(x, y), x.shape[1])


def _nll_to_bits(model: RealNVP, nll: Tensor, channels: int) -> Tensor:
    return (nll + channels * math.log(model.num_levels)) / (channels * math.log(2))


def breakdown_bits_per_dim(model: RealNVP, x: Tensor, y=None) -> dict[str, float]:
    """The bits/dim of one image split into the terms of the log-likelihood (they sum to the total)."""
    return _breakdown(model, model.log_prob_terms(x, y), x[0].numel())


def _breakdown(model: RealNVP, terms: dict[str, Tensor], d: int) -> dict[str, float]:
    terms = dict(terms)
    out = {"prior (Gaussian latents)": -terms.pop("prior")[0].item() / (d * math.log(2))}
    for name, value in terms.items():
        label = "preprocessing (logit)" if name == "preprocessing" else f"log-det, {name}"
        out[label] = -value[0].item() / (d * math.log(2))
    out[f"dequantization ({model.num_levels} levels)"] = math.log2(model.num_levels)
    return out


@torch.no_grad()
def likelihood_report(model: RealNVP, x: Tensor, y=None) -> tuple[Tensor, dict[str, float], float]:
    """For one image (1, C, H, W), from one pass through the flow: `bits_map` (H, W), the
    `breakdown_bits_per_dim`, and the bits/dim (equal to model.bits_per_dim)."""
    nll, terms = model.nll_map_and_terms(x, y)
    bpd = bits_per_dim(sum(terms.values()), x[0].numel(), model.num_levels)
    return _nll_to_bits(model, nll, x.shape[1])[0], _breakdown(model, terms, x[0].numel()), float(bpd[0])


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


@torch.no_grad()
def class_log_likelihoods_batch(model: RealNVP, x: Tensor, batch: int = 200) -> Tensor:
    """(B, num_classes) log p(x_i | y) in nats for each image of x (B, C, H, W) and each class,
    evaluated `batch` (image, class) pairs at a time."""
    if model.num_classes is None:
        raise ValueError("the model is not class-conditional")
    k = model.num_classes
    pairs = x.repeat_interleave(k, 0)
    labels = torch.arange(k, device=x.device).repeat(x.shape[0])
    out = [model.log_prob(pairs[i:i + batch], labels[i:i + batch]) for i in range(0, len(pairs), batch)]
    return torch.cat(out).reshape(x.shape[0], k)


def class_posteriors(model: RealNVP, x: Tensor) -> Tensor:
    """(B, num_classes) p(y | x_i) by Bayes' rule over the exact likelihoods, uniform prior."""
    return torch.softmax(class_log_likelihoods_batch(model, x).double(), 1)


def expected_calibration_error(probabilities: Tensor, labels: Tensor, bins: int = 15) -> float:
    """Expected calibration error of a classifier: (N, K) class probabilities, (N,) true labels.
    The confidence (largest probability) is binned into `bins` equal bins of (0, 1];
    ECE = sum over bins of (share of the images in the bin) x |accuracy - mean confidence|."""
    probabilities, labels = torch.as_tensor(probabilities).double(), torch.as_tensor(labels).long()
    if probabilities.dim() != 2 or labels.shape != probabilities.shape[:1] or not len(labels):
        raise ValueError(f"expected (N, K) probabilities and (N,) labels, got {tuple(probabilities.shape)} and "
                         f"{tuple(labels.shape)}")
    confidence, guess = probabilities.max(1)
    correct = (guess == labels).double()
    # bin i holds confidences in (i/bins, (i+1)/bins]
    index = (torch.ceil(confidence * bins).long() - 1).clamp(0, bins - 1)
    total = 0.0
    for i in range(bins):
        members = index == i
        if members.any():
            total += members.double().mean().item() * abs(correct[members].mean().item()
                                                           - confidence[members].mean().item())
    return total


# ----------------------------------------------------------------------------- out-of-distribution
@torch.no_grad()
def marginal_log_prob(model: RealNVP, x: Tensor) -> Tensor:
    """(B,) log p(x) in nats: the model's density, or for a class-conditional model the mixture
    log (1/K) sum_y p(x | y) (uniform prior over the K classes) -- the likelihood without a label."""
    if model.num_classes is None:
        return model.log_prob(x)
    return torch.logsumexp(class_log_likelihoods_batch(model, x).double(), 1) - math.log(model.num_classes)


def marginal_bits_per_dim(model: RealNVP, x: Tensor) -> Tensor:
    """(B,) bits/dim of `marginal_log_prob` (pass dequantized images for the usual figure)."""
    d = x[0].numel()
    return (-marginal_log_prob(model, x).double() + d * math.log(model.num_levels)) / (d * math.log(2))


def auroc(scores_in, scores_out) -> float:
    """Area under the ROC curve of telling `scores_out` (positives) from `scores_in` by
    thresholding the score (higher = more out-of-distribution): the probability that a random
    out-of-distribution image scores higher than a random in-distribution one, ties counting
    one half (the Mann-Whitney U statistic over n_in n_out). 1 separates perfectly, 0.5 is
    chance, below 0.5 ranks the wrong way round."""
    s_in = torch.as_tensor(scores_in, dtype=torch.float64).reshape(-1)
    s_out = torch.as_tensor(scores_out, dtype=torch.float64).reshape(-1)
    if not len(s_in) or not len(s_out):
        raise ValueError("both sets of scores must be non-empty")
    if not (torch.isfinite(s_in).all() and torch.isfinite(s_out).all()):
        raise ValueError("scores must be finite")
    both = torch.cat([s_in, s_out])
    values, inverse, counts = torch.unique(both, return_inverse=True, return_counts=True)
    # average rank (1-based) of each distinct value: ties share the mean of their ranks
    ends = torch.cumsum(counts, 0).double()
    mean_rank = ends - (counts.double() - 1) / 2
    rank_sum_out = mean_rank[inverse[len(s_in):]].sum().item()
    n_in, n_out = len(s_in), len(s_out)
    return (rank_sum_out - n_out * (n_out + 1) / 2) / (n_in * n_out)


# ----------------------------------------------------------------------------- completion
def complete(model: RealNVP, x: Tensor, erased: Tensor, steps: int = 50, lr: float = 0.2, seed: int = 0, y=None,
             progress: Callable[[int, int, float], None] | None = None) -> tuple[Tensor, list[float]]:
    """Fill the erased pixels (erased: (1, 1 or C, H, W) bool) by maximizing log p(x) over them.

    The erased values are parametrized as sigmoid(u) so they stay in (0, 1), start from
    uniform noise, and follow Adam on -log p; known pixels never change. Returns the image
    and the bits/dim after each step. Adam moves each logit u by about `lr` per step: on the
    bundled mnist model (lower half of 4 digits erased, mean bits/dim after 30/50/100 steps) lr
    0.05 reaches 23.8/14.7/8.36, lr 0.1 9.07/8.09/7.17, lr 0.2 9.01/7.81/6.94, lr 0.5 19.0/11.2/7.69
    (overshoots); a cosine decay of the rate ended higher."""
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
        with torch.enable_grad(), input_gradients_only():  # also when called under torch.no_grad()
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


class Completions(NamedTuple):
    """Sampled completions: the images (n, C, H, W), their bits/dim (n,) at the completed pixel
    values, each chain's Metropolis acceptance rate after the step-size adaptation (n,), its
    final step size (n,), and the bits/dim of every chain after each Langevin step (steps, n)."""

    images: Tensor
    bits_per_dim: Tensor
    acceptance: Tensor
    step_size: Tensor
    history: Tensor


def _check_count(name: str, value, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


def _check_positive(name: str, value) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number, got {value!r}")


def _completion_setup(x: Tensor, erased: Tensor, n: int, y) -> tuple[Tensor, Tensor, Tensor | None]:
    """The erased mask and the known image repeated for n chains, and the chains' labels."""
    if x.dim() != 4 or x.shape[0] != 1:
        raise ValueError(f"expected one image (1, C, H, W), got {tuple(x.shape)}")
    _check_count("n", n, 1)
    mask = erased.to(x.device).expand_as(x).expand(n, *x.shape[1:])
    if not mask.any():
        raise ValueError("nothing is erased: paint over the part of the image to fill in")
    ys = _label_batch(y, n)
    return mask, x.expand(n, *x.shape[1:]), None if ys is None else ys.to(x.device)


def latent_completions(model: RealNVP, x: Tensor, erased: Tensor, n: int = 4, steps: int = 80,
                       temperature: float = 1.0, seed: int = 0, y=None, sigma: tuple[float, float] = (0.3, 0.03),
                       lr: float = 0.1, progress: Callable[[int, int], None] | None = None) -> Tensor:
    """n completions found in latent space, each from its own random start z ~ N(0, T^2 I):
    Adam on z minimizing ||z||^2 / (2 T^2) + ||known pixels of decode(z) - x||^2 / (2 sigma^2),
    the negative log posterior of z given the known pixels observed with Gaussian noise sigma,
    sigma going geometrically from sigma[0] to sigma[1] (a loose fit first, then a close one).
    The flow's latent space is well conditioned where its pixel space is not, so this finds
    data-like completions in tens of steps; the starts make them differ. Returns (n, C, H, W):
    decode(z) on the erased pixels, x on the known ones (exactly)."""
    mask, known, ys = _completion_setup(x, erased, n, y)
    _check_count("steps", steps, 1)
    _check_positive("temperature", temperature)
    _check_positive("lr", lr)
    generator = torch.Generator().manual_seed(int(seed))
    latents = [(torch.randn((n, *shape), generator=generator, dtype=x.dtype) * temperature).to(x.device)
               .requires_grad_(True) for shape in model.latent_shapes(x.shape[2], x.shape[3])]
    optimizer = torch.optim.Adam(latents, lr=lr)
    observed = (~mask).to(x.dtype)
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad(), input_gradients_only():
            for step in range(steps):
                noise = sigma[0] * (sigma[1] / sigma[0]) ** (step / max(1, steps - 1))
                decoded = model.decode(latents, ys)
                prior = sum((z * z).sum() for z in latents) / (2 * temperature ** 2)
                fit = (((decoded - known) ** 2) * observed).sum() / (2 * noise ** 2)
                grads = torch.autograd.grad(prior + fit, latents)  # the latents only: model parameters untouched
                for z, g in zip(latents, grads):
                    z.grad = g
                optimizer.step()
                if progress is not None:
                    progress(step + 1, steps)
    finally:
        model.train(was_training)
    with torch.no_grad():
        return torch.where(mask, model.decode(latents, ys).clamp(0, 1), known)


def langevin_completions(model: RealNVP, x: Tensor, erased: Tensor, n: int = 4, steps: int = 200,
                         temperature: float = 1.0, step_size: float = 0.05, seed: int = 0, y=None,
                         adapt: float = 0.5, target_acceptance: float = 0.574, start: Tensor | None = None,
                         progress: Callable[[int, int, float], None] | None = None) -> Completions:
    """Sample the erased pixels given the known ones: n independent chains of the
    Metropolis-adjusted Langevin algorithm (MALA) on p(x_erased | x_known)^(1/T^2).

    The erased values are x = sigmoid(u); the chains move u, whose target density is
    p(x(u))^(1/T^2) |dx/du| (the change of variables keeps it a density for x on [0, 1]). Each
    step proposes u' = u + (e^2/2) grad log pi(u) + e noise on the erased pixels and accepts it
    with the Metropolis-Hastings probability, so at T = 1 the stationary distribution is exactly
    the model's conditional (T^2, as for latents drawn from N(0, T^2 I)). Each chain's step size
    e is tuned towards `target_acceptance` during the first `adapt` fraction of the steps
    (Robbins-Monro, decaying gain), then frozen. The chains start from `start` (n or 1 images)
    or from uniform noise drawn from `seed`; known pixels never change. Started from noise the
    chains need many steps (pixel space is badly conditioned): see `sample_completions`."""
    mask, known, ys = _completion_setup(x, erased, n, y)
    _check_count("steps", steps, 1)
    _check_positive("temperature", temperature)
    _check_positive("step_size", step_size)
    generator = torch.Generator().manual_seed(int(seed))

    def draw(fn) -> Tensor:
        return fn(known.shape, generator=generator, dtype=x.dtype).to(x.device)

    d = x[0].numel()
    weight = mask.to(x.dtype)
    power = 1.0 / temperature ** 2
    log_levels = math.log(model.num_levels)

    def target(u: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """log pi(u) (n,), its gradient (zero off the erased pixels), and bits/dim (n,)."""
        u = u.detach().requires_grad_(True)
        filled = torch.where(mask, torch.sigmoid(u), known)
        log_p = model.log_prob(filled, ys)
        log_jacobian = -(F.softplus(u) + F.softplus(-u)) * weight  # log sigmoid(u) (1 - sigmoid(u))
        log_pi = power * log_p + log_jacobian.flatten(1).sum(1)
        (grad,) = torch.autograd.grad(log_pi.sum(), [u])  # the pixels only: model parameters untouched
        bpd = (-log_p.detach().double().cpu() / d + log_levels) / math.log(2)
        return log_pi.detach(), grad * weight, bpd

    if start is None:
        initial = draw(torch.rand).clamp(0.02, 0.98)
    else:  # kept as it is, just inside (0, 1) so that its logit is finite
        initial = start.to(x.device, x.dtype).expand_as(known).clamp(1e-6, 1 - 1e-6)
    u = torch.logit(initial) * weight
    eps = torch.full((n,), float(step_size), dtype=torch.float64)
    adapt_steps = int(round(adapt * steps))
    accepted = torch.zeros(n, dtype=torch.float64)
    history = []
    shape = (n, *[1] * (x.dim() - 1))
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad(), input_gradients_only():  # also when called under torch.no_grad()
            log_pi, grad, bpd = target(u)
            for step in range(steps):
                e = eps.to(x.device, x.dtype).view(shape)
                noise = draw(torch.randn) * weight
                proposal = u + 0.5 * e * e * grad + e * noise
                log_pi_new, grad_new, bpd_new = target(proposal)
                back = u - proposal - 0.5 * e * e * grad_new  # e times the reverse move's noise
                log_q_back = -(back * back).flatten(1).sum(1) / (2 * e.flatten() ** 2)
                log_q_forward = -(noise * noise).flatten(1).sum(1) / 2
                log_alpha = torch.nan_to_num((log_pi_new - log_pi + log_q_back - log_q_forward).double().cpu(),
                                             nan=-math.inf)
                accept = torch.log(torch.rand(n, generator=generator, dtype=torch.float64)) < log_alpha
                here = accept.to(x.device)
                u = torch.where(here.view(shape), proposal, u)
                grad = torch.where(here.view(shape), grad_new, grad)
                log_pi = torch.where(here, log_pi_new, log_pi)
                bpd = torch.where(accept, bpd_new, bpd)
                if step < adapt_steps:
                    eps = eps * torch.exp((log_alpha.clamp(max=0).exp() - target_acceptance) / math.sqrt(step + 1))
                else:
                    accepted += accept.double()
                history.append(bpd)
                if progress is not None:
                    progress(step + 1, steps, float(bpd.mean()))
    finally:
        model.train(was_training)
    with torch.no_grad():
        images = torch.where(mask, torch.sigmoid(u), known).detach()
        final = model.bits_per_dim(images, ys).double().cpu()
    return Completions(images, final, accepted / max(1, steps - adapt_steps), eps, torch.stack(history))


def sample_completions(model: RealNVP, x: Tensor, erased: Tensor, n: int = 4, steps: int = 80,
                       mcmc_steps: int = 30, temperature: float = 1.0, seed: int = 0, y=None,
                       progress: Callable[[int, int, str], None] | None = None) -> Completions:
    """n completions of the erased pixels that look like the data, each a draw that differs
    from the others: `latent_completions` (each chain from its own random latent, `steps`
    steps) brings every chain to a data-like completion, then `langevin_completions`
    (`mcmc_steps` Metropolis-adjusted Langevin steps on the erased pixels, target
    p(x_erased | x_known)^(1/T^2)) samples around it. Known pixels never change. x is
    (1, C, H, W) in [0, 1], erased (1, 1 or C, H, W) bool; progress(step, total, phase)."""
    _check_count("mcmc_steps", mcmc_steps, 0)
    total = steps + mcmc_steps

    def latent_progress(step, _):
        if progress is not None:
            progress(step, total, "latent search")

    def mcmc_progress(step, _, bpd):
        if progress is not None:
            progress(steps + step, total, f"Langevin, bits/dim {bpd:.3f}")

    start = latent_completions(model, x, erased, n, steps, temperature, seed, y, progress=latent_progress)
    if mcmc_steps == 0:
        with torch.no_grad():
            bpd = model.bits_per_dim(start, _label_batch(y, n)).double().cpu()
        empty = torch.zeros(n, dtype=torch.float64)
        return Completions(start, bpd, empty, empty, torch.empty(0, n, dtype=torch.float64))
    return langevin_completions(model, x, erased, n, mcmc_steps, temperature, seed=seed + 1, y=y, start=start,
                                progress=mcmc_progress)


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
