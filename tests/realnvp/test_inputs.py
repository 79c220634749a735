"""realnvp.inputs: what the model refuses, and the message that says why."""
import pytest
import torch

from helpers import tiny_model
from realnvp import inputs


@pytest.mark.parametrize("change, match", [({"in_channels": 0}, "in_channels"), ({"num_blocks": -1}, "num_blocks"),
                                           ({"num_levels": 1}, "num_levels"), ({"image_size": True}, "image_size"),
                                           ({"num_classes": 0}, "num_classes"), ({"image_size": 6, "num_scales": 3},
                                                                                  "divisible"),
                                           ({"num_classes": 3, "conditioning": "prior"}, "conditioning")])
def test_configurations_refused(change, match):
    config = dict(in_channels=1, image_size=8, num_scales=2, hidden_channels=4, num_blocks=1, num_levels=256,
                  num_classes=None) | change
    with pytest.raises(ValueError, match=match):
        inputs.check_config(**config)


def test_labels_of_a_conditional_model():
    model = tiny_model(1, 4, 2, num_classes=3)
    assert inputs.labels(model, 2, 4).tolist() == [2, 2, 2, 2]  # one label for the batch
    assert inputs.labels(model, torch.tensor([0, 1]), 2).tolist() == [0, 1]
    with pytest.raises(ValueError, match="pass labels"):
        inputs.labels(model, None, 2)
    with pytest.raises(ValueError, match=r"0\.\.2"):
        inputs.labels(model, 3, 1)
    with pytest.raises(ValueError, match="shape"):
        inputs.labels(model, torch.tensor([0, 1, 2]), 2)
    with pytest.raises(ValueError, match="not class-conditional"):
        inputs.labels(tiny_model(1, 4, 2), 0, 1)


def test_images_and_latents_refused_with_the_reason():
    model = tiny_model(1, 4, 2)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        inputs.check_images(model, torch.full((1, 1, 4, 4), 1.5, dtype=torch.float64))
    inputs.check_images(model, torch.full((1, 1, 4, 4), 1.01, dtype=torch.float64), unit_interval=False)
    with pytest.raises(TypeError, match="tensor"):
        inputs.check_images(model, [[0.5]])
    latents = model.encode(torch.rand(2, 1, 4, 4, dtype=torch.float64))
    assert inputs.check_latents(model, tuple(latents)) == latents
    with pytest.raises(ValueError, match="same B"):
        inputs.check_latents(model, [latents[0][:1], latents[1]])
    with pytest.raises(TypeError, match="half precision"):
        inputs.check_dtype(tiny_model(1, 4, 2).to(torch.bfloat16))
