"""realnvp.class_shift and conditioning="latent_means": class means in latent space, the exact
inverse, every class's log p(x | y) from one pass, and the errors."""
import copy
import math

import pytest
import torch

from helpers import tiny_model
from realnvp import RealNVP, classes, trace


def images(n=3, size=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, size, size, generator=g, dtype=torch.float64) * 0.9 + 0.05


@pytest.mark.parametrize("conditioning", ["networks", "latent_means", "both"])
def test_every_class_in_one_call_equals_each_class_alone(conditioning):
    model = tiny_model(1, 4, 2, num_classes=3, conditioning=conditioning)
    x = images()
    every = model.log_prob_every_class(x)
    assert every.shape == (3, 3)
    for k in range(3):
        assert torch.allclose(every[:, k], model.log_prob(x, k), rtol=0, atol=1e-9), k
    assert torch.allclose(classes.class_log_likelihoods_batch(model, x, batch=2), every, rtol=0, atol=1e-9)


def test_latent_means_shift_the_latents_and_nothing_else():
    """The networks do not see the label: the latents under two labels differ by the difference
    of the two classes' means, element by element, and the log-dets do not depend on the label."""
    model = tiny_model(1, 4, 2, num_classes=3, conditioning="latent_means")
    assert all(net.class_embedding is None for net in model.modules() if hasattr(net, "class_embedding"))
    x = images()
    with torch.no_grad():
        z0, z2 = model.assemble(model.encode(x, 0)), model.assemble(model.encode(x, 2))
        means = model.class_shift.means
        assert torch.allclose(z0 - z2, (means[2] - means[0]).expand_as(z0), rtol=0, atol=1e-12)
        terms0, terms2 = model.log_prob_terms(x, 0), model.log_prob_terms(x, 2)
    assert set(terms0) == {"preprocessing", "scale 0", "scale 1", "prior"}  # a translation adds no term
    for name in ("preprocessing", "scale 0", "scale 1"):
        assert torch.equal(terms0[name], terms2[name])


def test_exact_inverse_and_log_det_against_autograd():
    model = tiny_model(1, 4, 2, num_classes=3, conditioning="latent_means")
    x, y = images(2), torch.tensor([1, 2])
    with torch.no_grad():
        assert (model.decode(model.encode(x, y), y) - x).abs().max() < 1e-12
        z = [torch.randn(2, *shape, dtype=torch.float64) for shape in model.latent_shapes()]
        back = model.encode(model.decode(z, y), y)
        assert max((a - b).abs().max() for a, b in zip(z, back)) < 1e-9
    for b in range(2):
        yb = y[b:b + 1]

        def flat(v):
            return model.assemble(model.encode(v[None], yb)).flatten()

        zb = flat(x[b])
        jac = torch.autograd.functional.jacobian(flat, x[b]).reshape(zb.numel(), -1)
        expected = torch.linalg.slogdet(jac)[1] + (-0.5 * zb ** 2 - 0.5 * math.log(2 * math.pi)).sum()
        assert model.log_prob(x[b:b + 1], yb).item() == pytest.approx(expected.item(), rel=1e-9)


def test_zero_means_give_the_unconditional_density_of_the_same_flow():
    unconditional = tiny_model(1, 4, 2)
    conditional = RealNVP(in_channels=1, image_size=4, num_scales=2, hidden_channels=4, num_blocks=1, num_classes=3,
                          conditioning="latent_means").double().eval()
    missing, unexpected = conditional.load_state_dict(unconditional.state_dict(), strict=False)
    assert missing == ["class_shift.means"] and not unexpected
    assert not conditional.class_shift.means.any()  # they start at zero
    x = images()
    for k in range(3):
        assert torch.allclose(conditional.log_prob(x, k), unconditional.log_prob(x), rtol=0, atol=1e-12)


def test_training_forward_scores_every_class_with_batch_statistics():
    model = tiny_model(1, 4, 2, num_classes=3, conditioning="latent_means").train()
    x, y = images(4), torch.tensor([0, 1, 2, 1])
    twin = copy.deepcopy(model)  # a forward in training mode updates the running averages
    every = model(x, every_class=True)
    assert torch.allclose(every.gather(1, y[:, None])[:, 0], twin(x, y), rtol=0, atol=1e-9)
    every.sum().backward()
    assert model.class_shift.means.grad.abs().sum() > 0


def test_every_class_in_one_pass_is_refused_when_the_networks_see_the_label():
    model = tiny_model(1, 4, 2, num_classes=3, conditioning="both")
    with pytest.raises(ValueError, match="latent_means"):
        model(images(), every_class=True)


def test_the_class_means_fix_the_image_size():
    model = tiny_model(1, 4, 2, num_classes=3, conditioning="latent_means")
    with pytest.raises(ValueError, match="4x4 images only, got 8x8; resize"):
        model.log_prob(images(1, size=8), 0)
    with pytest.raises(ValueError, match="4x4 images only"):
        model.sample(1, y=0, image_size=8)


def test_unknown_conditioning_is_refused():
    with pytest.raises(ValueError, match="conditioning must be one of"):
        RealNVP(in_channels=1, image_size=4, num_classes=3, conditioning="prior")


def test_layer_trace_shows_the_shift_and_its_log_dets_still_sum_to_log_prob():
    model = tiny_model(1, 4, 2, num_classes=3, conditioning="latent_means")
    x, y = images(2), torch.tensor([0, 2])
    t = trace.trace_encode(model, x, y)
    assert t.steps[-1].kind == "class mean" and not t.steps[-1].logdet.any()
    per_layer = torch.stack([s.logdet for s in t.steps]).sum(0)
    assert torch.allclose(per_layer + t.prior, model.log_prob(x, y), rtol=0, atol=1e-10)


def test_save_and_load_keep_the_conditioning_and_the_means(tmp_path):
    model = tiny_model(1, 4, 2, dtype=torch.float32, num_classes=3, conditioning="latent_means")
    model.save_pretrained(tmp_path)
    loaded = RealNVP.from_pretrained(tmp_path)
    assert loaded.conditioning == "latent_means"
    assert torch.equal(loaded.class_shift.means, model.class_shift.means)
    x = images().float()
    assert torch.equal(loaded.log_prob_every_class(x), model.log_prob_every_class(x))
