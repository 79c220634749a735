"""Evaluation: exact bits/dim per image and per split, always in float32.

Every reported figure (validation and test bits/dim, the choice of `best/`, train.export's
reference figures) comes from here: evaluation mode (batch-norm running averages), a fixed
dequantization noise (EVAL_NOISE_SEED), true labels for class-conditional models, and no
mixed precision: the model's autocast setting is switched off for the duration and restored.
"""
from __future__ import annotations

import contextlib

import torch
from torch.utils.data import DataLoader

from realnvp import RealNVP

EVAL_NOISE_SEED = 1234  # fixed dequantization noise of every evaluation (and of train.export)


def dequantization_note(model: RealNVP, seed: int = EVAL_NOISE_SEED) -> str:
    """How a figure's noise was drawn, for the files that store figures (reference.json, ood.json)."""
    if model.dequantizer is None:
        return f"uniform noise, torch seed {seed}"
    return (f"learned noise q(u | x) (variational dequantization, Flow++ section 3.1), torch seed {seed}; "
            "bits/dim are the bound -log p(x + u) + log q(u | x) of one draw")


def autocast_setting(model: RealNVP) -> torch.dtype | None:
    """The dtype `model.set_autocast` was last given (None: off)."""
    return model.autocast_dtype


@contextlib.contextmanager
def full_precision(model: RealNVP):
    """No autocast inside; the model's setting is restored afterwards."""
    previous = autocast_setting(model)
    model.set_autocast(None)
    try:
        yield model
    finally:
        model.set_autocast(previous)


@torch.no_grad()
def per_image_bpd(model: RealNVP, dataset, device: torch.device, batch_size: int = 200,
                  seed: int = EVAL_NOISE_SEED, workers: int = 0) -> list[float]:
    """Exact bits/dim of each image of `dataset`, in order, with fixed dequantization noise;
    class-conditional models are scored with the true labels. Evaluation mode and float32;
    the module's mode and autocast setting are restored afterwards."""
    was_training = model.training
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    conditional = model.num_classes is not None
    out: list[float] = []
    try:
        with full_precision(model):
            for x, y in DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=workers):
                # uniform noise drawn in float64, as the bundled models' figures were (q's in the model's dtype)
                out += model.discrete_bits_per_dim(x.double(), y.to(device) if conditional else None,
                                                   generator).double().cpu().tolist()
    finally:
        model.train(was_training)
    return out


def evaluate_bpd(model: RealNVP, dataset, device: torch.device, batch_size: int, seed: int = EVAL_NOISE_SEED,
                 workers: int = 0) -> float:
    """Exact average bits/dim over the whole split."""
    values = per_image_bpd(model, dataset, device, batch_size, seed, workers)
    return sum(values) / len(values)
