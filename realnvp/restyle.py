"""Restyle: the same hand, every digit. A class-conditional flow encodes an image under its
class, and the latents decode under any class:

    z = encode(x | source),    x_y = decode(z | y)    for every class y

Under the source class x_y is x again (the flow is a bijection for each label). The model sees
the label only through an embedding added to the first hidden features of each coupling network
(realnvp/nets.py), so whatever the latents hold besides the class (stroke, slant, size) may
survive the change of label, or may not: `style_survival` measures it, with stroke moments
(realnvp.stroke_moments) against a baseline of random real digits, and how often the model's own
Bayes classifier names the new class.

The source class is the one given, or, when none is, the model's Bayes-classifier choice: the
argmax of p(y | x) over exact likelihoods with a uniform prior (realnvp.classes). Log-likelihoods
in nats; bits/dim only in the results.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from . import classes, stroke_moments
from .model import RealNVP


@dataclass
class Restyled:
    """One image restyled into every class. `images[y]` is decode(encode(x | source) | y), clamped
    to [0, 1] ((num_classes, C, H, W), the model's dtype); `images[source]` is x again.
    `bits_per_dim[y]` (num_classes,) is the exact bits/dim of `images[y]` under class y
    (`model.bits_per_dim(images[y], y)`: the density of the image shown, as a continuous point).
    `posterior` (num_classes,) float64 p(y | x) of the image, uniform prior, where it was computed
    (always when the source class was chosen), else None. `latents`: z per scale, batch 1."""

    source: int
    given: bool
    posterior: Tensor | None
    images: Tensor
    bits_per_dim: Tensor
    latents: list[Tensor]


def check_conditional(model: RealNVP) -> int:
    """The model's number of classes; a ValueError for an unconditional model."""
    if model.num_classes is None:
        raise ValueError("restyling needs a class-conditional model (num_classes set): an unconditional one has no "
                         "class to change; use one trained with --num-classes (e.g. assets/models/mnist-cond)")
    return model.num_classes


@torch.no_grad()
def decode_under_every_class(model: RealNVP, latents: list[Tensor]) -> Tensor:
    """(B, num_classes, C, H, W): each of the B latents decoded under every class, clamped to [0, 1]."""
    k = check_conditional(model)
    batch = latents[0].shape[0]
    repeated = [z.repeat_interleave(k, 0) for z in latents]
    labels = torch.arange(k, device=latents[0].device).repeat(batch)
    images = model.decode(repeated, labels).clamp(0, 1)
    return images.reshape(batch, k, *images.shape[1:])


@torch.no_grad()
def restyle_batch(model: RealNVP, x: Tensor, labels: Tensor) -> Tensor:
    """(B, num_classes, C, H, W): each image of x (B, C, H, W) encoded under its label (B,) and
    decoded under every class."""
    check_conditional(model)
    return decode_under_every_class(model, model.encode(x, labels))


@torch.no_grad()
def restyle(model: RealNVP, x: Tensor, label: int | None = None, with_posterior: bool = False) -> Restyled:
    """Encode one image x (1, C, H, W) under `label` (None: the class the model's Bayes classifier
    chooses) and decode its latents under every class, with each result's bits/dim under its class.
    `with_posterior`: compute p(y | x) even when the label is given."""
    k = check_conditional(model)
    if x.dim() != 4 or x.shape[0] != 1:
        raise ValueError(f"expected one image of shape (1, C, H, W), got {tuple(x.shape)}")
    posterior = classes.class_posterior(model, x) if label is None or with_posterior else None
    if label is None:
        source, given = int(posterior.argmax()), False
    else:
        if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label < k:
            raise ValueError(f"label must be a class number 0..{k - 1} or None (the classifier's choice), "
                             f"got {label!r}")
        source, given = label, True
    latents = model.encode(x, torch.tensor([source], device=x.device))
    images = decode_under_every_class(model, latents)[0]
    bits = model.bits_per_dim(images, torch.arange(k, device=x.device))
    return Restyled(source, given, posterior, images, bits, latents)


# ----------------------------------------------------------------------------- does the style survive?
@dataclass
class StyleRow:
    """The restyled images of one target class (`target` None: all of them). `count`: how many
    (sources of the other classes); `recognised`: the share the model's Bayes classifier assigns
    to the target class; `kept`: the share it still assigns to the source's class. The
    correlations (Pearson, within classes, see `style_survival`) pair each source's slant or
    thickness with that of its restyled version, and in the baseline with that of a random real
    image of the target class."""

    target: int | None
    count: int
    recognised: float
    kept: float
    slant: float
    slant_baseline: float
    thickness: float
    thickness_baseline: float


@dataclass
class StyleSurvival:
    rows: list[StyleRow]  # one per target class
    overall: StyleRow
    num_images: int  # source images


def pearson(a: Tensor, b: Tensor) -> float:
    """Pearson correlation of the pairs where both are finite (NaN with fewer than 3 or no spread)."""
    a, b = a.double().flatten(), b.double().flatten()
    keep = torch.isfinite(a) & torch.isfinite(b)
    a, b = a[keep], b[keep]
    if a.numel() < 3:
        return math.nan
    a, b = a - a.mean(), b - b.mean()
    norm = float(a.norm() * b.norm())
    return float((a * b).sum()) / norm if norm > 0 else math.nan


def centred(values: Tensor, groups: Tensor) -> Tensor:
    """values minus the mean of the finite values of their group (NaN stays NaN)."""
    out = values.double().clone()
    for group in groups.unique():
        members = groups == group
        finite = members & torch.isfinite(out)
        if finite.any():
            out[members] -= out[finite].mean()
    return out


def real_of_class(labels: Tensor, num_classes: int, seed: int = 0) -> Tensor:
    """(N, num_classes) long: for each image and each class t, the index of an image of class t
    drawn at random (from `seed`); -1 where `labels` has no image of class t."""
    labels = labels.cpu()
    generator = torch.Generator().manual_seed(seed)
    picks = torch.full((len(labels), num_classes), -1, dtype=torch.long)
    for t in range(num_classes):
        members = (labels == t).nonzero().flatten()
        if len(members):
            picks[:, t] = members[torch.randint(len(members), (len(labels),), generator=generator)]
    return picks


@torch.no_grad()
def style_survival(model: RealNVP, images: Tensor, labels: Tensor, batch_size: int = 20, seed: int = 0,
                   progress: Callable[[int, int], None] | None = None) -> StyleSurvival:
    """Restyle each labelled image (N, C, H, W) into every other class and measure what survives.

    - Recognition: the restyled image, rounded to the model's levels as a saved 8-bit image would be
      and dequantized (uniform noise from `seed`) like a test image, is classified by the model's
      own Bayes classifier (argmax of p(y | x), uniform prior); the share named the target class,
      and the share still named the source's class.
    - Style survival: over the pairs (source i, target t != label i), the correlation of the
      source's slant (or thickness) with its restyled version's. The baseline pairs the same
      source with a real image of class t drawn at random from `images` (`real_of_class`): the
      correlation when nothing of the source's hand is kept, about 0. Both are computed within
      classes: every value is first centred on the mean of its (source class, target class) cell,
      so what is compared is an individual hand's departure from its class's average (1s are
      thinner than 8s whoever writes them), and a restyle that kept the image unchanged would
      score exactly 1.

    Encodes under the given labels. `progress(done, total)` after each batch of sources."""
    k = check_conditional(model)
    labels = labels.long().to(images.device)
    n = images.shape[0]
    if labels.shape != (n,) or not n or labels.min() < 0 or labels.max() >= k:
        raise ValueError(f"expected one label in 0..{k - 1} per image, got {tuple(labels.shape)} for {n} images")
    cpu_labels = labels.cpu()
    of_source = {"slant": stroke_moments.slant(images).cpu(), "thickness": stroke_moments.thickness(images).cpu()}
    of_restyled = {name: torch.full((n, k), math.nan, dtype=torch.float64) for name in of_source}
    others = ~torch.eye(k, dtype=torch.bool)[cpu_labels]  # (N, K): the targets of each source
    guess = torch.full((n, k), -1, dtype=torch.long)
    noise = torch.Generator(device=images.device).manual_seed(seed)
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        restyled = restyle_batch(model, images[start:stop], labels[start:stop]).flatten(0, 1)  # (b K, C, H, W)
        of_restyled["slant"][start:stop] = stroke_moments.slant(restyled).cpu().reshape(-1, k)
        of_restyled["thickness"][start:stop] = stroke_moments.thickness(restyled).cpu().reshape(-1, k)
        wanted = others[start:stop].flatten()
        candidates = model.dequantize(restyled[wanted.to(restyled.device)], generator=noise)
        block = guess[start:stop].flatten()
        block[wanted] = classes.class_log_likelihoods_batch(model, candidates).argmax(1).cpu()
        guess[start:stop] = block.reshape(-1, k)
        if progress is not None:
            progress(stop, n)
    # every pair (i, t), t != label i, flattened; its cell is (label i, t)
    target = torch.arange(k).expand(n, k)[others]
    source_class = cpu_labels[:, None].expand(n, k)[others]
    cell = (cpu_labels[:, None] * k + torch.arange(k))[others]
    real = real_of_class(cpu_labels, k, seed)[others]
    guess = guess[others]
    nan = torch.tensor(math.nan, dtype=torch.float64)
    pairs = {}
    for name, values in of_source.items():
        pairs[name] = (centred(values[:, None].expand(n, k)[others], cell),
                       centred(of_restyled[name][others], cell),
                       centred(torch.where(real >= 0, values[real.clamp_min(0)], nan), cell))

    def row(members: Tensor, t: int | None) -> StyleRow:
        figures = {}
        for name, (source, restyled, baseline) in pairs.items():
            figures[name] = pearson(source[members], restyled[members])
            figures[name + "_baseline"] = pearson(source[members], baseline[members])
        count = int(members.sum())
        recognised, kept = (float((guess[members] == of[members]).double().mean()) if count else math.nan
                            for of in (target, source_class))
        return StyleRow(t, count, recognised, kept, **figures)

    rows = [row(target == t, t) for t in range(k)]
    return StyleSurvival(rows, row(torch.ones_like(target, dtype=torch.bool), None), n)
