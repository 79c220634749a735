"""A model registry of tiny random 8x8 models, for tests of the app's handlers and page that need
neither the bundled models nor a launched app (tests/explorer/conftest.py: `tiny_registry`,
`use_tiny_registry`):

- `grey` (the default): one channel, unconditional, with a reference.json (three test images) and
  an ood.json against `other` (four images each), and four example images of two "classes";
- `cond`: one channel, three classes, with a classifier's figures in its reference.json;
- `rgb`: three channels, with a learned dequantizer (random, so its log q is not zero), nothing beside
  its weights.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from helpers import tiny_model

SIZE = 8
TEST_BPD = [5.0, 6.0, 7.0]
CLASSIFIER = {"accuracy": 0.75, "ece": 0.05, "ece_bins": 15, "num_images": 12}
OOD = {
    "in": {"dataset": "toy", "split": "test", "images": "toy test split", "num_images": 4, "bpd": [4.0, 4.5, 5.0, 5.5],
           "codec_bpd": {"png": [6.0, 6.0, 6.0, 6.0], "webp": [5.0, 5.0, 5.0, 5.0]}},
    "out": [{"dataset": "other", "split": "test", "images": "other test split", "num_images": 4,
             "bpd": [6.0, 7.0, 8.0, 9.0], "codec_bpd": {"png": [7.0, 7.0, 7.0, 7.0], "webp": [6.5, 6.5, 6.5, 6.5]},
             "auroc": {"bpd": 1.0, "png": 0.875, "webp": 0.75}}],
}
# the modules that look the app's registry up by name (from ..registry import app_registry)
USERS = ("explorer.handlers.common", "explorer.handlers.models", "explorer.layout.page", "explorer.layout.controls",
         "explorer.space")


def example(path: Path, seed: int, channels: int = 1) -> Path:
    """A random SIZE x SIZE 8-bit image (grey, or RGB) as PNG."""
    shape = (SIZE, SIZE) if channels == 1 else (SIZE, SIZE, 3)
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)).save(path)
    return path


def build_registry(root: Path):
    from explorer.registry import ModelRegistry

    models, examples = root / "models", root / "examples"
    for seed, (name, channels, classes) in enumerate((("grey", 1, None), ("cond", 1, 3), ("rgb", 3, None))):
        learned = {"dequantizer_hidden": 4} if name == "rgb" else {}
        tiny_model(channels, SIZE, 2, dtype=torch.float32, seed=seed, num_classes=classes, **learned).save_pretrained(
            models / name)
    reference = {"dataset": "toy", "split": "test", "num_images": 3, "test_bpd": TEST_BPD, "mean_test_bpd": 6.0}
    (models / "grey" / "reference.json").write_text(json.dumps(reference))
    (models / "grey" / "ood.json").write_text(json.dumps(OOD))
    (models / "cond" / "reference.json").write_text(json.dumps({**reference, "classifier": CLASSIFIER}))
    (examples / "grey").mkdir(parents=True)
    for i, stem in enumerate(("digit0_0", "digit0_1", "digit1_0", "digit1_1")):
        example(examples / "grey" / f"{stem}.png", i)
    return ModelRegistry(models, examples, hub_ids=[], default="grey", device="cpu")


def use_registry(monkeypatch, registry) -> None:
    """Every module of the app that asks for `app_registry()` gets `registry` (until monkeypatch undoes it)."""
    import importlib

    for name in USERS:
        monkeypatch.setattr(importlib.import_module(name), "app_registry", lambda: registry)
