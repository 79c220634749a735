"""explorer.images: user images of every kind become valid model input, or a clear
ImageInputError; model tensors become the uint8 pictures the page shows."""
import io
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from explorer.images import (DISPLAY_SIDE, ImageInputError, enlarge, for_display, grid_image, mask_preview,
                             open_image, overlay, prepare_image, to_uint8_image)


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


def grey_of(array):
    return np.repeat(np.asarray(array, np.float64)[..., None], 3, 2)


SIXTEEN = (np.random.default_rng(1).random((37, 53)) * 65535).astype(np.uint16)
FLOATS = np.random.default_rng(2).random((37, 53)).astype(np.float32)
# each mode that holds the picture without loss, and the picture as (H, W, 3) levels 0-255
LOSSLESS = {
    "RGB": (lambda: rgb(), lambda: np.asarray(rgb(), np.float64)),
    "L": (lambda: rgb().convert("L"), lambda: grey_of(rgb().convert("L"))),
    "RGBA opaque": (lambda: rgb().convert("RGBA"), lambda: np.asarray(rgb(), np.float64)),
    "LA opaque": (lambda: rgb().convert("LA"), lambda: grey_of(rgb().convert("L"))),
    "P": (lambda: rgb().convert("P"), lambda: np.asarray(rgb().convert("P").convert("RGB"), np.float64)),
    "1": (lambda: rgb().convert("1"), lambda: grey_of(rgb().convert("1").convert("L"))),
    "CMYK": (lambda: rgb().convert("CMYK"), lambda: np.asarray(rgb(), np.float64)),
    "I;16": (lambda: Image.fromarray(SIXTEEN), lambda: grey_of(SIXTEEN / 65535 * 255)),
    "F": (lambda: Image.fromarray(FLOATS), lambda: grey_of(FLOATS.astype(np.float64) * 255)),
    "1x1": (lambda: rgb(1, 1), lambda: np.asarray(rgb(1, 1), np.float64)),
}


@pytest.mark.parametrize("mode", sorted(LOSSLESS))
@pytest.mark.parametrize("channels", [1, 3])
def test_lossless_modes_reproduce_the_image(mode, channels):
    """At its own resolution, an image in any mode that holds it without loss becomes model input
    within one level of its pixels (greyscale: Pillow's luma of them), in place (not transposed or
    reordered)."""
    make, reference = LOSSLESS[mode]
    expected = reference()
    x = prepare_image(make(), channels, None, multiple=1, max_side=256)
    assert x.shape == (1, channels, *expected.shape[:2])
    if channels == 1:
        expected = np.asarray(Image.fromarray(np.round(expected).astype(np.uint8)).convert("L"), np.float64)[..., None]
    got = x[0].double().numpy().transpose(1, 2, 0) * 255
    assert np.abs(got - expected).max() <= 1 + 1e-9, np.abs(got - expected).max()


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


def digit_on_paper() -> np.ndarray:
    """A dark stroke on white paper: what a photo of handwriting looks like."""
    paper = np.full((40, 30), 250, np.uint8)
    paper[10:30, 13:17] = 20
    return paper


def test_auto_invert_only_light_backgrounds_of_greyscale_images():
    encode = lambda array: png_bytes(Image.fromarray(array))  # noqa: E731
    x = prepare_image(encode(digit_on_paper()), 1, 28, invert="auto")
    assert x[0, 0, 0, 0] < 0.05 and x.max() > 0.9  # white on black, as in MNIST
    dark = encode(255 - digit_on_paper())
    assert torch.equal(prepare_image(dark, 1, 28, invert="auto"), prepare_image(dark, 1, 28))
    rgb_paper = encode(np.stack([digit_on_paper()] * 3, -1))
    assert torch.equal(prepare_image(rgb_paper, 3, 16, invert="auto"), prepare_image(rgb_paper, 3, 16))  # never
    assert prepare_image(rgb_paper, 3, 16, invert=True)[0, 0, 0, 0] < 0.05
    with pytest.raises(ValueError, match="invert must be"):
        prepare_image(rgb_paper, 3, 16, invert="sometimes")


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


# ----------------------------------------------------------------------------- tensors -> pictures
def test_to_uint8_image():
    grey = torch.tensor([[[[0.0, 0.5, 1.0, 2.0]]]])  # (1, 1, 1, 4); values above 1 are clipped
    shown = to_uint8_image(grey)
    assert shown.shape == (1, 4, 3) and shown.dtype == np.uint8
    assert shown[0, :, 0].tolist() == [0, 128, 255, 255] and (shown[..., 0] == shown[..., 2]).all()
    colour = torch.rand(3, 4, 5, generator=torch.Generator().manual_seed(0))
    assert np.array_equal(to_uint8_image(colour), (colour * 255).round().byte().permute(1, 2, 0).numpy())


def test_grid_image_lays_out_rows_with_white_padding():
    tiles = torch.stack([torch.full((1, 8, 8), v / 10) for v in range(6)])
    grid = grid_image(tiles, nrow=3)
    assert grid.dtype == np.uint8 and grid.shape == (2 * 10 + 2, 3 * 10 + 2, 3)
    assert (grid[0] == 255).all() and (grid[:, 0] == 255).all()  # the padding is white
    assert (grid[2:10, 12:20] == round(255 * 0.1)).all()  # row 0, column 1: the second image
    assert (grid[12:20, 2:10] == round(255 * 0.3)).all()  # row 1, column 0: the fourth


def test_overlay_and_mask_preview_tint_only_the_mask():
    image, tint = np.zeros((2, 2, 3), np.uint8), np.full((2, 2, 3), 200, np.uint8)
    assert overlay(image, tint, 1.0).tolist() == tint.tolist() and (overlay(image, tint, 0.5) == 100).all()
    x = torch.full((1, 1, 4, 4), 0.5)
    mask = torch.zeros(1, 1, 4, 4, dtype=torch.bool)
    mask[..., :2, :] = True
    preview = mask_preview(x, mask)
    assert preview.shape == (4, 4, 3) and preview.dtype == np.uint8
    assert (preview[2:] == 128).all()
    assert (preview[:2, :, 0] > preview[:2, :, 1]).all()


def test_enlarge():
    small = np.arange(12, dtype=np.uint8).reshape(2, 3, 2)
    big = enlarge(small, 9)
    assert big.shape == (6, 9, 2) and (big[::3, ::3] == small).all()
    large = np.zeros((300, 20, 3), np.uint8)
    assert enlarge(large, 256) is large
    assert enlarge(np.zeros((1, 1, 3), np.uint8), 256, max_factor=16).shape == (16, 16, 3)
    assert for_display(np.zeros((28, 20, 3), np.uint8)).shape == (28 * 10, 20 * 10, 3)  # 10 * 28 >= DISPLAY_SIDE
    assert DISPLAY_SIDE == 256
