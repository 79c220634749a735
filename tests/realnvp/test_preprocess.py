"""realnvp.preprocess: the logit map, dequantization and bits/dim."""
import math

import pytest
import torch

from helpers import assert_bijection
from realnvp.preprocess import LogitTransform, bits_per_dim, dequantize


pytestmark = pytest.mark.usefixtures("float64_default")


def test_logit_transform():
    layer = LogitTransform(0.05)
    x = torch.rand(2, 1, 3, 3)
    x[0, 0, 0, 0], x[0, 0, 0, 1] = 0.0, 1.0
    assert_bijection(layer, x)
    z, _ = layer.encode(x)
    assert z[0, 0, 0, 0] == pytest.approx(math.log(0.05 / 0.95))
    with pytest.raises(ValueError):
        LogitTransform(0.5)


def test_dequantize_levels_and_bits_per_dim():
    levels = 17
    k = torch.randint(0, levels, (1000,)).double()
    x = k / (levels - 1)
    d = dequantize(x, levels, generator=torch.Generator().manual_seed(0))
    assert torch.equal(torch.floor(d * levels), k), "noise stays inside the pixel's bin"
    assert torch.allclose(dequantize(x, levels, noise=False), (k + 0.5) / levels)
    lp = torch.tensor([-10.0, 5.0])
    assert torch.allclose(bits_per_dim(lp, 4, 256), (-lp + 4 * math.log(256)) / (4 * math.log(2)))
    # the uniform density on [0,1]^D gives exactly log2(L) bits/dim
    assert bits_per_dim(torch.zeros(1), 10, 256).item() == pytest.approx(8.0)
