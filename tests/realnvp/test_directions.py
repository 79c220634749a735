"""realnvp.directions: class-mean latents, the direction between two classes, moving along it."""

import pytest
import torch

from helpers import grey_images, tiny_model
from realnvp import directions


def test_class_means_are_the_means_of_each_classs_latents():
    model = tiny_model(1, 8, 2, dtype=torch.float64)
    x = grey_images(7)
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 2])
    means, counts = directions.class_mean_latents(model, x, labels, 3, batch_size=3)
    assert counts.tolist() == [2, 2, 3]
    latents = model.encode(x)
    for scale, mean in enumerate(means):
        assert mean.shape == (3, *latents[scale].shape[1:])
        for c in range(3):
            assert torch.allclose(mean[c], latents[scale][labels == c].mean(0), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="class"):
        directions.class_mean_latents(model, x, torch.zeros(7, dtype=torch.long), 2)  # class 1 has no image


def test_conditional_models_encode_under_each_images_label():
    model = tiny_model(1, 8, 2, dtype=torch.float64, num_classes=2)
    x = grey_images(2)
    labels = torch.tensor([0, 1])
    means, _ = directions.class_mean_latents(model, x, labels, 2)
    expected = model.encode(x, labels)
    assert torch.allclose(means[0][1], expected[0][1], rtol=0, atol=1e-12)


def test_moving_by_zero_is_the_image_and_by_one_adds_the_difference_of_means():
    model = tiny_model(1, 8, 2, dtype=torch.float64)
    x = grey_images(6, seed=1)
    means, _ = directions.class_mean_latents(model, x, torch.tensor([0, 1, 0, 1, 0, 1]), 2)
    d = directions.class_direction(means, 0, 1)
    z = model.encode(x[:1])
    assert torch.equal(model.decode(directions.move_along(z, d, 0.0)), model.decode(z))
    moved = directions.move_along(z, d, 1.0)
    for scale in range(2):
        assert torch.equal(moved[scale], z[scale] + (means[scale][1] - means[scale][0])[None])
    again = model.encode(model.decode(moved))
    for a, b in zip(again, moved):
        assert torch.allclose(a, b, rtol=0, atol=1e-9)
    coarse_only = directions.move_along(z, d, 1.0, scales=[1])
    assert coarse_only[0] is z[0] and torch.equal(coarse_only[1], moved[1])
    with pytest.raises(ValueError, match="scales"):
        directions.move_along(z, d, 1.0, scales=[2])
