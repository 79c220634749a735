"""realnvp.sampling: seeded sample grids and per-scale temperatures."""

import pytest
import torch

from realnvp import sampling

def test_scale_temperatures():
    assert sampling.scale_temperatures(1, 0.9, 0.1) == [0.9]
    assert sampling.scale_temperatures(3, 1.0, 0.2) == pytest.approx([0.2, 0.6, 1.0])  # finest first


def test_per_scale_temperatures_apply_to_their_own_scale(model):
    """One temperature per scale, finest first: a zero temperature gives exactly zero latents at
    that scale and only there."""
    for temps in ([0.0, 0.8], [0.8, 0.0]):
        latents = model.sample_latents(3, temps, torch.Generator().manual_seed(0))
        assert [z.shape[1:] for z in latents] == [s for s in model.latent_shapes(8, 8)]
        for z, t in zip(latents, temps):
            assert torch.count_nonzero(z) == (0 if t == 0 else z.numel()), (temps, t)
    # the app's per-scale temperatures (finest first) reach the scales they name
    finest_cold = sampling.scale_temperatures(2, coarse=1.0, fine=0.0)
    latents = model.sample_latents(2, finest_cold, torch.Generator().manual_seed(0))
    assert torch.count_nonzero(latents[0]) == 0 and torch.count_nonzero(latents[1]) == latents[1].numel()
    # and the scale's latent is what decoding sees: only the coarse scale's latents are in the sample
    sample = sampling.sample_grid(model, 2, finest_cold, seed=4)
    with torch.no_grad():
        expected = model.decode(model.sample_latents(2, finest_cold, torch.Generator().manual_seed(4))).clamp(0, 1)
    assert torch.allclose(sample, expected, rtol=0, atol=1e-12)


def test_sample_grid_is_seeded(model):
    a, b = (sampling.sample_grid(model, 3, 0.8, seed=1) for _ in range(2))
    assert a.shape == (3, 1, 8, 8) and torch.equal(a, b)
    assert not torch.equal(a, sampling.sample_grid(model, 3, 0.8, seed=2))
    cold = sampling.sample_grid(model, 2, [0.0, 0.0], seed=1)  # one temperature per scale, all zero: the mode
    assert torch.allclose(cold, model.sample(2, temperature=0.0))
