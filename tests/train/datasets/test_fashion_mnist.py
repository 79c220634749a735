"""train.datasets.fashion_mnist: IDX files (gzipped or not) found in torchvision's layout, in the
root itself or in Debian's copy, before anything is downloaded; fake files in the real format."""
import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from train.datasets import DatasetInfo, build_datasets, read_idx
from train.datasets import fashion_mnist as fashion_mnist_module

from helpers import assert_item, write_fake_mnist, write_idx


def no_download(*args, **kwargs):
    raise AssertionError("nothing may be downloaded when the files are present")


@pytest.mark.parametrize("place", ["torchvision layout", "root", "system"])
@pytest.mark.parametrize("compress", [False, True])
def test_fashion_mnist_local_files(tmp_path, monkeypatch, place, compress):
    monkeypatch.setattr(fashion_mnist_module.tv_datasets, "FashionMNIST", no_download)
    root = tmp_path / "root"
    if place == "torchvision layout":
        written = write_fake_mnist(root, "FashionMNIST", compress=compress)
    elif place == "root":
        written = write_fake_mnist(root, None, compress=compress)
    else:  # Debian's /usr/share/datasets/fashion-mnist
        written = write_fake_mnist(tmp_path / "system", None, compress=compress)
        monkeypatch.setattr(fashion_mnist_module, "FASHION_MNIST_SYSTEM_DIR", tmp_path / "system")
    train, val, test, info = build_datasets("fashion-mnist", root=root, download=True, seed=0)
    assert info == DatasetInfo("fashion-mnist", 1, 28, 256, 10, natural_images=False)
    assert (len(train), len(val), len(test)) == (27, 3, 10)
    assert not set(train.indices) & set(val.indices) and sorted(train.indices + val.indices) == list(range(30))
    for dataset, prefix in ((train, "train"), (val, "train"), (test, "t10k")):
        images, labels = written[prefix]
        for i in range(len(dataset)):
            x, y = assert_item(dataset, i, (1, 28, 28), 256, 10)
            j = dataset.indices[i]
            assert torch.equal(x * 255, torch.from_numpy(images[j]).float().unsqueeze(0)) and y == labels[j]
    assert test.indices == list(range(10))  # the official test set, whole
    _, val1, test1, _ = build_datasets("fashion-mnist", root=root, download=False, seed=1)
    assert val1.indices != val.indices and test1.indices == test.indices


def test_fashion_mnist_prefers_root_over_system(tmp_path, monkeypatch):
    write_fake_mnist(tmp_path / "root", "FashionMNIST", num_test=10)
    write_fake_mnist(tmp_path / "system", None, num_test=7)
    monkeypatch.setattr(fashion_mnist_module, "FASHION_MNIST_SYSTEM_DIR", tmp_path / "system")
    assert len(build_datasets("fashion-mnist", root=tmp_path / "root", download=False)[2]) == 10
    assert len(build_datasets("fashion-mnist", root=tmp_path / "elsewhere", download=False)[2]) == 7


def test_fashion_mnist_missing(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        build_datasets("fashion-mnist", root=tmp_path, download=False)
    message = str(err.value)
    assert "apt-get install dataset-fashion-mnist" in message and "--root DIR without --no-download" in message
    assert str(tmp_path) in message and "t10k-images-idx3-ubyte" in message


def test_fashion_mnist_downloads_only_when_missing(tmp_path, monkeypatch):
    calls = []

    def fake_download(root, train, download):  # what torchvision leaves behind: .gz and extracted files
        calls.append((root, download))
        write_fake_mnist(Path(root), "FashionMNIST", compress=True)

    monkeypatch.setattr(fashion_mnist_module.tv_datasets, "FashionMNIST", fake_download)
    _, _, test, _ = build_datasets("fashion-mnist", root=tmp_path, download=True)
    assert calls == [(str(tmp_path), True)] and len(test) == 10


def test_read_idx(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a", array)
    (tmp_path / "a.gz").write_bytes(gzip.compress((tmp_path / "a").read_bytes()))
    assert np.array_equal(read_idx(tmp_path / "a"), array) and np.array_equal(read_idx(tmp_path / "a.gz"), array)
    (tmp_path / "short").write_bytes((tmp_path / "a").read_bytes()[:-1])
    with pytest.raises(ValueError, match="bytes follow"):
        read_idx(tmp_path / "short")
    (tmp_path / "bad").write_bytes(b"\x00\x00\x0d\x01" + bytes(8))
    with pytest.raises(ValueError, match="not an IDX"):
        read_idx(tmp_path / "bad")
