"""Lossless codecs as a yardstick for a density model: the size of an image losslessly compressed
as PNG or WebP with Pillow at its best compression effort, ``8 * len(file) / D`` bits per
dimension. File headers are included (they are part of what a codec needs to reproduce the
image). The trainer's baselines, the out-of-distribution scores and the app all use these."""

from __future__ import annotations

import io
import math

import numpy as np
import torch

CODECS = ("png", "webp")
CODEC_NAMES = {"png": "PNG", "webp": "WebP"}
WEBP_MAX_SIDE = 16383  # libwebp's limit on either side of an image


def as_uint8(images, num_levels: int = 256) -> np.ndarray:
    """Images ``(N, C, H, W)`` (or one ``(C, H, W)``) as uint8 grey levels ``0..L-1``.

    Accepts uint8 arrays/tensors as they are, and floats in [0, 1] holding ``k / (L - 1)``
    (what the data sets yield), which are rounded to ``k``.
    """
    array = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4 or array.shape[1] not in (1, 3):
        raise ValueError(f"expected images (N, C, H, W) with C = 1 or 3, got shape {array.shape}")
    if array.dtype == np.uint8:
        return array
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"expected uint8 or float images, got {array.dtype}")
    if num_levels > 256:
        raise ValueError(f"{num_levels} levels do not fit in 8 bits")
    if array.size and (array.min() < 0 or array.max() > 1):
        raise ValueError("float images must lie in [0, 1]")
    return np.round(array * (num_levels - 1)).astype(np.uint8)


def encode(image: np.ndarray, codec: str, webp_method: int = 6) -> bytes:
    """One uint8 ``(C, H, W)`` image losslessly encoded as ``codec`` ("png" or "webp"), at the
    codec's best compression effort (``webp_method`` below 6: a faster, slightly larger WebP). (WebP has no greyscale mode: Pillow stores a greyscale
    image as RGB, which lossless WebP's colour transforms make nearly free.)"""
    from PIL import Image  # here, not at import: importing the library loads no image library

    channels = image.shape[0]
    pil = Image.fromarray(image[0] if channels == 1 else np.ascontiguousarray(image.transpose(1, 2, 0)))
    buffer = io.BytesIO()
    if codec == "png":
        pil.save(buffer, format="PNG", optimize=True, compress_level=9)
    elif codec == "webp":
        if max(pil.size) > WEBP_MAX_SIDE:
            raise ValueError(f"WebP images are at most {WEBP_MAX_SIDE} px on a side, this one is {pil.size}")
        pil.save(buffer, format="WEBP", lossless=True, quality=100, method=webp_method, exact=True)
    else:
        raise ValueError(f"unknown codec {codec!r}; choose one of {', '.join(CODECS)}")
    return buffer.getvalue()


def decode(data: bytes) -> np.ndarray:
    """The inverse of ``encode`` for colour images; greyscale WebP comes back as RGB."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        array = np.asarray(image)
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def codec_bits_per_dim(images, codec: str, num_levels: int = 256) -> np.ndarray:
    """Bits/dim of each image losslessly encoded on its own: ``8 * len(file) / (C*H*W)``.

    ``images``: ``(N, C, H, W)`` uint8, or floats ``k / (L - 1)`` (see ``as_uint8``).
    Returns a float64 array of ``N`` figures.
    """
    array = as_uint8(images, num_levels)
    dims = math.prod(array.shape[1:])
    return np.array([8 * len(encode(image, codec)) / dims for image in array], dtype=np.float64)
