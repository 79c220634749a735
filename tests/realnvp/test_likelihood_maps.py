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


def test_with_learned_noise_each_pixel_carries_its_log_q_and_the_total_is_the_discrete_figure():
    model = tiny_model(3, 4, 2, dequantizer_hidden=8)
    x = torch.randint(0, 256, (1, 3, 4, 4)).double() / 255
    xd, log_q = model.dequantize_with_log_q(x, generator=torch.Generator().manual_seed(0))
    bits, terms, bpd = likelihood_maps.likelihood_report(model, xd.detach(), log_q=log_q.detach())
    with torch.no_grad():
        figure = float(model.discrete_bits_per_dim(x, generator=torch.Generator().manual_seed(0))[0])
    assert bpd == pytest.approx(figure, abs=1e-9)
    assert bits.mean().item() == pytest.approx(figure, abs=1e-9) and sum(terms.values()) == pytest.approx(figure, abs=1e-9)
    # the pixels' shares differ from the flow's alone by each pixel's own log q, in bits per value
    without = likelihood_maps.bits_map(model, xd.detach())[0]
    expected = log_q.detach().sum(1)[0] / (3 * torch.log(torch.tensor(2.0, dtype=torch.float64)))
    assert torch.allclose(bits - without, expected, atol=1e-9)
    assert terms["learned dequantization noise (log q)"] != 0
