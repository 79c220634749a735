"""The torchvision data sets read from (or downloaded to) ``root``: MNIST, CIFAR-10, CelebA, and
an image folder of class sub-folders."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from torch.utils.data import Dataset
from torchvision import datasets as tv_datasets
from torchvision.transforms import v2

from .base import TEST_SPLIT_SEED, DatasetInfo, ImageSubset, Splits, check_native_size, pil_transform, split_off

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


def build_mnist(root, image_size, val_fraction, seed, download) -> Splits:
    name, cls = "mnist", tv_datasets.MNIST
    size = check_native_size(name, image_size, 28)
    path = Path(root) / cls.__name__ / "raw"
    train_base = _open(lambda: cls(root, train=True, download=download), name, path, download)
    test_base = _open(lambda: cls(root, train=False, download=download), name, path, download)
    train, val = split_off(range(len(train_base)), val_fraction, seed)
    transform = pil_transform(flip=False)
    info = DatasetInfo(name, 1, size, 256, 10, natural_images=False)
    return (
        ImageSubset(train_base, train, transform),
        ImageSubset(train_base, val, transform),
        ImageSubset(test_base, None, transform),
        info,
    )



def build_cifar10(root, image_size, val_fraction, seed, download, verify) -> Splits:
    size = check_native_size("cifar10", image_size, 32)
    cls = tv_datasets.CIFAR10 if verify else _CIFAR10Unverified
    path = Path(root) / cls.base_folder
    train_base = _open(lambda: cls(root, train=True, download=download), "CIFAR-10", path, download, _UNVERIFIED_HINT)
    test_base = _open(lambda: cls(root, train=False, download=download), "CIFAR-10", path, download, _UNVERIFIED_HINT)
    train, val = split_off(range(len(train_base)), val_fraction, seed)
    info = DatasetInfo("cifar10", 3, size, 256, 10, natural_images=True)
    return (
        ImageSubset(train_base, train, pil_transform(flip=True)),
        ImageSubset(train_base, val, pil_transform(flip=False)),
        ImageSubset(test_base, None, pil_transform(flip=False)),
        info,
    )


CELEBA_CROP = 148  # centre crop of the 178x218 aligned faces, as in the Real NVP paper
CELEBA_DEFAULT_SIZE = 64


def build_celeba(root, image_size, download, verify) -> Splits:
    size = CELEBA_DEFAULT_SIZE if image_size is None else image_size
    cls = tv_datasets.CelebA if verify else _CelebAUnverified
    path = Path(root) / cls.base_folder
    hint = _UNVERIFIED_HINT + " (Downloading CelebA needs the gdown package and often hits Google Drive quotas.)"

    def split(name: str, flip: bool) -> ImageSubset:
        base = _open(lambda: cls(root, split=name, target_type=[], download=download), "CelebA", path, download, hint)
        resize = (v2.CenterCrop(CELEBA_CROP), v2.Resize(size, antialias=True))
        return ImageSubset(base, None, pil_transform(flip, resize), labeled=False)

    info = DatasetInfo("celeba", 3, size, 256, None, natural_images=True)
    # CelebA has its own validation split, so val_fraction and seed do not apply.
    return split("train", True), split("valid", False), split("test", False), info


FOLDER_TEST_FRACTION = 0.1
FOLDER_DEFAULT_SIZE = 64


def build_folder(folder, image_size, val_fraction, seed) -> Splits:
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
        ImageSubset(base, train, pil_transform(True, resize), labeled),
        ImageSubset(base, val, pil_transform(False, resize), labeled),
        ImageSubset(base, test, pil_transform(False, resize), labeled),
        info,
    )

