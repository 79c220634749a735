"""Data pipelines for training and evaluating Real NVP models: one module per source, and here
the registry that names them.

Every data set yields ``(x, y)``: ``x`` a float32 tensor ``(C, H, W)`` whose values are
exactly ``k / (L - 1)`` for integer grey levels ``k`` in ``0..L-1`` (``L = info.num_levels``),
and ``y`` a 0-dim int64 class label (0 for unlabelled data).

``build_datasets(name, ...)`` returns ``(train, val, test, info)``. Validation images never
come from the test set: they are carved out of the training images, or (``photos``) are crops
of their own held-out photograph. Offline: ``mnist5k``, ``digits``, ``photos``, ``photos-v1``,
and ``fashion-mnist`` where Debian's ``dataset-fashion-mnist`` is installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import digits, fashion_mnist, mnist5k, photos, photos_v1, torchvision_sets
from .base import (TEST_SPLIT_SEED, ArrayImages, DatasetInfo, ImageSubset, Splits, ToUnitInterval, split_off,
                   validation_trained_on_by)
from .fashion_mnist import read_idx
from .photos import (PhotoChecksumError, PhotoCrops, PhotoRegion, available_photos, load_photo, missing_photos_note,
                     photo_short_sides, scale_regions, scaled_to_short_sides)


@dataclass(frozen=True)
class Request:
    """What ``build_datasets`` was asked for; each source reads the fields it uses."""

    root: str
    image_size: int | None
    val_fraction: float
    seed: int
    download: bool
    folder: str | Path | None
    verify: bool
    photo_scales_per_octave: int
    photo_max_side: int | None
    photo_grey_fraction: float


# The registry: each data set's name and how to build it, in the order the command line lists them.
BUILDERS: dict[str, Callable[[Request], Splits]] = {
    "mnist5k": lambda r: mnist5k.build(r.image_size, r.val_fraction, r.seed),
    "digits": lambda r: digits.build(r.image_size, r.val_fraction, r.seed),
    "photos": lambda r: photos.build(r.image_size, r.val_fraction, r.seed, r.photo_scales_per_octave, r.photo_max_side,
                                     r.photo_grey_fraction),
    "photos-v1": lambda r: photos_v1.build(r.image_size, r.val_fraction, r.seed),
    "mnist": lambda r: torchvision_sets.build_mnist(r.root, r.image_size, r.val_fraction, r.seed, r.download),
    "fashion-mnist": lambda r: fashion_mnist.build(r.root, r.image_size, r.val_fraction, r.seed, r.download),
    "cifar10": lambda r: torchvision_sets.build_cifar10(r.root, r.image_size, r.val_fraction, r.seed, r.download, r.verify),
    "celeba": lambda r: torchvision_sets.build_celeba(r.root, r.image_size, r.download, r.verify),
    "folder": lambda r: torchvision_sets.build_folder(r.folder, r.image_size, r.val_fraction, r.seed),
}
DATASET_NAMES = tuple(BUILDERS)

__all__ = [
    "DATASET_NAMES", "BUILDERS", "TEST_SPLIT_SEED", "ArrayImages", "DatasetInfo", "ImageSubset", "PhotoChecksumError",
    "PhotoCrops", "PhotoRegion", "ToUnitInterval", "available_photos", "build_datasets", "load_photo",
    "missing_photos_note", "photo_short_sides", "read_idx", "scale_regions", "scaled_to_short_sides", "split_off",
    "validation_trained_on_by",
]


def build_datasets(
    name: str,
    root: str | Path = "data",
    image_size: int | None = None,
    val_fraction: float = 0.1,
    seed: int = 0,
    download: bool = True,
    folder: str | Path | None = None,
    verify: bool = True,
    photo_scales_per_octave: int = 1,
    photo_max_side: int | None = None,
    photo_grey_fraction: float = 0.0,
) -> Splits:
    """Return ``(train, val, test, info)`` for data set ``name`` (one of ``DATASET_NAMES``).

    ``root``: where torchvision data sets live or are downloaded to (unused by the offline
    ``mnist5k``, ``digits``, ``photos``, ``photos-v1`` and by ``folder``); ``fashion-mnist``
    is read from IDX files in ``root`` or Debian's ``/usr/share/datasets/fashion-mnist`` before
    any download. ``image_size``: crop size for ``photos`` (default 32), output size for
    ``celeba`` and ``folder`` (default 64); the other data sets only accept their native size.
    ``val_fraction`` of the training images, chosen by ``seed``, form the validation set; test
    sets never depend on ``seed``. ``photos`` holds out whole photographs instead: any
    ``val_fraction > 0`` gives 1,000 fixed crops of its validation photographs, 0 moves them
    into training. ``folder``: the image directory for ``folder``. ``verify=False`` skips
    torchvision's MD5 checks of CIFAR-10 and CelebA files (for copies that are present but not
    byte-identical to the official release); downloads are always verified.
    ``photo_scales_per_octave`` > 1 (``photos`` only) adds training crops at shorter sides between
    the test protocol's (see ``photo_short_sides``); ``photo_max_side`` (``photos`` only) extends
    the training sides from 256 px up to that shorter side; ``photo_grey_fraction`` (``photos`` only)
    of the training crops are turned grey. Validation and test are unaffected.
    """
    if name not in DATASET_NAMES:
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(DATASET_NAMES)}")
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    if image_size is not None and image_size < 1:
        raise ValueError(f"image_size must be positive, got {image_size}")
    if (photo_scales_per_octave != 1 or photo_max_side is not None or photo_grey_fraction) and name != "photos":
        raise ValueError(f"photo_scales_per_octave, photo_max_side and photo_grey_fraction are for the photos data "
                         f"set, not {name}")
    return BUILDERS[name](Request(str(root), image_size, val_fraction, seed, download, folder, verify,
                                  photo_scales_per_octave, photo_max_side, photo_grey_fraction))
