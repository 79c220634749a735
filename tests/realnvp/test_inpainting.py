"""realnvp.inpainting: maximized and sampled completions, checked against the exact conditional."""

import numpy as np
import pytest
import torch
from PIL import Image

from helpers import tiny_model
from realnvp import RealNVP
from realnvp import inpainting
from helpers import ROOT
from helpers import grey_images as images

def test_rectangle_mask():
    mask = inpainting.rectangle_mask(10, 8, 0.5, 1.0, 0.0, 0.5)
    assert mask.shape == (1, 1, 10, 8) and mask.dtype == torch.bool
    assert mask[0, 0, 5:, :4].all() and mask.sum() == 20
    assert inpainting.rectangle_mask(10, 10, 0.41, 0.42, 0.0, 1.0).sum() == 10  # a sliver still erases a row
    with pytest.raises(ValueError, match="the rectangle is empty"):
        inpainting.rectangle_mask(10, 10, 0.6, 0.4, 0, 1)
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="between 0 and 1"):
            inpainting.rectangle_mask(10, 10, 0, bad, 0, 1)


def test_completion_keeps_known_pixels_and_raises_likelihood(model):
    x = images(1)
    erased = torch.zeros(1, 1, 8, 8, dtype=torch.bool)
    erased[..., 2:6, 2:6] = True
    seen = []
    out, history = inpainting.complete(model, x, erased, steps=30, lr=0.1, progress=lambda i, n, b: seen.append(i))
    assert torch.equal(out[~erased.expand_as(out)], x[~erased.expand_as(x)])
    assert history[-1] < history[0] and len(history) == 30 and seen[-1] == 30
    assert out.min() >= 0 and out.max() <= 1
    # the result is (near) a local optimum: better than the original pixels' likelihood or close to it
    assert model.bits_per_dim(out).item() <= history[0]
    assert all(p.grad is None for p in model.parameters()), "completion must not touch the model's gradients"
    with pytest.raises(ValueError, match="nothing is erased"):
        inpainting.complete(model, x, torch.zeros_like(erased), steps=1)


def test_complete_under_no_grad_with_trainable_parameters():
    model = tiny_model(size=8, dtype=torch.float32)
    assert all(p.requires_grad for p in model.parameters())
    x = images(1, seed=3).float()
    erased = inpainting.rectangle_mask(8, 8, 0.5, 1.0, 0.0, 1.0)
    with torch.no_grad():  # the app may call it anywhere; autograd is switched on inside
        filled, history = inpainting.complete(model, x, erased, steps=20, lr=0.1)
    assert torch.equal(filled[~erased.expand_as(x)], x[~erased.expand_as(x)])
    assert history[-1] < history[0]
    assert all(p.grad is None for p in model.parameters())


def test_completion_defaults_beat_the_old_defaults_in_fewer_steps():
    """The defaults (50 Adam steps at lr 0.2) end below the bits/dim that the old ones (100 steps at
    lr 0.05) reach, on the bundled mnist model with the lower half of a digit erased."""
    model = RealNVP.from_pretrained(ROOT / "assets" / "models" / "mnist").eval()
    digit = sorted((ROOT / "assets" / "examples" / "mnist").glob("digit9_*.png"))[0]
    x = torch.from_numpy(np.asarray(Image.open(digit).convert("L"), dtype=np.float32) / 255)[None, None]
    erased = inpainting.rectangle_mask(28, 28, 0.5, 1.0, 0.0, 1.0)
    _, new = inpainting.complete(model, x, erased)
    _, old = inpainting.complete(model, x, erased, steps=100, lr=0.05)
    assert len(new) == 50 and new[-1] < old[-1]


def erased_square():
    erased = torch.zeros(1, 1, 8, 8, dtype=torch.bool)
    erased[..., 2:6, 3:7] = True
    return erased


