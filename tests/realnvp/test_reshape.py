import pytest
import torch

from realnvp.bijection import Bijection
from realnvp.reshape import FactorOut, Squeeze, Unsqueeze, join_half, split_half, squeeze, unsqueeze


def test_squeeze_shapes_and_inverse():
    x = torch.randn(2, 3, 8, 6)
    s = squeeze(x)
    assert s.shape == (2, 12, 4, 3)
    assert torch.equal(unsqueeze(s), x)


def test_squeeze_layout_block_position_major():
    # channel (2i + j) * C + c holds pixel (2h + i, 2w + j) of channel c
    x = torch.arange(2 * 4 * 4).reshape(1, 2, 4, 4)
    s = squeeze(x)
    for c in range(2):
        for i in range(2):
            for j in range(2):
                assert torch.equal(s[0, (2 * i + j) * 2 + c], x[0, c, i::2, j::2])


def test_factored_half_holds_both_checkerboard_colours():
    x = torch.zeros(1, 1, 4, 4)
    colour = (torch.arange(4)[:, None] + torch.arange(4)[None, :]) % 2
    x[0, 0] = colour.float()
    factored, kept = split_half(squeeze(x))
    assert factored.sum() == kept.sum() == 4  # each half: one pixel of each colour per block
    assert torch.equal(join_half(factored, kept), squeeze(x))


def test_squeeze_leading_dims_and_errors():
    x = torch.randn(5, 2, 3, 4, 4)
    assert torch.equal(unsqueeze(squeeze(x)), x)
    assert torch.equal(squeeze(x)[1], squeeze(x[1]))
    with pytest.raises(ValueError, match="even"):
        squeeze(torch.randn(1, 1, 3, 4))


@pytest.mark.usefixtures("float64_default")
def test_rearrangements_move_log_dets_with_their_elements():
    x = torch.arange(2 * 2 * 4 * 4, dtype=torch.float64).reshape(2, 2, 4, 4)
    for layer in (Squeeze(), Unsqueeze(), FactorOut(Identity())):
        source = squeeze(x) if isinstance(layer, Unsqueeze) else x
        out, ld = layer.encode(source)
        assert ld.abs().sum() == 0
        moved = layer.move(source)  # the same rearrangement applied to any tensor shaped like the input
        assert torch.equal(moved, out)
        assert torch.equal(layer.move_back(moved), source)
        assert torch.equal(layer.decode(out)[0], source)
    assert torch.equal(split_half(FactorOut(Identity()).encode(squeeze(x))[0])[0], split_half(squeeze(x))[0])


class Identity(Bijection):
    """The identity as a bijection: the rest of a flow that does nothing."""

    def encode(self, x, y=None):
        return x, torch.zeros_like(x)

    def decode(self, z, y=None):
        return z, torch.zeros_like(z)
