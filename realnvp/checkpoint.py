"""Strict, pickle-free checkpoint loading: config.json + model.safetensors."""
from __future__ import annotations

import os

import torch
from safetensors import SafetensorError, safe_open
from torch import nn


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded exactly: the message names the file and the problem."""


def _describe(keys: list[str], limit: int = 5) -> str:
    shown = ", ".join(sorted(keys)[:limit])
    return shown + (f" and {len(keys) - limit} more" if len(keys) > limit else "")


def read_safetensors(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"{path}: file not found; a checkpoint directory needs config.json and model.safetensors")
    try:
        with safe_open(path, framework="pt", device="cpu") as f:
            return {key: f.get_tensor(key) for key in f.keys()}
    except (SafetensorError, OSError, RuntimeError, ValueError) as error:
        raise CheckpointError(
            f"{path}: not a readable safetensors file ({error}); it is damaged or truncated. "
            f"Re-download or re-save the checkpoint."
        ) from error


def load_state_strict(model: nn.Module, path: str | os.PathLike) -> None:
    """Load every tensor of `model` from `path`: nothing missing, nothing extra, same shapes,
    finite values. Raises CheckpointError otherwise; the model is left untouched on error."""
    path = os.fspath(path)
    tensors = read_safetensors(path)
    upgrade = getattr(model, "upgrade_state_dict", None)
    if upgrade is not None:  # tensor names of checkpoints written by earlier versions
        tensors = upgrade(tensors)
    expected = model.state_dict()
    problems = []
    missing = [k for k in expected if k not in tensors]
    extra = [k for k in tensors if k not in expected]
    if missing:
        problems.append(f"missing tensors: {_describe(missing)}")
    if extra:
        problems.append(f"unexpected tensors: {_describe(extra)}")
    misshapen = [f"{k} is {tuple(tensors[k].shape)}, expected {tuple(v.shape)}"
                 for k, v in expected.items() if k in tensors and tensors[k].shape != v.shape]
    if misshapen:
        problems.append("wrong shapes: " + "; ".join(misshapen[:5]))
    non_finite = [k for k, t in tensors.items() if t.is_floating_point() and not torch.isfinite(t).all()]
    if non_finite:
        problems.append(f"non-finite values in: {_describe(non_finite)}")
    if problems:
        raise CheckpointError(
            f"{path}: does not match the model built from config.json: " + " | ".join(problems)
            + ". The weights and config.json come from different models, or the file is damaged."
        )
    model.load_state_dict(tensors, strict=True)
