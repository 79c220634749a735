"""train.ema: the moving average of the weights, and swapping it in and out."""
import pytest
import torch

from helpers import tiny_model
from train.ema import WeightAverage


def test_average_follows_the_formula_and_swaps_in_and_out():
    model = tiny_model(dtype=torch.float32)
    average = WeightAverage(model, 0.9)
    expected = {k: v.clone() for k, v in model.state_dict().items()}
    for update in range(1, 30):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p) * 0.1)
            for name, b in model.named_buffers():
                if b.is_floating_point():
                    b.mul_(1.01)
        average.update(model, update)
        decay = min(0.9, (1 + update) / (10 + update))
        for k, v in model.state_dict().items():
            expected[k] = decay * expected[k] + (1 - decay) * v if v.is_floating_point() else v.clone()
    assert average.decay_at(1) == pytest.approx(2 / 11) and average.decay_at(1000) == 0.9
    raw = {k: v.clone() for k, v in model.state_dict().items()}
    assert any(not v.is_floating_point() for v in raw.values()), "integer buffers (copied) exist"
    for k, v in average.tensors.items():
        assert v.dtype == raw[k].dtype and torch.allclose(v, expected[k], rtol=1e-5, atol=1e-6), k
    with average.applied(model):
        assert all(torch.equal(model.state_dict()[k], v) for k, v in average.tensors.items())
    assert all(torch.equal(model.state_dict()[k], v) for k, v in raw.items()), "raw weights restored"
    copy = WeightAverage(tiny_model(dtype=torch.float32, seed=5), 0.9)
    copy.load(average.tensors)
    assert all(torch.equal(copy.tensors[k], v) for k, v in average.tensors.items())
    with pytest.raises(ValueError, match="in \\(0, 1\\)"):
        WeightAverage(model, 1.0)
