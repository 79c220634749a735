"""User images of every kind become valid model input, or a clear ImageInputError."""
import io

import numpy as np
import pytest
import torch
from PIL import Image

from realnvp.images import ImageInputError, open_image, prepare_image, to_uint8_image


def png_bytes(image, **kwargs):
    buffer = io.BytesIO()
    image.save(buffer, format=kwargs.pop("format", "PNG"), **kwargs)
    return buffer.getvalue()


def rgb(h=37, w=53, seed=0):
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8))


@pytest.mark.parametrize("make", [
    lambda: rgb(),
    lambda: rgb().convert("L"),
    lambda: rgb().convert("RGBA"),
    lambda: rgb().convert("LA"),
    lambda: rgb().convert("P"),
    lambda: rgb().convert("1"),
    lambda: rgb().convert("CMYK"),
    lambda: Image.fromarray((np.random.default_rng(1).random((37, 53)) * 65535).astype(np.uint16)),
    lambda: Image.fromarray(np.random.default_rng(2).random((37, 53)).astype(np.float32)),
    lambda: rgb(1, 1),
])
@pytest.mark.parametrize("channels", [1, 3])
def test_any_mode_becomes_model_input(make, channels):
    x = prepare_image(make(), channels, 28)
    assert x.shape == (1, channels, 28, 28) and x.dtype == torch.float32
    assert 0 <= x.min() and x.max() <= 1
    assert torch.equal(torch.round(x * 255) / 255, x), "values are 8-bit levels k/255"


def test_sixteen_bit_is_rescaled_not_clipped():
    array = np.full((8, 8), 32768, np.uint16)
    x = prepare_image(Image.fromarray(array), 1, 8)
    assert x.mean().item() == pytest.approx(128 / 255, abs=1 / 255)


def test_transparency_is_composited_on_white():
    image = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    assert prepare_image(image, 3, 8).min().item() == 1.0


def test_native_resolution_crop_and_cap():
    x = prepare_image(rgb(37, 53), 3, None, multiple=4, max_side=256)
    assert x.shape == (1, 3, 36, 52)
    big = prepare_image(rgb(300, 500), 1, None, multiple=8, max_side=128)
    assert max(big.shape[2:]) <= 128 and big.shape[2] % 8 == 0 and big.shape[3] % 8 == 0
    with pytest.raises(ImageInputError, match="at least 8x8"):
        prepare_image(rgb(3, 3), 1, None, multiple=8)


def test_levels_other_than_256():
    x = prepare_image(rgb(), 1, 8, num_levels=17)
    assert torch.allclose(torch.round(x * 16) / 16, x)


def test_animated_gif_uses_first_frame():
    frames = [Image.new("L", (10, 10), v) for v in (0, 255)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    assert prepare_image(buffer.getvalue(), 1, 10).max().item() == 0.0


@pytest.mark.parametrize("data,message", [
    (b"", "empty"),
    (b"this is not an image at all", "not an image format"),
    (png_bytes(rgb())[:60], "damaged or truncated"),
])
def test_bad_files_give_clear_errors(data, message, tmp_path):
    with pytest.raises(ImageInputError, match=message):
        prepare_image(data, 3, 28)
    path = tmp_path / "upload.png"
    path.write_bytes(data)
    with pytest.raises(ImageInputError, match=message):
        prepare_image(path, 3, 28)


def test_too_many_pixels_refused_before_decoding():
    huge = png_bytes(Image.new("L", (8000, 6000)), optimize=True)  # 48 MP, a few kB compressed
    with pytest.raises(ImageInputError, match="too many pixels|too large"):
        open_image(huge)


def test_missing_file_and_arrays():
    with pytest.raises(ImageInputError, match="not found"):
        open_image("/nonexistent/picture.png")
    with pytest.raises(ImageInputError, match="empty"):
        prepare_image(np.zeros((0, 0, 3), np.uint8), 3, 8)
    assert prepare_image(np.random.rand(9, 9), 1, 8).shape == (1, 1, 8, 8)
    shown = to_uint8_image(torch.rand(1, 1, 4, 5))
    assert shown.shape == (4, 5, 3) and shown.dtype == np.uint8
