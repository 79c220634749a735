"""realnvp.explore: the tensor functions behind the app, tested without it."""
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


def test_scale_temperatures():
    assert explore.scale_temperatures(1, 0.9, 0.1) == [0.9]
    assert explore.scale_temperatures(3, 1.0, 0.2) == pytest.approx([0.2, 0.6, 1.0])  # finest first


def test_sample_grid_is_seeded(model):
    a, b = (explore.sample_grid(model, 3, 0.8, seed=1) for _ in range(2))
    assert a.shape == (3, 1, 8, 8) and torch.equal(a, b)
    assert not torch.equal(a, explore.sample_grid(model, 3, 0.8, seed=2))
    cold = explore.sample_grid(model, 2, [0.0, 0.0], seed=1)  # one temperature per scale, all zero: the mode
    assert torch.allclose(cold, model.sample(2, temperature=0.0))


def test_class_log_likelihoods_and_posterior():
    model = tiny_model(size=8, num_classes=4)
    x = images(1)
    log_p = explore.class_log_likelihoods(model, x)
    assert log_p.shape == (4,)
    for y in range(4):
        assert log_p[y].item() == pytest.approx(model.log_prob(x, y).item(), rel=1e-12)
    posterior = explore.class_posterior(model, x)
    assert posterior.sum().item() == pytest.approx(1.0)
    assert int(posterior.argmax()) == int(log_p.argmax())
    # Bayes with a uniform prior: the ratio of posteriors is the ratio of likelihoods
    assert (posterior[0] / posterior[1]).log().item() == pytest.approx((log_p[0] - log_p[1]).item(), rel=1e-9)
    with pytest.raises(ValueError, match="not class-conditional"):
        explore.class_log_likelihoods(tiny_model(size=8), x)


def test_rectangle_mask():
    mask = explore.rectangle_mask(10, 8, 0.5, 1.0, 0.0, 0.5)
    assert mask.shape == (1, 1, 10, 8) and mask.dtype == torch.bool
    assert mask[0, 0, 5:, :4].all() and mask.sum() == 20
    assert explore.rectangle_mask(10, 10, 0.41, 0.42, 0.0, 1.0).sum() == 10  # a sliver still erases a row
    with pytest.raises(ValueError, match="the rectangle is empty"):
        explore.rectangle_mask(10, 10, 0.6, 0.4, 0, 1)
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="between 0 and 1"):
            explore.rectangle_mask(10, 10, 0, bad, 0, 1)


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


def test_complete_under_no_grad_with_trainable_parameters():
    model = tiny_model(size=8, dtype=torch.float32)
    assert all(p.requires_grad for p in model.parameters())
    x = images(1, seed=3).float()
    erased = explore.rectangle_mask(8, 8, 0.5, 1.0, 0.0, 1.0)
    with torch.no_grad():  # the app may call it anywhere; autograd is switched on inside
        filled, history = explore.complete(model, x, erased, steps=20, lr=0.1)
    assert torch.equal(filled[~erased.expand_as(x)], x[~erased.expand_as(x)])
    assert history[-1] < history[0]
    assert all(p.grad is None for p in model.parameters())
