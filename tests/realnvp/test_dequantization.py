"""The learned dequantization noise q(u | k) (Flow++ section 3.1): its log-density, its start as
uniform noise, its bins, and the discrete bound it gives."""
import math

import pytest
import torch
from scipy import stats

from helpers import tiny_model
from realnvp import RealNVP
from realnvp.checks import jacobian_logabsdet
from realnvp.dequantization import VariationalDequantizer


def random_dequantizer(channels: int, seed: int = 0, log_scale: float = 0.0) -> VariationalDequantizer:
    torch.manual_seed(seed)
    q = VariationalDequantizer(channels, 8).double()
    with torch.no_grad():
        torch.nn.init.normal_(q.out.weight, std=0.3)
        torch.nn.init.normal_(q.out.bias, std=0.3)
        q.out.bias[channels:2 * channels] += log_scale
    return q


@pytest.mark.parametrize("channels", [1, 3])
def test_log_q_is_the_density_of_u_by_change_of_variables(channels):
    q = random_dequantizer(channels)
    k = torch.randint(0, 256, (1, channels, 3, 2)).double() / 255
    eps = torch.randn(1, channels, 3, 2, dtype=torch.float64)
    u, log_q = q(k, eps)
    # u is a bijection of eps (given k): log q(u) = log N(eps) - log|du/deps|
    expected = (-0.5 * eps * eps - 0.5 * math.log(2 * math.pi)).sum() - jacobian_logabsdet(lambda e: q(k, e[None])[0], eps[0])
    assert log_q.shape == u.shape
    assert log_q.sum().item() == pytest.approx(expected.item(), abs=1e-9)


def test_a_new_dequantizer_is_uniform_noise():
    q = VariationalDequantizer(3, 8)
    k = torch.randint(0, 256, (64, 3, 8, 8)).float() / 255
    u, log_q = q(k, torch.randn(k.shape, generator=torch.Generator().manual_seed(0)))
    assert torch.equal(log_q, torch.zeros_like(log_q))
    assert stats.kstest(u.detach().flatten().numpy(), "uniform").pvalue > 1e-3


def test_the_channels_of_a_pixel_share_noise_and_u_stays_in_its_bin():
    q = random_dequantizer(3, log_scale=-20.0)  # a nearly deterministic diagonal: only the shared part moves
    k = torch.full((1, 3, 4, 4), 0.5, dtype=torch.float64)
    eps = torch.randn(1, 3, 4, 4, dtype=torch.float64) * 40  # far into the tails
    u, log_q = q(k, eps)
    assert ((u >= 0) & (u < 1)).all() and torch.isfinite(log_q).all()
    with torch.no_grad():  # green and blue follow red's noise through the off-diagonal terms
        moved = q(k, eps + torch.tensor([1.0, 0, 0]).view(1, 3, 1, 1).double())[0] - u
    assert (moved[:, 1:].abs() > 0).any()


def test_the_discrete_bound_of_every_level_sums_to_at_most_one():
    """sum_k 2^(-D bpd(k)) <= sum_k P(k) <= 1 for the bound with log q. The q here is sharp (its
    log q is large and positive), so a wrongly signed or scaled log q overshoots by orders of magnitude."""
    model = tiny_model(2, 2, 1, num_levels=2, dequantizer_hidden=8)
    model.dequantizer.load_state_dict(random_dequantizer(2, log_scale=-1.5).state_dict())
    levels = torch.cartesian_prod(*[torch.tensor([0.0, 1.0], dtype=torch.float64)] * 8).view(-1, 2, 2, 2)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        _, log_q = model.dequantize_with_log_q(levels, generator=torch.Generator().manual_seed(1))
        bpd = model.discrete_bits_per_dim(levels.repeat(100, 1, 1, 1), generator=g).view(100, -1).mean(0)
    assert log_q.sum((1, 2, 3)).mean() > 5  # sharp: a sign error would multiply the sum by about e^10
    assert (2.0 ** (-8 * bpd)).sum().item() <= 1


