"""Fixtures of the train/datasets tests."""
from pathlib import Path

import pytest

from train import photo_manifest
from train.datasets import fashion_mnist as fashion_mnist_module


@pytest.fixture(autouse=True)
def no_system_data(monkeypatch):
    """Tests never depend on Debian's data packages being installed (or not)."""
    monkeypatch.setattr(fashion_mnist_module, "FASHION_MNIST_SYSTEM_DIR", Path("/nonexistent/fashion-mnist"))
    monkeypatch.setattr(photo_manifest, "SYSTEM_DIRS", {s: Path("/nonexistent") / s for s in photo_manifest.SYSTEM_DIRS})
