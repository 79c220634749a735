"""realnvp.codecs: PNG and WebP bits/dim, lossless round trips, quantization of float images."""
import io

import numpy as np
import pytest
import torch
from PIL import Image

from realnvp.codecs import as_uint8, codec_bits_per_dim, decode, encode
from train.baselines import mosaic_bits_per_dim
from helpers import noise

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


def test_unknown_codec():
    with pytest.raises(ValueError, match="png, webp"):
        codec_bits_per_dim(noise((1, 1, 4, 4)), "jpeg")
