"""photos-v1: the data set the bundled ``photos`` model was first trained and tested on, kept so
that its figures stay reproducible: four scikit-image photographs at native size, 1/2 and 1/4
(the bottom strip of each held out for validation), ``coffee`` held out whole for test."""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Sequence

import torch
from torchvision.transforms.v2 import functional as TF

from .. import photo_manifest
from .base import TEST_SPLIT_SEED, DatasetInfo, Splits
from .photos import (PHOTOS_DEFAULT_SIZE, PHOTOS_EVAL_CROPS, PHOTOS_TRAIN_CROPS, TEST_STREAM, TRAIN_STREAM, VAL_STREAM,
                     PhotoCrops, PhotoRegion, load_photo, photo_path)

PHOTOS_V1_TRAIN = ("astronaut", "chelsea", "rocket", "motorcycle")
PHOTOS_V1_TEST = ("coffee",)
PHOTOS_V1_SCALES = (1.0, 0.5, 0.25)


@functools.lru_cache(maxsize=None)
def _load_scaled_photo_v1(name: str, scale: float, path: Path) -> torch.Tensor:
    photo = next(p for p in photo_manifest.PHOTOS if p.name == name)
    pixels = load_photo(photo)
    if scale == 1.0:
        return pixels
    height, width = pixels.shape[1:]
    return TF.resize(pixels, [round(height * scale), round(width * scale)], antialias=True)


def photo_regions(names: Sequence[str], val_fraction: float, crop_size: int) -> tuple[list[PhotoRegion], list[PhotoRegion]]:
    """photos-v1: split every scaled photo into a top part and a bottom strip of
    ``max(crop_size, ceil(val_fraction * height))`` rows (none if ``val_fraction == 0``).

    Returns ``(top_parts, bottom_strips)``, leaving out parts too small for a crop.
    """
    tops, strips = [], []
    for name in names:
        photo = next(p for p in photo_manifest.PHOTOS if p.name == name)
        for scale in PHOTOS_V1_SCALES:
            pixels = _load_scaled_photo_v1(name, scale, photo_path(photo))
            height = pixels.shape[1]
            strip = max(crop_size, math.ceil(val_fraction * height)) if val_fraction > 0 else 0
            parts = ((tops, 0, height - strip), (strips, height - strip, height))
            for out, start, stop in parts:
                region = PhotoRegion(name, scale, (start, stop), pixels[:, start:stop])
                if min(region.pixels.shape[1:]) >= crop_size:
                    out.append(region)
    return tops, strips


def build(image_size, val_fraction, seed) -> Splits:
    size = PHOTOS_DEFAULT_SIZE if image_size is None else image_size
    train_regions, val_regions = photo_regions(PHOTOS_V1_TRAIN, val_fraction, size)
    test_regions, _ = photo_regions(PHOTOS_V1_TEST, 0.0, size)
    train = PhotoCrops(train_regions, PHOTOS_TRAIN_CROPS, size, flip=True, seed=seed, stream=TRAIN_STREAM)
    num_val = PHOTOS_EVAL_CROPS if val_fraction > 0 else 0
    val = PhotoCrops(val_regions, num_val, size, flip=False, seed=seed, stream=VAL_STREAM)
    test = PhotoCrops(test_regions, PHOTOS_EVAL_CROPS, size, flip=False, seed=TEST_SPLIT_SEED, stream=TEST_STREAM)
    info = DatasetInfo("photos-v1", 3, size, 256, None, natural_images=True)
    return train, val, test, info
