"""Tests of train/baselines.py: per-pixel histograms and the mosaic of a whole split."""
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from realnvp.codecs import codec_bits_per_dim
from train.baselines import histogram_baseline_bpd, mosaic, mosaic_bits_per_dim
from train.datasets import ArrayImages, DatasetInfo, ImageSubset, ToUnitInterval
from helpers import noise

def test_baselines_and_datasets_import_no_circle():
    """train.baselines reads DatasetInfo from train.datasets; the data sets never import the baselines."""
    import ast
    import train.datasets

    folder = Path(train.datasets.__file__).parent
    for module in folder.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert "baselines" not in (node.module or ""), module


def test_histogram_baseline_formula():
    # one pixel, two levels: train levels [0, 0, 1] -> p(1) = (1 + 1) / (3 + 2)
    info = DatasetInfo("tiny", 1, 1, 2, None, natural_images=False)
    train = ImageSubset(ArrayImages(torch.tensor([0, 0, 1], dtype=torch.uint8).reshape(3, 1, 1, 1), torch.zeros(3)), None, ToUnitInterval(2))
    test = ImageSubset(ArrayImages(torch.ones(1, 1, 1, 1, dtype=torch.uint8), torch.zeros(1)), None, ToUnitInterval(2))
    assert histogram_baseline_bpd(train, test, info) == pytest.approx(-math.log2(0.4))


def test_mosaic_layout():
    images = np.arange(5 * 1 * 2 * 3, dtype=np.uint8).reshape(5, 1, 2, 3)
    grid = mosaic(images)  # 3 columns, 2 rows, last cell black
    assert grid.shape == (1, 4, 9)
    for k in range(5):
        row, col = divmod(k, 3)
        assert np.array_equal(grid[:, 2 * row : 2 * row + 2, 3 * col : 3 * col + 3], images[k])
    assert not grid[:, 2:, 6:].any()


def test_mosaic_pays_headers_once_and_counts_only_real_dims():
    images = np.repeat(noise((1, 3, 16, 16)), 16, axis=0)  # 16 copies of one noisy image
    per_image = codec_bits_per_dim(images, "webp").mean()
    assert mosaic_bits_per_dim(images, "webp") < per_image / 4  # repeats are found across the mosaic
    one = codec_bits_per_dim(images[:1], "png")[0]
    assert mosaic_bits_per_dim(images[:1], "png") == pytest.approx(one)