def test_the_discrete_figure_is_minus_log_p_plus_log_q_of_one_draw():
    model = tiny_model(3, 4, 2, dequantizer_hidden=8)
    x = torch.randint(0, 256, (3, 3, 4, 4)).double() / 255
    xd, log_q = model.dequantize_with_log_q(x, generator=torch.Generator().manual_seed(2))
    k = torch.round(x * 255)
    assert ((xd * 256 >= k) & (xd * 256 <= k + 1)).all(), "every value stays in its level's bin"
    by_hand = (-model.log_prob(xd) + log_q.sum((1, 2, 3)) + 48 * math.log(256)) / (48 * math.log(2))
    figure = model.discrete_bits_per_dim(x, generator=torch.Generator().manual_seed(2))
    assert torch.allclose(figure, by_hand, rtol=0, atol=1e-10)
    assert not torch.allclose(figure, model.bits_per_dim(xd)), "log q is part of the figure"


def test_uniform_models_keep_their_figures_and_config():
    model = tiny_model(3, 4, 2, dtype=torch.float32)
    x = torch.randint(0, 256, (5, 3, 4, 4)).double() / 255
    g1, g2 = (torch.Generator().manual_seed(3) for _ in range(2))
    old = model.bits_per_dim(model.dequantize(x, generator=g1).float())
    assert torch.equal(model.discrete_bits_per_dim(x, generator=g2), old)
    assert model.dequantizer is None


def test_a_model_with_a_dequantizer_saves_and_loads_strictly(tmp_path):
    model = tiny_model(3, 4, 2, dtype=torch.float32, dequantizer_hidden=8)
    model.save_pretrained(tmp_path)
    loaded = RealNVP.from_pretrained(tmp_path)
    x = torch.randint(0, 256, (2, 3, 4, 4)).double() / 255
    a, b = (m.discrete_bits_per_dim(x, generator=torch.Generator().manual_seed(1)) for m in (model, loaded))
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match="dequantizer_hidden"):
        RealNVP(dequantizer_hidden=-1)


def test_the_importance_weighted_figure_estimates_the_discrete_probability():
    """Each weight p(x + u) / q(u | k) is an unbiased estimate of the same P(k), the flow's mass on
    k's bin, whatever the noise: so over every image of a tiny space the importance-weighted P's
    with a learned q and with uniform noise sum to the same mass, while the single-draw bound's
    P's sum to about half of it (Jensen's gap). A mean of log weights, or a missing log q, breaks
    the agreement."""
    import copy

    model = tiny_model(2, 2, 1, num_levels=2, dequantizer_hidden=8)
    q = random_dequantizer(2)
    with torch.no_grad():  # a q near uniform noise, whose weights are not too heavy-tailed for 400 draws
        q.out.weight.mul_(0.3)
        q.out.bias.mul_(0.3)
    model.dequantizer.load_state_dict(q.state_dict())
    uniform = copy.deepcopy(model)
    uniform.dequantizer = None
    levels = torch.cartesian_prod(*[torch.tensor([0.0, 1.0], dtype=torch.float64)] * 8).view(-1, 2, 2, 2)
    with torch.no_grad():
        p_q, p_uniform = (2.0 ** (-8 * m.importance_weighted_bits_per_dim(levels, draws=400,
                                                                          generator=torch.Generator().manual_seed(0)))
                          for m in (model, uniform))
        single = torch.stack([model.discrete_bits_per_dim(levels, generator=torch.Generator().manual_seed(s))
                              for s in range(20)]).mean(0)
    assert p_q.sum().item() == pytest.approx(p_uniform.sum().item(), rel=0.03)
    assert (2.0 ** (-8 * single)).sum().item() < 0.6 * p_uniform.sum().item()


def test_one_importance_draw_is_the_single_draw_figure():
    model = tiny_model(3, 4, 2, dequantizer_hidden=8)
    x = torch.randint(0, 256, (3, 3, 4, 4)).double() / 255
    one = model.importance_weighted_bits_per_dim(x, draws=1, generator=torch.Generator().manual_seed(4))
    assert torch.allclose(one, model.discrete_bits_per_dim(x, generator=torch.Generator().manual_seed(4)),
                          rtol=0, atol=1e-10)
    with pytest.raises(ValueError, match="draws"):
        model.importance_weighted_bits_per_dim(x, draws=0)
