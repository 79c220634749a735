"""fashion-mnist: read from IDX files found locally (gzipped or not) before anything is
downloaded: ROOT/FashionMNIST/raw (torchvision's layout), ROOT itself, then Debian's copy."""

from __future__ import annotations

import functools
import gzip
import math
import struct
from pathlib import Path

import numpy as np
import torch
from torchvision import datasets as tv_datasets

from .base import ArrayImages, DatasetInfo, ImageSubset, Splits, ToUnitInterval, check_native_size, split_off

FASHION_MNIST_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")  # apt-get install dataset-fashion-mnist
FASHION_MNIST_APT = "apt-get install dataset-fashion-mnist"
FASHION_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def read_idx(path: str | Path) -> np.ndarray:
    """An IDX file of unsigned bytes (gzipped or not) as a uint8 array of the header's shape."""
    path = Path(path)
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if len(data) < 4 or data[:3] != b"\x00\x00\x08":
        raise ValueError(f"{path}: not an IDX file of unsigned bytes (magic {data[:4].hex()})")
    ndim = data[3]
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    body = data[4 + 4 * ndim :]
    if len(body) != math.prod(shape):
        raise ValueError(f"{path}: the header gives shape {shape} ({math.prod(shape)} bytes) but {len(body)} bytes follow")
    return np.frombuffer(body, dtype=np.uint8).reshape(shape)


def fashion_mnist_dirs(root: str | Path) -> list[Path]:
    """Where Fashion-MNIST's IDX files are looked for, in order."""
    return [Path(root) / "FashionMNIST" / "raw", Path(root), FASHION_MNIST_SYSTEM_DIR]


def find_fashion_mnist(root: str | Path) -> dict[str, tuple[Path, Path]] | None:
    """The first directory of ``fashion_mnist_dirs(root)`` holding all four IDX files (each as
    NAME or NAME.gz): ``{"train": (images, labels), "test": (images, labels)}``, or None."""
    for folder in fashion_mnist_dirs(root):
        found = {}
        for split, stems in FASHION_MNIST_FILES.items():
            paths = [next((p for p in (folder / s, folder / f"{s}.gz") if p.is_file()), None) for s in stems]
            if None in paths:
                break
            found[split] = tuple(paths)
        else:
            return found
    return None


def _load_idx_pair(images_path: Path, labels_path: Path) -> ArrayImages:
    stamp = tuple((p.stat().st_mtime_ns, p.stat().st_size) for p in (images_path, labels_path))
    return _load_idx_pair_cached(images_path, labels_path, stamp)


@functools.lru_cache(maxsize=4)
def _load_idx_pair_cached(images_path: Path, labels_path: Path, stamp: tuple) -> ArrayImages:
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"{images_path}: expected 28x28 images, got shape {images.shape}")
    if labels.shape != (len(images),) or (len(labels) and labels.max() > 9):
        raise ValueError(f"{labels_path}: expected {len(images)} labels 0..9, got shape {labels.shape}")
    base = ArrayImages(torch.from_numpy(images.copy()).unsqueeze(1), torch.from_numpy(labels.astype(np.int64)))
    base.files = (images_path, labels_path)
    return base


def build(root, image_size, val_fraction, seed, download) -> Splits:
    size = check_native_size("fashion-mnist", image_size, 28)
    found = find_fashion_mnist(root)
    if found is None and download:
        tv_datasets.FashionMNIST(root, train=True, download=True)  # fetches all four files into ROOT/FashionMNIST/raw
        found = find_fashion_mnist(root)
    if found is None:
        places = ", ".join(str(p) for p in fashion_mnist_dirs(root))
        names = ", ".join(f"{s}[.gz]" for stems in FASHION_MNIST_FILES.values() for s in stems)
        raise FileNotFoundError(
            f"Fashion-MNIST not found: looked for {names} in {places}. Install Debian's copy with "
            f"`{FASHION_MNIST_APT}` (it puts them in {FASHION_MNIST_SYSTEM_DIR}), or let torchvision fetch them "
            f"with download=True (on the command line: --root DIR without --no-download).")
    train_base = _load_idx_pair(*found["train"])
    test_base = _load_idx_pair(*found["test"])
    train, val = split_off(range(len(train_base)), val_fraction, seed)
    to_unit = ToUnitInterval(256)
    info = DatasetInfo("fashion-mnist", 1, size, 256, 10, natural_images=False)
    return (
        ImageSubset(train_base, train, to_unit),
        ImageSubset(train_base, val, to_unit),
        ImageSubset(test_base, None, to_unit),
        info,
    )

