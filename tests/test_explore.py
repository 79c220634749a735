"""The functions behind the app, tested without it."""
import math

import numpy as np
import pytest
import torch

from conftest import tiny_model
from realnvp import explore


@pytest.fixture(scope="module")
def model():
    return tiny_model(1, 8, 2, dtype=torch.float64)


def images(n, seed=0):
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 0.9 + 0.05


def test_manifold_corners_are_the_four_images(model):
    x = images(4)
    grid = explore.interpolation_manifold(model, x, size=3)
    assert grid.shape == (9, 1, 8, 8)
    # a = 0, b = 0 -> z1; a = 0, b = pi/2 -> z2; a = pi/2, b = 0 -> z3; a = b = pi/2 -> z4
    for index, corner in zip([0, 2, 6, 8], range(4)):
        assert torch.allclose(grid[index], x[corner], atol=1e-9)
    assert not torch.allclose(grid[4], x[0], atol=1e-3)
    with pytest.raises(ValueError, match="exactly 4"):
        explore.interpolation_manifold(model, x[:3], 3)


def test_pair_interpolation_ends(model):
    x = images(2)
    row = explore.interpolate_pair(model, x[:1], x[1:], steps=5)
    assert row.shape == (5, 1, 8, 8)
    assert torch.allclose(row[0], x[0], atol=1e-9) and torch.allclose(row[-1], x[1], atol=1e-9)


def test_per_scale_reconstructions(model):
    x = images(1)
    rows, captions = explore.per_scale_reconstructions(model, x, mode="zero")
    assert rows.shape == (3, 1, 8, 8) and len(captions) == 3
    assert torch.allclose(rows[0], x[0], atol=1e-9)  # all scales kept: exact
    assert torch.allclose(rows[-1:], model.sample(1, temperature=0.0))  # nothing kept, zeros: the mode
    # keeping the coarsest scale: its latent, zeros at the finer one
    z = model.encode(x)
    expected = model.decode([torch.zeros_like(z[0]), z[1]]).clamp(0, 1)
    assert torch.allclose(rows[1:2], expected)
    a, _ = explore.per_scale_reconstructions(model, x, mode="resample", temperature=1.0, seed=1)
    b, _ = explore.per_scale_reconstructions(model, x, mode="resample", temperature=1.0, seed=2)
    assert torch.equal(a[0], b[0]) and not torch.equal(a[1], b[1])
    with pytest.raises(ValueError, match="mode"):
        explore.per_scale_reconstructions(model, x, mode="blur")
    assert explore.round_trip_error(model, x) < 1e-9


def test_bits_map_and_breakdown_add_up(model):
    x = images(1)
    bpd = model.bits_per_dim(x).item()
    assert explore.bits_map(model, x).mean().item() == pytest.approx(bpd, rel=1e-10)
    parts = explore.breakdown_bits_per_dim(model, x)
    assert sum(parts.values()) == pytest.approx(bpd, rel=1e-10)
    assert parts["dequantization (256 levels)"] == 8.0


def test_colour_helpers():
    heat = explore.colorize(np.linspace(0, 1, 12).reshape(3, 4), 0.0, 1.0)
    assert heat.dtype == np.uint8 and heat.shape == (3, 4, 3)
    assert not np.array_equal(heat[0, 0], heat[-1, -1])
    image = np.zeros((3, 4, 3), np.uint8)
    assert explore.overlay(image, heat, 1.0).tolist() == heat.tolist()
    picture = explore.figure_to_image(explore.heatmap_figure(image, np.random.rand(3, 4), "bits"))
    assert picture.dtype == np.uint8 and picture.ndim == 3 and picture.std() > 0
    grid = explore.grid_image(torch.rand(6, 1, 8, 8), nrow=3)
    assert grid.dtype == np.uint8 and grid.shape == (2 * 10 + 2, 3 * 10 + 2, 3)


def test_completion_keeps_known_pixels_and_raises_likelihood(model):
    x = images(1)
    erased = torch.zeros(1, 1, 8, 8, dtype=torch.bool)
    erased[..., 2:6, 2:6] = True
    seen = []
    out, history = explore.complete(model, x, erased, steps=30, lr=0.1, progress=lambda i, n, b: seen.append(i))
    assert torch.equal(out[~erased.expand_as(out)], x[~erased.expand_as(x)])
    assert history[-1] < history[0] and len(history) == 30 and seen[-1] == 30
    assert out.min() >= 0 and out.max() <= 1
    # the result is (near) a local optimum: better than the original pixels' likelihood or close to it
    assert model.bits_per_dim(out).item() <= history[0]
    assert all(p.grad is None for p in model.parameters()), "completion must not touch the model's gradients"
    with pytest.raises(ValueError, match="nothing is erased"):
        explore.complete(model, x, torch.zeros_like(erased), steps=1)
