"""What the tests share besides fixtures: small random models, the bijection check (exact inverse,
and log-det against the autograd Jacobian), and the fake photographs' crop size."""
from pathlib import Path

import torch

from realnvp.checks import jacobian_logabsdet, randomize_  # noqa: F401  (for the tests)
from realnvp.checks import random_model as tiny_model  # noqa: F401  (for the tests)

ROOT = Path(__file__).resolve().parent.parent  # the checkout
FAKE_CROP = 8  # the fake photographs' crop size (conftest.fake_photos): shorter sides 16, 32 and 64 px


def assert_bijection(layer, x, y=None, atol=1e-9):
    """encode/decode invert each other; each direction's log-det matches autograd; per sample."""
    z, ld = layer.encode(x, y)
    assert ld.shape == z.shape
    x_back, ld_back = layer.decode(z, y)
    assert torch.allclose(x_back, x, atol=atol, rtol=0), (x_back - x).abs().max()
    assert torch.allclose(ld.flatten(1).sum(1), -ld_back.flatten(1).sum(1), atol=atol)
    for b in range(x.shape[0]):
        yb = None if y is None else y[b : b + 1]
        expected = jacobian_logabsdet(lambda v: layer.encode(v[None], yb)[0][0], x[b])
        assert torch.allclose(ld[b].sum(), expected, rtol=1e-7, atol=1e-9), (ld[b].sum(), expected)
        expected_inv = jacobian_logabsdet(lambda v: layer.decode(v[None], yb)[0][0], z[b])
        assert torch.allclose(ld_back[b].sum(), expected_inv, rtol=1e-7, atol=1e-9)
    return z, ld


def grey_images(n: int, seed: int = 0) -> torch.Tensor:
    """n float64 one-channel 8x8 images in (0.05, 0.95), from `seed`."""
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 0.9 + 0.05


def noise(shape, seed: int = 0):
    """uint8 noise of `shape` (numpy), from `seed`: an image no codec can shrink."""
    import numpy as np

    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def run_in_threads(target, count: int = 4) -> None:
    """Run `target` on `count` threads at once and wait for them all."""
    import threading

    threads = [threading.Thread(target=target) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