def test_sampled_completions_keep_known_pixels_and_differ(model):
    x = images(1, seed=7)
    erased = erased_square()
    seen = []
    one = inpainting.sample_completions(model, x, erased, n=3, steps=15, mcmc_steps=10, seed=1,
                                     progress=lambda i, total, phase: seen.append((i, total, phase)))
    assert one.images.shape == (3, 1, 8, 8) and one.history.shape == (10, 3)
    known = ~erased.expand_as(one.images)
    assert torch.equal(one.images[known], x.expand_as(one.images)[known])  # known pixels never change
    assert one.images.min() >= 0 and one.images.max() <= 1
    assert torch.isfinite(one.bits_per_dim).all()
    assert torch.allclose(one.bits_per_dim, model.bits_per_dim(one.images).double())  # reported = measured
    assert not torch.allclose(one.images[0], one.images[1], atol=1e-3)  # the chains differ
    other = inpainting.sample_completions(model, x, erased, n=3, steps=15, mcmc_steps=10, seed=2)
    assert not torch.allclose(one.images, other.images, atol=1e-3)  # and so do the seeds
    again = inpainting.sample_completions(model, x, erased, n=3, steps=15, mcmc_steps=10, seed=1)
    assert torch.equal(one.images, again.images)  # a seed gives the same completions
    assert seen[-1] == (25, 25, seen[-1][2]) and seen[0][2] == "latent search" and "Langevin" in seen[-1][2]
    assert ((one.acceptance >= 0) & (one.acceptance <= 1)).all()
    assert all(p.grad is None for p in model.parameters())
    with pytest.raises(ValueError, match="nothing is erased"):
        inpainting.sample_completions(model, x, torch.zeros_like(erased), steps=1)


def test_langevin_is_stationary_and_climbs_from_noise():
    model = tiny_model(size=8, dtype=torch.float64, seed=3)
    erased = erased_square()
    with torch.no_grad():
        x = model.sample(1, generator=torch.Generator().manual_seed(0)).clamp(0.01, 0.99)
    # from noise the chains climb towards the typical set of the conditional
    cold = inpainting.langevin_completions(model, x, erased, n=2, steps=60, seed=0)
    assert cold.history[-5:].mean() < cold.history[:5].mean()
    # started at a draw of the model, the exact chain stays around its bits/dim
    warm = inpainting.langevin_completions(model, x, erased, n=2, steps=40, seed=0, start=x)
    start = model.bits_per_dim(x).item()
    assert (warm.history - start).abs().max() < 1.0
    assert ((warm.acceptance > 0.1) & (warm.acceptance <= 1)).all()
    known = ~erased.expand_as(warm.images)
    assert torch.equal(warm.images[known], x.expand_as(warm.images)[known])


def test_latent_completions_fit_the_known_pixels_under_no_grad():
    model = tiny_model(size=8, dtype=torch.float32)
    assert all(p.requires_grad for p in model.parameters())
    x = images(1, seed=3).float()
    erased = inpainting.rectangle_mask(8, 8, 0.5, 1.0, 0.0, 1.0)
    with torch.no_grad():
        filled = inpainting.latent_completions(model, x, erased, n=2, steps=40, seed=0)
        fewer = inpainting.latent_completions(model, x, erased, n=2, steps=5, seed=0)
    known = ~erased.expand_as(filled)
    assert torch.equal(filled[known], x.expand_as(filled)[known])
    assert all(p.grad is None for p in model.parameters())
    # the search works: from the same starts (same seed), more steps give every chain a completion
    # the model finds more likely (the known pixels are pasted back either way, so this is the search's doing)
    with torch.no_grad():
        more, less = model.bits_per_dim(filled), model.bits_per_dim(fewer)
    assert (more < less).all(), (more, less)
    with pytest.raises(ValueError, match="one image"):
        inpainting.latent_completions(model, x.expand(2, -1, -1, -1), erased)


def test_sampled_completions_search_at_the_latent_rate_given():
    model = tiny_model(size=8, dtype=torch.float32)
    x = images(1, seed=3).float()
    erased = inpainting.rectangle_mask(8, 8, 0.5, 1.0, 0.0, 1.0)
    searched = inpainting.latent_completions(model, x, erased, n=2, steps=6, seed=4, lr=0.3)
    sampled = inpainting.sample_completions(model, x, erased, n=2, steps=6, mcmc_steps=0, seed=4, latent_lr=0.3)
    assert torch.equal(sampled.images, searched)  # the rate reaches the search
    other = inpainting.sample_completions(model, x, erased, n=2, steps=6, mcmc_steps=0, seed=4, latent_lr=0.05)
    assert not torch.allclose(other.images, searched, atol=1e-4)


