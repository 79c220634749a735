"""Where the bits go: each pixel's share of an image's bits/dim, and the bits/dim split into the
terms of the log-likelihood (preprocessing, each scale's log-det, the prior, the dequantization)."""
from __future__ import annotations

import math

import torch
from torch import Tensor

from .model import RealNVP
from .preprocess import bits_per_dim


def bits_map(model: RealNVP, x: Tensor, y=None) -> Tensor:
    """(B, H, W): each pixel's share of the image's bits/dim; its mean over pixels is the
    image's bits/dim exactly (nll_map per pixel, with the discretization term, in bits per
    channel value)."""
    return _nll_to_bits(model, model.nll_map(x, y), x.shape[1])


def _nll_to_bits(model: RealNVP, nll: Tensor, channels: int) -> Tensor:
    return bits_per_dim(-nll, channels, model.num_levels)


def breakdown_bits_per_dim(model: RealNVP, x: Tensor, y=None) -> dict[str, float]:
    """The bits/dim of one image split into the terms of the log-likelihood (they sum to the total)."""
    return _breakdown(model, model.log_prob_terms(x, y), x[0].numel())


def _breakdown(model: RealNVP, terms: dict[str, Tensor], d: int) -> dict[str, float]:
    terms = dict(terms)
    # each term in bits/dim alone: bits_per_dim with one level adds no discretization term
    out = {"prior (Gaussian latents)": float(bits_per_dim(terms.pop("prior")[0].item(), d, 1))}
    for name, value in terms.items():
        label = {"preprocessing": "preprocessing (logit)", LEARNED_NOISE: "learned dequantization noise (log q)"
                 }.get(name, f"log-det, {name}")
        out[label] = float(bits_per_dim(value[0].item(), d, 1))
    out[f"dequantization ({model.num_levels} levels)"] = math.log2(model.num_levels)
    return out


LEARNED_NOISE = "learned noise"


@torch.no_grad()
def likelihood_report(model: RealNVP, x: Tensor, y=None, log_q: Tensor | None = None
                      ) -> tuple[Tensor, dict[str, float], float]:
    """For one image (1, C, H, W), from one pass through the flow: `bits_map` (H, W), the
    `breakdown_bits_per_dim`, and the bits/dim (equal to model.bits_per_dim). With `log_q`, the
    per-element log q(u | k) of x's learned dequantization noise (`RealNVP.dequantize_with_log_q`),
    each pixel's bits and the total include it: the bound -log p + log q (model.discrete_bits_per_dim)."""
    nll, terms = model.nll_map_and_terms(x, y)
    if log_q is not None:
        nll = nll + log_q.sum(1)
        terms = {**terms, LEARNED_NOISE: -log_q.flatten(1).sum(1)}
    bpd = bits_per_dim(sum(terms.values()), x[0].numel(), model.num_levels)
    return _nll_to_bits(model, nll, x.shape[1])[0], _breakdown(model, terms, x[0].numel()), float(bpd[0])
