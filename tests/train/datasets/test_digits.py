"""train.datasets.digits: scikit-learn's 1,797 8x8 digits (17 grey levels), a stratified test split."""
import torch

from train.datasets import DatasetInfo, build_datasets

from helpers import assert_item


def test_digits():
    train, val, test, info = build_datasets("digits", seed=0)
    assert info == DatasetInfo("digits", 1, 8, 17, 10, natural_images=False)
    assert len(train) + len(val) + len(test) == 1797
    assert len(test) == 360
    assert not set(train.indices) & set(val.indices)
    assert not set(test.indices) & (set(train.indices) | set(val.indices))
    # stratified test split: every digit has 35 or 36 test images
    counts = torch.bincount(test.base.labels[test.indices])
    assert counts.min() >= 35 and counts.max() <= 37
    x, y = assert_item(train, 0, (1, 8, 8), 17, 10)
    assert torch.equal(x * 16, train.base.images[train.indices[0]].float())
    i = next(i for i, j in enumerate(train.indices) if train.base.images[j].max() == 16)
    assert train[i][0].max() == 1.0  # the top level, 16, maps to exactly 1
    _, val1, test1, _ = build_datasets("digits", seed=1)
    assert test1.indices == test.indices and val1.indices != val.indices
