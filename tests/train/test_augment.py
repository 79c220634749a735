import itertools

import pytest
import torch

from train.augment import random_shift


def shifted(image: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """``image`` (C, H, W) moved by (dy, dx), written as clamped indexing: output pixel (i, j)
    is input pixel (i - dy, j - dx), the nearest edge pixel where that falls outside."""
    _, h, w = image.shape
    rows = (torch.arange(h) - dy).clamp(0, h - 1)
    cols = (torch.arange(w) - dx).clamp(0, w - 1)
    return image[:, rows][:, :, cols]


def test_zero_shift_is_the_identity():
    x = torch.rand(3, 2, 6, 6)
    assert random_shift(x, 0) is x


@pytest.mark.parametrize("max_shift", [1, 2])
def test_every_image_is_a_translate_and_every_offset_occurs(max_shift):
    x = torch.randint(0, 256, (400, 2, 7, 9)).float() / 255
    out = random_shift(x, max_shift, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.dtype == x.dtype
    offsets = list(itertools.product(range(-max_shift, max_shift + 1), repeat=2))
    seen = set()
    for image, result in zip(x, out):
        matches = [d for d in offsets if torch.equal(shifted(image, *d), result)]
        assert matches, "each output is its input moved by at most max_shift pixels"
        seen.update(matches)
    assert seen == set(offsets), "every offset in range is drawn"
    assert set(out.unique().tolist()) <= set(x.unique().tolist()), "grey levels stay on the grid"


def test_shifts_follow_the_generator():
    x = torch.rand(16, 1, 8, 8)
    first = random_shift(x, 2, torch.Generator().manual_seed(5))
    assert torch.equal(first, random_shift(x, 2, torch.Generator().manual_seed(5)))
    assert not torch.equal(first, random_shift(x, 2, torch.Generator().manual_seed(6)))
