"""realnvp.flow: a scale as one bijection, and the factor-out nesting the model walks."""

import pytest
import torch

from helpers import randomize_
from helpers import assert_bijection
from realnvp.flow import Scale, in_image_layout
from realnvp.reshape import FactorOut, split_half


pytestmark = pytest.mark.usefixtures("float64_default")


def test_scale_layers_bijection():
    for last in (False, True):
        scale = randomize_(Scale(2, hidden=4, blocks=1, last=last), seed=4).eval()
        assert_bijection(scale, torch.randn(2, 2, 4, 4))


def test_scale_is_couplings_squeeze_couplings_unsqueeze():
    scale = Scale(2, hidden=4, blocks=1, last=False)
    assert [name for name, _ in scale.steps()] == ["checkerboard", "squeeze", "channelwise", "unsqueeze"]
    z, ld = scale.eval().encode(torch.randn(3, 2, 4, 4))
    assert z.shape == ld.shape == (3, 2, 4, 4)  # a scale's output is in the layout of its input
    assert [name for name, _ in Scale(2, hidden=4, blocks=1, last=True).steps()] == ["checkerboard"]


def test_factor_out_is_a_bijection_that_keeps_half_and_nests_the_rest():
    inner = randomize_(Scale(4, hidden=4, blocks=1, last=True), seed=5).eval()
    layer = FactorOut(inner)
    assert list(layer.children()) == []  # the model owns its scales: the factor-out does not register them
    x = torch.randn(2, 8, 2, 2)
    z, ld = assert_bijection(layer, x)
    finished, kept = split_half(x)
    assert torch.equal(split_half(z)[0], finished) and split_half(ld)[0].abs().sum() == 0
    assert torch.equal(split_half(z)[1], inner.encode(kept)[0])
    nested = in_image_layout(inner, 1)  # squeeze, factor-out, unsqueeze around the inner scale
    assert_bijection(nested, torch.randn(2, 2, 4, 4))
