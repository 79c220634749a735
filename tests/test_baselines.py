"""Tests of train/baselines.py: per-pixel histograms and lossless codec sizes."""

import io
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from realnvp.codecs import as_uint8, codec_bits_per_dim, decode, encode
from train.baselines import histogram_baseline_bpd, mosaic, mosaic_bits_per_dim
from train.datasets import ArrayImages, DatasetInfo, ImageSubset, ToUnitInterval


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


def noise(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


@pytest.mark.parametrize("codec", ["png", "webp"])
@pytest.mark.parametrize("channels", [1, 3])
def test_constant_image_is_far_cheaper_than_noise(codec, channels):
    constant = np.full((4, channels, 32, 32), 117, dtype=np.uint8)
    random = noise((4, channels, 32, 32))
    cheap, costly = codec_bits_per_dim(constant, codec), codec_bits_per_dim(random, codec)
    assert cheap.shape == costly.shape == (4,)
    assert cheap.max() < 1.0 < 7.5 < costly.min()  # noise costs about 8 bits/dim plus the headers
    assert mosaic_bits_per_dim(constant, codec) < 0.5 < 7.5 < mosaic_bits_per_dim(random, codec)


@pytest.mark.parametrize("codec", ["png", "webp"])
def test_bits_per_dim_is_the_file_size(codec):
    images = noise((3, 3, 16, 20))
    images[1] = 40  # a flat image among noisy ones
    bpd = codec_bits_per_dim(images, codec)
    for image, figure in zip(images, bpd):
        pil, buffer = Image.fromarray(image.transpose(1, 2, 0)), io.BytesIO()
        if codec == "png":
            pil.save(buffer, format="PNG", optimize=True)
        else:
            pil.save(buffer, format="WEBP", lossless=True, quality=100, method=6)
        assert figure == 8 * len(buffer.getvalue()) / image.size
    assert bpd[1] < bpd[0]


@pytest.mark.parametrize("codec", ["png", "webp"])
def test_lossless(codec):
    image = noise((3, 9, 13))
    assert np.array_equal(decode(encode(image, codec)), image)
    grey = noise((1, 9, 13))
    back = decode(encode(grey, codec))
    assert np.array_equal(back[:1], grey) and (back == back[:1]).all()  # WebP stores grey as RGB


def test_float_images_are_quantized():
    levels = noise((2, 1, 5, 5))
    floats = torch.from_numpy(levels).float() / 255
    assert np.array_equal(as_uint8(floats), levels)
    assert np.array_equal(codec_bits_per_dim(floats, "png"), codec_bits_per_dim(levels, "png"))
    digits = torch.tensor([[[[0.0, 1 / 16, 1.0]]]])  # 17 levels
    assert as_uint8(digits, num_levels=17).tolist() == [[[[0, 1, 16]]]]
    with pytest.raises(ValueError, match="0, 1"):
        as_uint8(floats * 2)


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


def test_unknown_codec():
    with pytest.raises(ValueError, match="png, webp"):
        codec_bits_per_dim(noise((1, 1, 4, 4)), "jpeg")
