"""The class-conditional model as a classifier: log p(x | y) for every class, the posterior by
Bayes' rule with a uniform prior, and the expected calibration error."""
from __future__ import annotations

import torch
from torch import Tensor

from .model import RealNVP


@torch.no_grad()
def class_log_likelihoods(model: RealNVP, x: Tensor) -> Tensor:
    """(num_classes,) log p(x | y) in nats of one image (1, C, H, W) under each class of a
    class-conditional model; its argmax is the model's guess of the class."""
    return class_log_likelihoods_batch(model, x)[0]


def class_posterior(model: RealNVP, x: Tensor) -> Tensor:
    """(num_classes,) p(y | x) of one image (1, C, H, W) under a uniform prior over the classes."""
    return torch.softmax(class_log_likelihoods(model, x).double(), 0)


@torch.no_grad()
def class_log_likelihoods_batch(model: RealNVP, x: Tensor, batch: int = 200) -> Tensor:
    """(B, num_classes) log p(x_i | y) in nats for each image of x (B, C, H, W) and each class
    (`RealNVP.log_prob_every_class`, `batch` images at a time, or `batch` // num_classes where
    each class costs a pass of its own)."""
    if model.num_classes is None:
        raise ValueError("the model is not class-conditional")
    # about `batch` (image, class) pairs per pass where each class needs a pass of its own
    images = batch if model.conditioning == "latent_means" else max(1, batch // model.num_classes)
    return torch.cat([model.log_prob_every_class(x[i:i + images]) for i in range(0, len(x), images)])


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
