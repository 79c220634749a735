"""photos: random crops of the photographs listed in ``train/photo_manifest.py`` (Debian
packages' wallpapers and sample images, each checked by its SHA-256), at several scales."""

from __future__ import annotations

import functools
import hashlib
import io
import math
import sys
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np
import torch
from PIL import Image, ImageOps
from torch.utils.data import Dataset
from torchvision.transforms.v2 import functional as TF

from .. import photo_manifest
from .base import TEST_SPLIT_SEED, DatasetInfo, Splits, ToUnitInterval

PHOTOS_DEFAULT_SIZE = 32
PHOTOS_TRAIN_CROPS = 20_000  # per epoch
PHOTOS_EVAL_CROPS = 1_000  # validation and test each
# Each photograph is downscaled so that its shorter side is 2, 4 and 8 crop sizes (64, 128 and
# 256 px for 32x32 crops): a crop then holds half, a quarter or an eighth of the picture's
# height, i.e. whole objects and edges as well as texture. Each scale gets an equal share of
# crops. Photographs are never upscaled (a shorter side below the target is kept as it is).
PHOTO_SHORT_SIDES = (2, 4, 8)  # in crop sizes
# Training may also take crops from shorter sides between these (``scales_per_octave`` > 1): the
# same scenes at scales the photographs were not shot at, so a 64-px photograph's few thousand
# overlapping crops are no longer a third of all training crops. The test protocol is unchanged.


TRAIN_STREAM, VAL_STREAM, TEST_STREAM = 0, 1, 2


class PhotoChecksumError(ValueError):
    """A photograph's file does not have the SHA-256 recorded in ``train/photo_manifest.py``."""


def photo_path(photo: photo_manifest.Photo) -> Path:
    return photo_manifest.source_dir(photo.source) / photo.file


@functools.lru_cache(maxsize=None)
def _read_photo_file(path: Path, sha256: str, name: str) -> bytes:
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise PhotoChecksumError(
            f"photo {name!r}: {path} has SHA-256 {digest}, but train/photo_manifest.py records {sha256}. "
            "The file changed (another package version?); the photos split is only defined for the recorded "
            "files, so it is not used.")
    return data


def load_photo(photo: photo_manifest.Photo) -> torch.Tensor:
    """A manifest photograph as a uint8 ``(3, H, W)`` tensor, after checking its SHA-256."""
    data = _read_photo_file(photo_path(photo), photo.sha256, photo.name)
    with Image.open(io.BytesIO(data)) as image:
        array = np.asarray(ImageOps.exif_transpose(image).convert("RGB"))
    return torch.from_numpy(array.copy()).permute(2, 0, 1).contiguous()


@functools.lru_cache(maxsize=None)
def _scaled_photo(photo: photo_manifest.Photo, path: Path, short_sides: tuple[int, ...]) -> tuple[torch.Tensor, ...]:
    """``photo`` downscaled (Lanczos, Pillow's reducing_gap=3) so its shorter side is each of ``short_sides``
    (``path`` is part of the cache key only)."""
    return scaled_to_short_sides(Image.fromarray(load_photo(photo).permute(1, 2, 0).numpy()), short_sides)


def scaled_to_short_sides(image: Image.Image, short_sides: Sequence[int]) -> tuple[torch.Tensor, ...]:
    """An RGB ``image`` downscaled (Lanczos, Pillow's reducing_gap=3, never enlarged) so its
    shorter side is each of ``short_sides``, as uint8 ``(3, h, w)`` tensors."""
    out = []
    for side in short_sides:
        factor = min(1.0, side / min(image.size))
        size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
        scaled = image if factor == 1.0 else image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
        out.append(torch.from_numpy(np.asarray(scaled).copy()).permute(2, 0, 1).contiguous())
    return tuple(out)


class PhotoRegion(NamedTuple):
    """Rows ``rows[0]:rows[1]`` of photo ``name`` at ``scale``: for ``photos`` the target
    shorter side in pixels, for ``photos-v1`` the downscale factor. Crops are shared equally
    between scales."""

    name: str
    scale: float
    rows: tuple[int, int]
    pixels: torch.Tensor  # uint8 (3, h, w)


