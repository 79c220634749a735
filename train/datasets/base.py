"""What every data set shares: its description (``DatasetInfo``), the image containers, the
conversion of grey levels to ``k / (L - 1)`` floats, and the seeded splits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch.utils.data import Dataset
from torchvision.transforms import v2

# Fixed seeds for the splits that must never change, whatever `seed` a run uses.
TEST_SPLIT_SEED = 0

Splits = tuple[Dataset, Dataset, Dataset, "DatasetInfo"]  # (train, val, test, info)

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




def check_native_size(name: str, image_size: int | None, native: int) -> int:
    if image_size is not None and image_size != native:
        raise ValueError(f"{name} images are {native}x{native}; image_size={image_size} is not supported for it")
    return native


def pil_transform(flip: bool, resize: Sequence[Callable] = ()) -> v2.Compose:
    """PIL image -> uint8 tensor -> optional resizing/cropping and flips -> k/255 floats."""
    steps: list[Callable] = [v2.ToImage(), *resize]
    if flip:
        steps.append(v2.RandomHorizontalFlip())
    steps.append(ToUnitInterval(256))
    return v2.Compose(steps)
