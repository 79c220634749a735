"""realnvp.likelihood_maps: bits per pixel and the bits/dim breakdown."""

import pytest
import torch

from helpers import tiny_model
from realnvp import likelihood_maps
from helpers import grey_images as images

def test_bits_map_and_breakdown_add_up(model):
    x = images(1)
    bpd = model.bits_per_dim(x).item()
    assert likelihood_maps.bits_map(model, x).mean().item() == pytest.approx(bpd, rel=1e-10)
    parts = likelihood_maps.breakdown_bits_per_dim(model, x)
    assert sum(parts.values()) == pytest.approx(bpd, rel=1e-10)
    assert parts["dequantization (256 levels)"] == 8.0


def test_likelihood_report_is_the_map_breakdown_and_bits_per_dim_from_one_pass():
    model = tiny_model(1, 8, 2)
    x = model.dequantize(torch.rand(1, 1, 8, 8, dtype=torch.float64), generator=torch.Generator().manual_seed(0))
    bits, terms, bpd = likelihood_maps.likelihood_report(model, x)
    with torch.no_grad():
        assert torch.equal(bits, likelihood_maps.bits_map(model, x)[0])
        assert terms == likelihood_maps.breakdown_bits_per_dim(model, x)
        assert bpd == float(model.bits_per_dim(x)[0])
    assert abs(sum(terms.values()) - bpd) < 1e-9 and abs(bits.mean().item() - bpd) < 1e-9
