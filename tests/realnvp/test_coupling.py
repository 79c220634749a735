"""realnvp.coupling: the affine couplings and their masks, inverse and log-det against autograd (float64)."""

import pytest
import torch

from helpers import randomize_
from helpers import assert_bijection
from realnvp.coupling import ChannelCoupling, CheckerboardCoupling, checkerboard_mask


pytestmark = pytest.mark.usefixtures("float64_default")


def test_checkerboard_mask_parities_partition():
    like = torch.zeros(1)
    m0, m1 = checkerboard_mask(3, 4, 0, like), checkerboard_mask(3, 4, 1, like)
    assert torch.equal(m0 + m1, torch.ones(1, 1, 3, 4))
    assert m0[0, 0, 0, 0] == 1 and m0[0, 0, 0, 1] == 0 and m0[0, 0, 1, 0] == 0


@pytest.mark.parametrize("parity", [0, 1])
@pytest.mark.parametrize("channels,size", [(1, 4), (3, 4), (2, 6)])
def test_checkerboard_coupling(parity, channels, size):
    layer = randomize_(CheckerboardCoupling(channels, parity, hidden_channels=4, num_blocks=1), seed=parity).eval()
    x = torch.randn(2, channels, size, size)
    z, ld = assert_bijection(layer, x)
    mask = checkerboard_mask(size, size, parity, x)
    assert torch.equal(z * mask, x * mask), "conditioning pixels must pass unchanged"
    assert torch.equal(ld * mask, torch.zeros_like(ld)), "log-det lives on the transformed pixels only"
    assert ld.abs().sum() > 0


@pytest.mark.parametrize("parity", [0, 1])
def test_channel_coupling(parity):
    layer = randomize_(ChannelCoupling(4, parity, hidden_channels=4, num_blocks=1), seed=3).eval()
    x = torch.randn(2, 4, 3, 3)
    z, ld = assert_bijection(layer, x)
    known = slice(0, 2) if parity == 0 else slice(2, 4)
    assert torch.equal(z[:, known], x[:, known])
    assert ld[:, known].abs().sum() == 0 and ld.abs().sum() > 0


def test_channel_coupling_rejects_odd_channels():
    with pytest.raises(ValueError, match="even"):
        ChannelCoupling(3, 0, 4, 1)


def test_scale_is_bounded_by_learned_factor():
    layer = CheckerboardCoupling(1, 0, hidden_channels=4, num_blocks=1).eval()
    with torch.no_grad():
        for p in layer.net.parameters():
            p.normal_(0, 5.0)
        layer.s_bound.fill_(0.7)
    _, ld = layer.encode(torch.randn(3, 1, 4, 4) * 10)
    assert ld.abs().max() <= 0.7 + 1e-12


def test_fresh_coupling_is_identity():
    layer = CheckerboardCoupling(2, 1, hidden_channels=4, num_blocks=2).eval()
    x = torch.randn(2, 2, 4, 4)
    z, ld = layer.encode(x)
    assert torch.equal(z, x) and ld.abs().sum() == 0


def test_conditional_coupling_depends_on_label():
    layer = randomize_(CheckerboardCoupling(1, 0, 4, 1, num_classes=3), seed=1).eval()
    x = torch.randn(2, 1, 4, 4)
    y = torch.tensor([0, 2])
    assert_bijection(layer, x, y)
    z0, _ = layer.encode(x, torch.tensor([0, 0]))
    z1, _ = layer.encode(x, torch.tensor([1, 1]))
    assert not torch.allclose(z0, z1)
    with pytest.raises(ValueError, match="labels"):
        layer.encode(x)
