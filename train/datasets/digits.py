"""digits: scikit-learn's 1,797 8x8 handwritten digits (17 grey levels), offline."""

from __future__ import annotations

import numpy as np
import torch

from .base import TEST_SPLIT_SEED, ArrayImages, DatasetInfo, ImageSubset, Splits, ToUnitInterval, check_native_size, split_off

DIGITS_TEST_FRACTION = 0.2


def build(image_size, val_fraction, seed) -> Splits:
    size = check_native_size("digits", image_size, 8)
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = torch.from_numpy(digits.images.astype(np.uint8)).unsqueeze(1)  # values 0..16
    labels = torch.from_numpy(digits.target.astype(np.int64))
    base = ArrayImages(images, labels)
    train_all, test = train_test_split(
        np.arange(len(base)), test_size=DIGITS_TEST_FRACTION, stratify=digits.target, random_state=TEST_SPLIT_SEED
    )
    train, val = split_off(sorted(train_all.tolist()), val_fraction, seed)
    to_unit = ToUnitInterval(17)
    info = DatasetInfo("digits", 1, size, 17, 10, natural_images=False)
    test = sorted(test.tolist())
    return ImageSubset(base, train, to_unit), ImageSubset(base, val, to_unit), ImageSubset(base, test, to_unit), info