def photo_short_sides(crop_size: int, scales_per_octave: int = 1, max_short_side: int | None = None) -> tuple[int, ...]:
    """The shorter sides photographs are downscaled to: 2, 4 and 8 crop sizes (or from 2 crop
    sizes up to ``max_short_side`` pixels) and, with ``scales_per_octave`` = n > 1, the n - 1
    geometric steps within each octave between them."""
    if scales_per_octave < 1:
        raise ValueError(f"scales_per_octave must be at least 1, got {scales_per_octave}")
    low, high = PHOTO_SHORT_SIDES[0], PHOTO_SHORT_SIDES[-1]
    if max_short_side is not None:
        if max_short_side < crop_size * low:
            raise ValueError(f"max_short_side must be at least {crop_size * low} px, got {max_short_side}")
        high = max_short_side / crop_size
    steps = math.floor(math.log2(high / low) * scales_per_octave + 1e-9)
    return tuple(round(crop_size * low * 2 ** (k / scales_per_octave)) for k in range(steps + 1))


def whole_photo_regions(photos: Sequence[photo_manifest.Photo], crop_size: int,
                        scales_per_octave: int = 1, max_short_side: int | None = None) -> list[PhotoRegion]:
    """Every photograph at every scale of ``photo_short_sides(crop_size, scales_per_octave, max_short_side)``, whole."""
    sides = photo_short_sides(crop_size, scales_per_octave, max_short_side)
    return [region for photo in photos
            for region in scale_regions(photo.name, _scaled_photo(photo, photo_path(photo), sides), sides, crop_size)]


def scale_regions(name: str, scaled: Sequence[torch.Tensor], sides: Sequence[int], crop_size: int) -> list[PhotoRegion]:
    """One whole-photograph region per scale (``scaled[i]`` has shorter side ``sides[i]``), the
    scales too small for a crop left out."""
    return [PhotoRegion(name, side, (0, pixels.shape[1]), pixels) for side, pixels in zip(sides, scaled)
            if min(pixels.shape[1:]) >= crop_size]


def available_photos() -> tuple[dict[str, list[photo_manifest.Photo]], list[photo_manifest.Photo]]:
    """The manifest's photographs present on this machine by split, and the missing ones of
    optional sources. A missing photograph of a required source raises FileNotFoundError."""
    present: dict[str, list[photo_manifest.Photo]] = {"train": [], "val": [], "test": []}
    missing = []
    for photo in photo_manifest.PHOTOS:
        path = photo_path(photo)
        if path.is_file():
            present[photo.split].append(photo)
        elif photo.source in photo_manifest.OPTIONAL_SOURCES:
            missing.append(photo)
        else:
            raise FileNotFoundError(f"photo {photo.name!r} ({photo.source}) not found at {path}; "
                                    f"reinstall the {photo.source} package")
    return present, missing


def missing_photos_note(missing: Sequence[photo_manifest.Photo]) -> str:
    """What is left out of which split for want of which Debian package, and how to install it."""
    parts = []
    for source in sorted({p.source for p in missing}):
        of_source = [p for p in missing if p.source == source]
        splits = ", ".join(f"{sum(p.split == s for p in of_source)} {s}" for s in ("train", "val", "test")
                           if any(p.split == s for p in of_source))
        parts.append(f"{source} ({splits}; {photo_manifest.INSTALL_HINTS[source]})")
    return ("note: photos: photographs of packages that are not installed are left out: " + "; ".join(parts)
            + ". The figures then cover fewer photographs than the model card's.")



