"""realnvp.ood_scores: the marginal likelihood and the AUROC."""

import pytest
import torch

from helpers import tiny_model
from realnvp import ood_scores
from helpers import grey_images as images

def test_auroc_by_hand_and_with_ties():
    # pairs (out, in): 2 vs 1 win, 2 vs 2 tie, 2 vs 3 loss, 4 beats all three -> (1 + 0.5 + 0 + 3) / 6
    assert ood_scores.auroc([1, 2, 3], [2, 4]) == pytest.approx(4.5 / 6)
    assert ood_scores.auroc([1, 2], [3, 4]) == 1.0 and ood_scores.auroc([3, 4], [1, 2]) == 0.0
    assert ood_scores.auroc([5, 5, 5], [5, 5]) == 0.5  # all tied: chance
    g = torch.Generator().manual_seed(0)
    s_in, s_out = torch.randint(0, 6, (40,), generator=g), torch.randint(2, 8, (30,), generator=g)
    brute = ((s_out[:, None] > s_in[None]).double() + 0.5 * (s_out[:, None] == s_in[None]).double()).mean()
    assert ood_scores.auroc(s_in, s_out) == pytest.approx(brute.item(), abs=1e-12)
    assert ood_scores.auroc(s_in.double() * 0.1, s_out.double() * 0.1) == pytest.approx(brute.item(), abs=1e-12)
    with pytest.raises(ValueError, match="non-empty"):
        ood_scores.auroc([], [1.0])
    with pytest.raises(ValueError, match="finite"):
        ood_scores.auroc([1.0, float("nan")], [1.0])


def test_marginal_log_prob(model):
    x = images(2)
    assert torch.allclose(ood_scores.marginal_log_prob(model, x), model.log_prob(x))
    conditional = tiny_model(size=8, num_classes=3)
    per_class = torch.stack([conditional.log_prob(x, y) for y in range(3)], 1)
    expected = torch.logsumexp(per_class, 1) - torch.log(torch.tensor(3.0, dtype=torch.float64))
    assert torch.allclose(ood_scores.marginal_log_prob(conditional, x), expected, rtol=1e-12)
    bpd = ood_scores.marginal_bits_per_dim(model, x)
    assert torch.allclose(bpd, model.bits_per_dim(x).double(), rtol=1e-12)


def test_with_learned_noise_the_marginal_figure_includes_log_q():
    model = tiny_model(3, 4, 2, dequantizer_hidden=8)
    x = torch.randint(0, 256, (3, 3, 4, 4)).double() / 255
    with torch.no_grad():
        xd, log_q = model.dequantize_with_log_q(x, generator=torch.Generator().manual_seed(0))
        figure = model.discrete_bits_per_dim(x, generator=torch.Generator().manual_seed(0))
        assert torch.allclose(ood_scores.marginal_bits_per_dim(model, xd, log_q), figure.double(), atol=1e-9)
        assert not torch.allclose(ood_scores.marginal_bits_per_dim(model, xd), figure.double(), atol=1e-3)
