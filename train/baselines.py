"""Reference figures a density model should beat, in bits per dimension of the 8-bit data.

- ``histogram_baseline_bpd``: independent per-pixel histograms fit on the training split.
- ``realnvp.codecs.codec_bits_per_dim`` / ``mosaic_bits_per_dim``: the size of each image (or of
  one mosaic of a whole split) losslessly compressed as PNG or WebP with Pillow at its best compression
  effort: ``8 * len(file) / D``. File headers are included (they are part of what a codec
  needs to reproduce the image), which is why the mosaic, paying them once and able to exploit
  similarities between images, costs fewer bits/dim than the images one by one.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from realnvp.codecs import as_uint8, encode

from .datasets import DatasetInfo


# --------------------------------------------------------------------------------------
# Per-pixel histograms
# --------------------------------------------------------------------------------------


def _level_counts(dataset: Dataset, info: DatasetInfo, batch_size: int, num_workers: int) -> tuple[torch.Tensor, int]:
    """Per-pixel histograms: counts ``(C*H*W, L)`` of each grey level, and the number of images."""
    num_dims, num_levels = math.prod(info.shape), info.num_levels
    counts = torch.zeros(num_dims * num_levels, dtype=torch.int64)
    num_images = 0
    for x, _ in DataLoader(dataset, batch_size=batch_size, num_workers=num_workers):
        levels = torch.round(x.reshape(len(x), num_dims) * (num_levels - 1)).long()
        flat = torch.arange(num_dims) * num_levels + levels  # index of (pixel, level)
        counts += torch.bincount(flat.flatten(), minlength=num_dims * num_levels)
        num_images += len(x)
    return counts.reshape(num_dims, num_levels), num_images


def histogram_baseline_bpd(
    train: Dataset, test: Dataset, info: DatasetInfo, batch_size: int = 256, num_workers: int = 0
) -> float:
    """Bits per dimension on ``test`` of independent per-pixel histograms fit on ``train``
    with add-one (Laplace) smoothing over the ``info.num_levels`` levels.

    A reference figure: a generative model should do much better. Reads both data sets once.
    """
    train_counts, num_train = _level_counts(train, info, batch_size, num_workers)
    test_counts, num_test = _level_counts(test, info, batch_size, num_workers)
    if num_test == 0:
        raise ValueError("the test set is empty")
    log2_probs = torch.log2((train_counts + 1).double() / (num_train + info.num_levels))
    total_bits = -(test_counts.double() * log2_probs).sum()
    return float(total_bits / (num_test * train_counts.shape[0]))


# --------------------------------------------------------------------------------------
# Lossless codecs (realnvp.codecs) on whole splits
# --------------------------------------------------------------------------------------


def mosaic(images, columns: int | None = None, num_levels: int = 256) -> np.ndarray:
    """All images tiled row by row into one uint8 ``(C, rows*H, columns*W)`` image (default:
    a near-square grid); cells after the last image stay black."""
    array = as_uint8(images, num_levels)
    n, c, h, w = array.shape
    if n == 0:
        raise ValueError("no images")
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    grid = np.zeros((rows * columns, c, h, w), dtype=np.uint8)
    grid[:n] = array
    return grid.reshape(rows, columns, c, h, w).transpose(2, 0, 3, 1, 4).reshape(c, rows * h, columns * w)


def mosaic_bits_per_dim(images, codec: str, num_levels: int = 256, columns: int | None = None) -> float:
    """Bits/dim of all images encoded as one mosaic: ``8 * len(file) / (N*C*H*W)`` (the black
    filler cells are not counted as dimensions)."""
    array = as_uint8(images, num_levels)
    return 8 * len(encode(mosaic(array, columns), codec)) / array.size


def dataset_images(dataset: Dataset, indices: Sequence[int] | None = None, batch_size: int = 256,
                   num_levels: int = 256) -> np.ndarray:
    """The images of ``dataset`` (or of ``indices``) as uint8 ``(N, C, H, W)``."""
    if indices is not None:
        dataset = torch.utils.data.Subset(dataset, list(indices))
    batches = [as_uint8(x, num_levels) for x, _ in DataLoader(dataset, batch_size=batch_size)]
    if not batches:
        raise ValueError("the data set is empty")
    return np.concatenate(batches)
