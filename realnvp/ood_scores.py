"""Likelihood-based out-of-distribution scores: the density without a label (the mixture over
the classes of a class-conditional model), its bits/dim, and the AUROC of telling two sets of
scores apart."""
from __future__ import annotations

import math

import torch
from torch import Tensor

from .classes import class_log_likelihoods_batch
from .model import RealNVP
from .preprocess import bits_per_dim


@torch.no_grad()
def marginal_log_prob(model: RealNVP, x: Tensor) -> Tensor:
    """(B,) log p(x) in nats: the model's density, or for a class-conditional model the mixture
    log (1/K) sum_y p(x | y) (uniform prior over the K classes) -- the likelihood without a label."""
    if model.num_classes is None:
        return model.log_prob(x)
    return torch.logsumexp(class_log_likelihoods_batch(model, x).double(), 1) - math.log(model.num_classes)


def marginal_bits_per_dim(model: RealNVP, x: Tensor, log_q: Tensor | None = None) -> Tensor:
    """(B,) bits/dim of `marginal_log_prob` (pass dequantized images for the usual figure; with a
    learned dequantizer, also their per-element `log_q` from `model.dequantize_with_log_q`: the
    bound -log p + log q, as `model.discrete_bits_per_dim`)."""
    log_p = marginal_log_prob(model, x).double()
    if log_q is not None:
        log_p = log_p - log_q.flatten(1).sum(1).double().to(log_p.device)
    return bits_per_dim(log_p, x[0].numel(), model.num_levels)


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
