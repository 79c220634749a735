"""train.warm_start: --init-from, a grown model that starts as the saved one, and refusals."""
import pytest
import torch

from helpers import tiny_model
from realnvp import RealNVP
from train.config import TrainConfig, TrainingError
from realnvp.preprocess import dequantize
from train.warm_start import load_starting_weights, start_class_means, validation_warning


def test_more_blocks_start_as_the_identity(tmp_path):
    saved = tiny_model(1, 4, 2, dtype=torch.float32, hidden_channels=4, num_blocks=1)
    saved.save_pretrained(tmp_path)
    grown = RealNVP(in_channels=1, image_size=4, num_scales=2, hidden_channels=4, num_blocks=2).eval()
    assert load_starting_weights(str(tmp_path), grown) == 1
    x = torch.rand(3, 1, 4, 4) * 0.9 + 0.05
    assert torch.allclose(grown.log_prob(x), saved.log_prob(x), atol=1e-5)


def test_another_architecture_is_refused(tmp_path):
    tiny_model(1, 4, 2, dtype=torch.float32, hidden_channels=4).save_pretrained(tmp_path)
    other = RealNVP(in_channels=1, image_size=4, num_scales=2, hidden_channels=8, num_blocks=1)
    with pytest.raises(TrainingError, match="hidden_channels: 4 there, 8 here"):
        load_starting_weights(str(tmp_path), other)


def test_no_warning_for_a_model_directory_without_a_run(tmp_path):
    tiny_model(1, 4, 2, dtype=torch.float32).save_pretrained(tmp_path)
    assert validation_warning(str(tmp_path), TrainConfig(dataset="mnist5k", out="x"), [], []) is None


def test_an_unconditional_model_made_conditional_starts_at_its_density(tmp_path):
    saved = tiny_model(1, 4, 2, dtype=torch.float32, hidden_channels=4, num_blocks=1)
    saved.save_pretrained(tmp_path)
    conditional = RealNVP(in_channels=1, image_size=4, num_scales=2, hidden_channels=4, num_blocks=1,
                          num_classes=3).eval()
    assert load_starting_weights(str(tmp_path), conditional) == 0
    x = torch.rand(3, 1, 4, 4) * 0.9 + 0.05
    for label in range(3):
        y = torch.full((3,), label)
        assert torch.allclose(conditional.log_prob(x, y), saved.log_prob(x), atol=1e-5)
    # the embeddings are trainable parameters that start at zero, not frozen
    embeddings = [p for n, p in conditional.named_parameters() if "class_embedding" in n]
    assert embeddings and all(p.requires_grad and not p.any() for p in embeddings)


def test_a_conditional_model_is_not_made_unconditional(tmp_path):
    RealNVP(in_channels=1, image_size=4, num_scales=2, hidden_channels=4, num_blocks=1,
            num_classes=3).save_pretrained(tmp_path)
    unconditional = RealNVP(in_channels=1, image_size=4, num_scales=2, hidden_channels=4, num_blocks=1)
    with pytest.raises(TrainingError, match="num_classes: 3 there, None here"):
        load_starting_weights(str(tmp_path), unconditional)


def test_class_means_start_at_zero_then_at_each_class_mean_of_the_latents(tmp_path):
    """Made conditional with latent means: the density starts as the saved one for every label;
    `start_class_means` then moves each class's mean to its images' mean latent, the maximum-
    likelihood means for the flow as it is, so the images' log p(x | y) can only rise."""
    saved = tiny_model(1, 4, 2, dtype=torch.float32, hidden_channels=4, num_blocks=1)
    saved.save_pretrained(tmp_path)
    conditional = RealNVP(in_channels=1, image_size=4, num_scales=2, hidden_channels=4, num_blocks=1,
                          num_classes=3, conditioning="latent_means").eval()
    load_starting_weights(str(tmp_path), conditional)
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (30, 1, 4, 4), generator=g).float() / 255
    labels = torch.arange(30) % 3
    images[labels == 1] = images[labels == 1] * 0.5  # classes that differ
    data = list(zip(images, labels))
    x = dequantize(images, 256, generator=torch.Generator().manual_seed(0))
    before = conditional.log_prob(x, labels)
    assert torch.allclose(before, saved.log_prob(x), atol=1e-4)
    assert start_class_means(conditional, data, 256, batch=7) == 30
    after = conditional.log_prob(x, labels)
    assert after.mean() > before.mean() + 1e-3
    # each mean is its class's mean latent (with the data's dequantization noise, seed 0)
    u = conditional.assemble(conditional.encode(x, labels)) + conditional.class_shift.means[labels]
    for k in range(3):
        assert torch.allclose(conditional.class_shift.means[k], u[labels == k].mean(0), atol=1e-5)