GRID = 4000  # cells of the exact conditional's grid on (0, 1)


def exact_conditional(model, x, pixel, power):
    """The exact distribution of one erased value v in (0, 1) given the rest of x, with density
    proportional to p(x with v)^power, on GRID equal cells (piecewise constant): the CDF at the
    cells' right edges, with a leading 0."""
    v = (torch.arange(GRID, dtype=torch.float64) + 0.5) / GRID
    filled = x.repeat(GRID, 1, 1, 1)
    filled[(slice(None), *pixel)] = v
    with torch.no_grad():
        log_p = model.log_prob(filled)
    return torch.cat([torch.zeros(1, dtype=torch.float64), torch.cumsum(torch.softmax(log_p * power, 0), 0)])


def exact_draws(cdf, n, generator):
    """n independent draws from the grid distribution (inverse CDF, uniform within the cell)."""
    u = torch.rand(n, generator=generator, dtype=torch.float64)
    cell = (torch.searchsorted(cdf, u, right=True) - 1).clamp(0, GRID - 1)
    return (cell + torch.rand(n, generator=generator, dtype=torch.float64)) / GRID


def ks_statistic(values, cdf):
    """Kolmogorov-Smirnov distance between the empirical distribution of `values` and the grid
    distribution (its CDF is linear within each cell)."""
    s = values.double().sort().values
    cell = (s * GRID).floor().long().clamp(0, GRID - 1)
    at = cdf[cell] + (s * GRID - cell) * (cdf[cell + 1] - cdf[cell])
    k = torch.arange(1, len(s) + 1, dtype=torch.float64)
    return max((k / len(s) - at).max().item(), (at - (k - 1) / len(s)).max().item())


def test_langevin_samples_the_exact_conditional_at_each_temperature():
    """The docstring's claim: the chain's stationary distribution is exactly
    p(x_erased | x_known)^(1/T^2). One erased value of a 4x4 model: its exact conditional is computed
    on a fine grid from log_prob; 1,000 chains started at exact draws must still be distributed
    exactly so after their Langevin steps (Kolmogorov-Smirnov distance below 0.062, the 0.1%
    critical value for 1,000 draws; the chains end at 0.03). Dropping the Metropolis-Hastings
    proposal correction, accepting every proposal, dropping the sigmoid's Jacobian from the target or
    ignoring the temperature each moves it to 0.16-0.32 in one of the two cases."""
    model = tiny_model(1, 4, 2, dtype=torch.float64, seed=0)
    with torch.no_grad():
        x = model.sample(1, generator=torch.Generator().manual_seed(0)).clamp(0.01, 0.99)
    pixel = (0, 1, 2)
    erased = torch.zeros(1, 1, 4, 4, dtype=torch.bool)
    erased[(0, *pixel)] = True
    n, critical = 1000, 0.062
    generator = torch.Generator().manual_seed(1)
    # T = 1 with step-size adaptation (the first half of the steps); T = 0.6 with a fixed, large step (no adaptation)
    for temperature, options in ((1.0, dict(steps=30, step_size=0.8)), (0.6, dict(steps=20, step_size=1.5, adapt=0.0))):
        cdf = exact_conditional(model, x, pixel, 1 / temperature ** 2)
        start = x.repeat(n, 1, 1, 1)
        start[(slice(None), *pixel)] = exact_draws(cdf, n, generator)
        assert ks_statistic(start[(slice(None), *pixel)], cdf) < critical  # the draws are right
        chains = inpainting.langevin_completions(model, x, erased, n=n, temperature=temperature, seed=2, start=start,
                                              **options)
        distance = ks_statistic(chains.images[(slice(None), *pixel)], cdf)
        assert distance < critical, (temperature, distance)
        moved = (chains.images[(slice(None), *pixel)] != start[(slice(None), *pixel)]).double().mean().item()
        assert moved > 0.5, (temperature, moved)  # the chains did move
        if temperature != 1.0:
            # the temperature matters here: the T = 1 conditional is far from these draws
            assert ks_statistic(chains.images[(slice(None), *pixel)], exact_conditional(model, x, pixel, 1.0)) > 0.1
            # a step this large must be refused often: Metropolis-Hastings rejects
            assert 0.02 < chains.acceptance.mean().item() < 0.5, chains.acceptance.mean()
