"""realnvp.bijection: the protocol every layer implements, factor-out included."""
import inspect

import pytest
import torch

import realnvp
from realnvp import coupling, flow, norm, preprocess, reshape
from realnvp.bijection import Bijection


def test_a_layer_without_both_directions_cannot_be_made():
    class EncodeOnly(Bijection):
        def encode(self, x, y=None):
            return x, torch.zeros_like(x)

    with pytest.raises(TypeError, match="decode"):
        EncodeOnly()


def test_every_layer_of_the_library_implements_the_protocol():
    layers = [cls for module in (coupling, flow, norm, preprocess, reshape)
              for _, cls in inspect.getmembers(module, inspect.isclass)
              if issubclass(cls, Bijection) and cls.__module__ == module.__name__]
    assert {cls.__name__ for cls in layers} >= {"CheckerboardCoupling", "ChannelCoupling", "FlowBatchNorm",
                                                "LogitTransform", "Squeeze", "Unsqueeze", "FactorOut", "Scale"}
    for cls in layers:
        assert not inspect.isabstract(cls), cls
        for direction in ("encode", "decode"):
            assert list(inspect.signature(getattr(cls, direction)).parameters)[1:] in (["x", "y"], ["z", "y"]), cls


def test_the_model_walks_single_tensors_layer_by_layer():
    model = realnvp.RealNVP(in_channels=1, image_size=8, num_scales=3, hidden_channels=4, num_blocks=1).eval()
    h = torch.rand(2, 1, 8, 8) * 0.9 + 0.05
    for _, layer in model._layers():
        out, logdet = layer.encode(h)
        assert isinstance(out, torch.Tensor) and out.shape == logdet.shape == h.shape  # the image's layout throughout
        h = out


def test_default_moves_keep_elements_in_place():
    class Shift(Bijection):
        def encode(self, x, y=None):
            return x + 1, torch.zeros_like(x)

        def decode(self, z, y=None):
            return z - 1, torch.zeros_like(z)

    t = torch.arange(6.0)
    assert torch.equal(Shift().move(t), t) and torch.equal(Shift().move_back(t), t)
