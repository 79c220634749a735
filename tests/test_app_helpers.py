"""The helpers added to realnvp.explore and realnvp.images for the app (tests/test_explore.py and
tests/test_images.py cover the rest of those modules)."""
import io
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import tiny_model
from realnvp import explore
from realnvp.images import ImageInputError, enlarge, prepare_image


def images(n=1, size=8, seed=0):
    return torch.rand(n, 1, size, size, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# ----------------------------------------------------------------------------- explore
def test_scale_temperatures():
    assert explore.scale_temperatures(1, 0.9, 0.1) == [0.9]
    assert explore.scale_temperatures(3, 1.0, 0.2) == pytest.approx([0.2, 0.6, 1.0])  # finest first


def test_class_log_likelihoods():
    model = tiny_model(size=8, num_classes=4)
    x = images()
    log_p = explore.class_log_likelihoods(model, x)
    assert log_p.shape == (4,)
    for y in range(4):
        assert log_p[y].item() == pytest.approx(model.log_prob(x, y).item(), rel=1e-12)
    with pytest.raises(ValueError, match="not class-conditional"):
        explore.class_log_likelihoods(tiny_model(size=8), x)


def test_rectangle_mask():
    mask = explore.rectangle_mask(10, 8, 0.5, 1.0, 0.0, 0.5)
    assert mask.shape == (1, 1, 10, 8) and mask.dtype == torch.bool
    assert mask[0, 0, 5:, :4].all() and mask.sum() == 20
    assert explore.rectangle_mask(10, 10, 0.41, 0.42, 0.0, 1.0).sum() == 10  # a sliver still erases a row
    with pytest.raises(ValueError, match="the rectangle is empty"):
        explore.rectangle_mask(10, 10, 0.6, 0.4, 0, 1)
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="between 0 and 1"):
            explore.rectangle_mask(10, 10, 0, bad, 0, 1)


def test_mask_preview_tints_only_the_mask():
    x = torch.full((1, 1, 4, 4), 0.5)
    preview = explore.mask_preview(x, explore.rectangle_mask(4, 4, 0, 0.5, 0, 1))
    assert preview.shape == (4, 4, 3) and preview.dtype == np.uint8
    assert (preview[2:] == 128).all()
    assert (preview[:2, :, 0] > preview[:2, :, 1]).all()


def test_complete_under_no_grad_with_trainable_parameters():
    model = tiny_model(size=8, dtype=torch.float32)
    assert all(p.requires_grad for p in model.parameters())
    x = images(seed=3).float()
    erased = explore.rectangle_mask(8, 8, 0.5, 1.0, 0.0, 1.0)
    with torch.no_grad():  # the app may call it anywhere; autograd is switched on inside
        filled, history = explore.complete(model, x, erased, steps=20, lr=0.1)
    assert torch.equal(filled[~erased.expand_as(x)], x[~erased.expand_as(x)])
    assert history[-1] < history[0]
    assert all(p.grad is None for p in model.parameters())


def test_curve_figure():
    curve = explore.figure_to_image(explore.curve_figure([3.0, 2.5, 2.0], title="t"))
    assert curve.dtype == np.uint8 and curve.shape == (300, 600, 3) and curve.std() > 5


# ----------------------------------------------------------------------------- images
def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


def digit_on_paper() -> np.ndarray:
    """A dark stroke on white paper: what a photo of handwriting looks like."""
    paper = np.full((40, 30), 250, np.uint8)
    paper[10:30, 13:17] = 20
    return paper


def test_auto_invert_only_light_backgrounds_of_greyscale_images():
    x = prepare_image(png_bytes(digit_on_paper()), 1, 28, invert="auto")
    assert x[0, 0, 0, 0] < 0.05 and x.max() > 0.9  # white on black, as in MNIST
    dark = png_bytes(255 - digit_on_paper())
    assert torch.equal(prepare_image(dark, 1, 28, invert="auto"), prepare_image(dark, 1, 28))
    rgb = png_bytes(np.stack([digit_on_paper()] * 3, -1))
    assert torch.equal(prepare_image(rgb, 3, 16, invert="auto"), prepare_image(rgb, 3, 16))  # colour: never
    assert prepare_image(rgb, 3, 16, invert=True)[0, 0, 0, 0] < 0.05
    with pytest.raises(ValueError, match="invert must be"):
        prepare_image(rgb, 3, 16, invert="sometimes")


def bomb_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height, with almost no data: refused before decoding."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("side", [7000, 100_000])  # over the app's 40 MP limit; over PIL's own error limit
def test_decompression_bomb_headers_are_refused(side):
    with pytest.raises(ImageInputError, match="too many pixels"):
        prepare_image(bomb_header(side, side), 1, 28)


def test_enlarge():
    small = np.arange(12, dtype=np.uint8).reshape(2, 3, 2)
    big = enlarge(small, 9)
    assert big.shape == (6, 9, 2) and (big[::3, ::3] == small).all()
    large = np.zeros((300, 20, 3), np.uint8)
    assert enlarge(large, 256) is large
    assert enlarge(np.zeros((1, 1, 3), np.uint8), 256, max_factor=16).shape == (16, 16, 3)