def build(image_size, val_fraction, seed, scales_per_octave=1, max_short_side=None, grey_fraction=0.0) -> Splits:
    size = PHOTOS_DEFAULT_SIZE if image_size is None else image_size
    present, missing = available_photos()
    if missing:
        print(missing_photos_note(missing), file=sys.stderr)
    train_photos, val_photos = present["train"], present["val"]
    if val_fraction == 0:  # no validation: its photographs join the training set
        train_photos, val_photos = train_photos + val_photos, []
    train = PhotoCrops(whole_photo_regions(train_photos, size, scales_per_octave, max_short_side), PHOTOS_TRAIN_CROPS, size,
                       flip=True, seed=seed, stream=TRAIN_STREAM, grey_fraction=grey_fraction)
    val = PhotoCrops(whole_photo_regions(val_photos, size), PHOTOS_EVAL_CROPS if val_photos else 0, size,
                     flip=False, seed=TEST_SPLIT_SEED, stream=VAL_STREAM)
    test = PhotoCrops(whole_photo_regions(present["test"], size), PHOTOS_EVAL_CROPS, size, flip=False,
                      seed=TEST_SPLIT_SEED, stream=TEST_STREAM)
    info = DatasetInfo("photos", 3, size, 256, None, natural_images=True)
    return train, val, test, info



class CropParams(NamedTuple):
    region: int
    top: int
    left: int
    flip: bool
    grey: bool = False


class PhotoCrops(Dataset):
    """``length`` random ``crop_size`` crops of ``regions`` (with random horizontal flips if
    ``flip``, and ``grey_fraction`` of them turned grey: every channel the crop's luma).

    Crop ``index`` is drawn from a NumPy generator seeded by ``(seed, stream, epoch, index)``,
    so it does not depend on the order of access, the DataLoader's workers or the global RNG.
    Call ``set_epoch(e)`` at the start of every training epoch to get new crops (as with
    ``DistributedSampler``); evaluation sets keep epoch 0 and are therefore fixed.
    Each scale (``PhotoRegion.scale``) is equally likely; within a scale, every crop position
    in every region is equally likely.
    """

    def __init__(self, regions: Sequence[PhotoRegion], length: int, crop_size: int, flip: bool, seed: int, stream: int,
                 grey_fraction: float = 0.0):
        if length > 0 and not regions:
            raise ValueError(f"no photo region is large enough for {crop_size}x{crop_size} crops")
        self.regions = list(regions)
        self.length = length
        self.crop_size = crop_size
        self.flip = flip
        self.seed = seed
        self.stream = stream
        self.grey_fraction = grey_fraction
        self.epoch = 0
        weights = np.array([self._num_positions(r) for r in self.regions], dtype=np.float64)
        scales = np.array([r.scale for r in self.regions])
        for scale in np.unique(scales):
            weights[scales == scale] /= weights[scales == scale].sum()
        self.region_probs = weights / weights.sum() if self.regions else weights

    def _num_positions(self, region: PhotoRegion) -> int:
        height, width = region.pixels.shape[1:]
        return (height - self.crop_size + 1) * (width - self.crop_size + 1)

    @property
    def photo_names(self) -> set[str]:
        return {r.name for r in self.regions}

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.length

    def crop_params(self, index: int) -> CropParams:
        if not 0 <= index < self.length:
            raise IndexError(index)
        rng = np.random.default_rng([self.seed, self.stream, self.epoch, index])
        region = int(rng.choice(len(self.regions), p=self.region_probs))
        height, width = self.regions[region].pixels.shape[1:]
        top = int(rng.integers(height - self.crop_size + 1))
        left = int(rng.integers(width - self.crop_size + 1))
        flip = self.flip and bool(rng.integers(2))
        # drawn only when on, so that crops without the option are the very same as before it
        grey = bool(self.grey_fraction) and bool(rng.random() < self.grey_fraction)
        return CropParams(region, top, left, flip, grey)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        region, top, left, flip, grey = self.crop_params(index)
        crop = TF.crop(self.regions[region].pixels, top, left, self.crop_size, self.crop_size)
        if flip:
            crop = TF.horizontal_flip(crop)
        if grey:  # ITU-R 601 luma in every channel
            crop = TF.rgb_to_grayscale(crop, num_output_channels=3)
        return ToUnitInterval(256)(crop), torch.tensor(0, dtype=torch.int64)

