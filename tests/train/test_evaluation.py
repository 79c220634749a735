"""train.evaluation: every reported figure is exact bits/dim in float32, whatever the model's
training-time autocast setting."""
import torch

from helpers import tiny_model
from realnvp import nets
from train.datasets import build_datasets
from train.evaluation import autocast_setting, evaluate_bpd, full_precision, per_image_bpd


def digits_model():
    return tiny_model(size=8, dtype=torch.float32, num_classes=10, num_levels=17)


def test_evaluation_ignores_bf16_autocast_and_restores_it(monkeypatch):
    _, val, _, _ = build_datasets("digits")
    cpu = torch.device("cpu")
    reference = per_image_bpd(digits_model(), val, cpu)

    model = digits_model()
    model.set_autocast(torch.bfloat16)
    seen = []
    original = nets.ResNet.forward

    def spy(self, x, y=None):
        seen.append((self.autocast_dtype, torch.is_autocast_enabled("cpu")))
        return original(self, x, y)

    monkeypatch.setattr(nets.ResNet, "forward", spy)
    model.train()
    assert per_image_bpd(model, val, cpu) == reference, "float32 figures, bit for bit"
    assert seen and all(dtype is None and not enabled for dtype, enabled in seen), "autocast off while evaluating"
    assert autocast_setting(model) is torch.bfloat16 and model.training, "setting and mode restored"
    assert evaluate_bpd(model, val, cpu, 50) == sum(reference) / len(reference)
    assert per_image_bpd(digits_model(), val, cpu, workers=2) == reference, "--workers loads, same figures"


def test_full_precision_restores_the_setting_after_an_error():
    model = digits_model()
    assert autocast_setting(model) is None
    model.set_autocast(torch.bfloat16)
    try:
        with full_precision(model):
            assert autocast_setting(model) is None
            raise KeyError("boom")
    except KeyError:
        pass
    assert autocast_setting(model) is torch.bfloat16
