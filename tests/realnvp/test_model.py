import math

import pytest
import torch

from helpers import randomize_, tiny_model
from helpers import jacobian_logabsdet
from realnvp import NonFiniteError, RealNVP
from realnvp.reshape import split_scales

CONFIGS = [  # (channels, size, num_scales)
    (1, 4, 1), (1, 4, 2), (3, 4, 2), (2, 8, 2), (2, 8, 3),
]


def flat_latents(latents):
    return torch.cat([z.flatten(1) for z in latents], dim=1)


@pytest.mark.parametrize("channels,size,num_scales", CONFIGS)
@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-5), (torch.float64, 1e-9)])
def test_exact_inverse_both_ways(channels, size, num_scales, dtype, tol):
    model = tiny_model(channels, size, num_scales, dtype=dtype)
    x = torch.rand(3, channels, size, size, dtype=dtype)
    with torch.no_grad():
        latents = model.encode(x)
        assert (model.decode(latents) - x).abs().max() <= tol
        # latents whose decoding leaves [0, 1] slightly still come back (encode accepts the
        # whole domain of the logit map, not just [0, 1])
        outside = x.clone()
        outside[:, :, 0, 0], outside[:, :, -1, -1] = -0.03, 1.03
        z = model.encode(outside)
        decoded = model.decode(z)
        assert decoded.min() < 0 and decoded.max() > 1
        z_back = model.encode(decoded)
        assert max(((a - b).abs() / (1 + b.abs())).max() for a, b in zip(z_back, z)) <= tol * 10


@pytest.mark.parametrize("channels,size,num_scales", CONFIGS)
@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-5), (torch.float64, 1e-9)])
def test_encode_of_decode_is_identity(channels, size, num_scales, dtype, tol):
    model = tiny_model(channels, size, num_scales, dtype=dtype)
    # latents taken from real images, perturbed a little, stay inside the image of [0,1]^D
    x = torch.rand(2, channels, size, size, dtype=dtype) * 0.8 + 0.1
    with torch.no_grad():
        z = [t + 0.01 * torch.randn_like(t) for t in model.encode(x)]
        z_back = model.encode(model.decode(z))
    err = max((a - b).abs().max() / (1 + b.abs().max()) for a, b in zip(z_back, z))
    assert err <= tol * 10


@pytest.mark.parametrize("channels,size,num_scales", CONFIGS)
def test_log_prob_matches_autograd_jacobian(channels, size, num_scales):
    model = tiny_model(channels, size, num_scales)
    # running statistics away from their initial values, through real training-mode passes
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.rand(8, channels, size, size, dtype=torch.float64))  # training forward
    model.eval()
    bn_means = [b for n, b in model.named_buffers() if n.endswith("running_mean") and "net" not in n]
    assert all(b.abs().sum() > 0 for b in bn_means)
    x = torch.rand(2, channels, size, size, dtype=torch.float64)
    lp = model.log_prob(x)
    for b in range(2):
        z = flat_latents(model.encode(x[b : b + 1]))[0]
        prior = (-0.5 * z**2 - 0.5 * math.log(2 * math.pi)).sum()
        logdet = jacobian_logabsdet(lambda v: flat_latents(model.encode(v[None]))[0], x[b])
        assert lp[b].item() == pytest.approx((prior + logdet).item(), rel=1e-6)


def test_density_integrates_to_at_most_one():
    """Monte Carlo mass of p over [0,1]^D, cross-checked against an independent estimate:
    the prior probability that a latent decodes inside the cube."""
    model = tiny_model(2, 2, 1, hidden_channels=8)
    n, D = 200_000, 8
    g = torch.Generator().manual_seed(0)
    chunk = 10_000  # the same numbers as one batch of 200,000, several times faster (the batch's memory traffic)
    with torch.no_grad():
        x = torch.rand(n, 2, 2, 2, generator=g, dtype=torch.float64)
        p = torch.cat([model.log_prob(part) for part in x.split(chunk)]).exp()
        mass, se = p.mean().item(), p.std().item() / math.sqrt(n)
        z = torch.randn((n, 2, 2, 2), generator=g, dtype=torch.float64)
        xs = torch.cat([model.decode([part]) for part in z.split(chunk)])
        inside = ((xs >= 0) & (xs <= 1)).flatten(1).all(1).double()
        mass2, se2 = inside.mean().item(), inside.std().item() / math.sqrt(n)
    assert mass <= 1 + 4 * se
    assert abs(mass - mass2) <= 4 * math.hypot(se, se2), (mass, mass2)
    assert 0.05 < mass < 1


def test_nll_map_sums_to_minus_log_prob_and_bits_per_dim_formula():
    model = tiny_model(3, 8, 3)
    x = torch.rand(4, 3, 8, 8, dtype=torch.float64)
    nm = model.nll_map(x)
    assert nm.shape == (4, 8, 8)
    lp = model.log_prob(x)
    assert torch.allclose(nm.sum((1, 2)), -lp, rtol=1e-12, atol=1e-9)
    D = 3 * 8 * 8
    assert torch.allclose(model.bits_per_dim(x), (-lp + D * math.log(256)) / (D * math.log(2)))
    terms = model.log_prob_terms(x)
    assert set(terms) == {"preprocessing", "scale 0", "scale 1", "scale 2", "prior"}
    assert torch.allclose(sum(terms.values()), lp)


def test_nll_map_is_local():
    """Changing one pixel changes the map there; the preprocessing term at a pixel is its own."""
    model = tiny_model(1, 4, 1)
    model_id = RealNVP(in_channels=1, image_size=4, num_scales=1, hidden_channels=2, num_blocks=0).double().eval()
    for name, buffer in model_id.named_buffers():
        if name.endswith("running_var") and "net" not in name:
            buffer.fill_(1 - model_id.scales[0].checkerboard[1].eps)  # makes every flow batch norm the identity
    # an untrained model is the logit map followed by identity couplings: the map is exactly
    # the per-pixel logit log-det plus the per-pixel standard normal term
    x = torch.rand(1, 1, 4, 4, dtype=torch.float64)
    z, ld = model_id.preprocess.encode(x)
    expected = -(ld + (-0.5 * z**2 - 0.5 * math.log(2 * math.pi)))[:, 0]
    assert torch.allclose(model_id.nll_map(x), expected)
    assert model.nll_map(x).shape == (1, 4, 4)


def test_sample_range_and_temperature():
    model = tiny_model(1, 4, 2)
    for t in [0.0, 0.5, 1.0, 1.5, 2.0]:
        s = model.sample(16, temperature=t, generator=torch.Generator().manual_seed(1))
        assert s.shape == (16, 1, 4, 4) and torch.isfinite(s).all()
        assert s.min() >= 0 and s.max() <= 1
    zeros = [torch.zeros(2, *shape, dtype=torch.float64) for shape in model.latent_shapes()]
    assert torch.allclose(model.sample(2, temperature=0.0), model.decode(zeros).clamp(0, 1), rtol=0, atol=1e-12)
    a = model.sample(4, 1.0, torch.Generator().manual_seed(0))
    b = model.sample(4, 1.0, torch.Generator().manual_seed(0))
    c = model.sample(4, 1.0, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and not torch.equal(a, c)
    per_scale = model.sample(2, [1.0, 0.0], torch.Generator().manual_seed(0))
    assert per_scale.shape == (2, 1, 4, 4)
    with pytest.raises(ValueError, match="temperature"):
        model.sample(2, -1.0)
    with pytest.raises(ValueError, match="temperature"):
        model.sample(2, [1.0, 1.0, 1.0])


def test_sample_uses_running_statistics_in_train_mode():
    model = tiny_model(1, 4, 2)
    g = lambda: torch.Generator().manual_seed(5)  # noqa: E731
    expected = model.sample(3, 1.0, g())
    model.train()
    assert torch.equal(model.sample(3, 1.0, g()), expected)


def test_fully_convolutional_other_sizes():
    model = tiny_model(1, 4, 2)
    for h, w in [(8, 8), (6, 10), (2, 2)]:
        x = torch.rand(2, 1, h, w, dtype=torch.float64)
        with torch.no_grad():
            assert (model.decode(model.encode(x)) - x).abs().max() < 1e-9
            assert model.nll_map(x).shape == (2, h, w)
    assert model.sample(2, image_size=(6, 8)).shape == (2, 1, 6, 8)
    assert [tuple(s) for s in model.latent_shapes(8, 6)] == [(2, 4, 3), (2, 4, 3)]


def test_input_validation_messages():
    model = tiny_model(1, 4, 2)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        model.log_prob(torch.full((1, 1, 4, 4), 1.01, dtype=torch.float64))
    with pytest.raises(ValueError, match="domain of the logit"):
        model.encode(torch.full((1, 1, 4, 4), 1.5, dtype=torch.float64))
    model.encode(torch.full((1, 1, 4, 4), 1.01, dtype=torch.float64))  # inside the flow's domain
    with pytest.raises(ValueError, match="shape"):
        model.log_prob(torch.rand(1, 3, 4, 4, dtype=torch.float64))
    with pytest.raises(ValueError, match="multiples of 2"):
        model.log_prob(torch.rand(1, 1, 5, 4, dtype=torch.float64))
    with pytest.raises(TypeError, match="floating"):
        model.log_prob(torch.zeros(1, 1, 4, 4, dtype=torch.uint8))
    with pytest.raises(ValueError, match="NaN"):
        model.log_prob(torch.full((1, 1, 4, 4), float("nan"), dtype=torch.float64))
    with pytest.raises(ValueError, match="not class-conditional"):
        model.log_prob(torch.rand(1, 1, 4, 4, dtype=torch.float64), y=0)
    with pytest.raises(ValueError, match="latent"):
        model.decode(model.encode(torch.rand(1, 1, 4, 4, dtype=torch.float64))[:1])
    with pytest.raises(ValueError, match="divisible"):
        RealNVP(in_channels=1, image_size=6, num_scales=3)


def test_non_finite_values_raise_and_say_where():
    model = tiny_model(1, 4, 2)
    with torch.no_grad():
        model.scales[0].channelwise[2].s_bound.fill_(float("nan"))
    with pytest.raises(NonFiniteError, match=r"scales\.0\.channelwise\.2 \(ChannelCoupling\)"):
        model.log_prob(torch.rand(1, 1, 4, 4, dtype=torch.float64))
    model = tiny_model(1, 4, 2)
    with torch.no_grad():
        model.scales[1].checkerboard[1].running_var.fill_(-1.0)  # sqrt of a negative variance
    with pytest.raises(NonFiniteError, match=r"scales\.1\.checkerboard\.1 \(FlowBatchNorm\)"):
        model.encode(torch.rand(1, 1, 4, 4, dtype=torch.float64))


def test_training_mode_gradients_reach_every_parameter():
    model = tiny_model(1, 4, 2).train()
    loss = -model(torch.rand(4, 1, 4, 4, dtype=torch.float64)).mean()
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert not missing, missing


@pytest.mark.parametrize("conditioning", ["networks", "latent_means", "both"])
class TestClassConditional:
    @pytest.fixture(autouse=True)
    def _conditioning(self, conditioning):
        self.conditioning = conditioning

    def model(self):
        return tiny_model(1, 4, 2, num_classes=3, conditioning=self.conditioning)

    def test_inverse_and_log_det_with_labels(self):
        model = self.model()
        x = torch.rand(2, 1, 4, 4, dtype=torch.float64)
        y = torch.tensor([0, 2])
        with torch.no_grad():
            assert (model.decode(model.encode(x, y), y) - x).abs().max() < 1e-9
        lp = model.log_prob(x, y)
        for b in range(2):
            yb = y[b : b + 1]
            z = flat_latents(model.encode(x[b : b + 1], yb))[0]
            prior = (-0.5 * z**2 - 0.5 * math.log(2 * math.pi)).sum()
            logdet = jacobian_logabsdet(lambda v: flat_latents(model.encode(v[None], yb))[0], x[b])
            assert lp[b].item() == pytest.approx((prior + logdet).item(), rel=1e-6)

    def test_labels_change_density_and_samples(self):
        model = self.model()
        x = torch.rand(3, 1, 4, 4, dtype=torch.float64)
        lps = [model.log_prob(x, k) for k in range(3)]
        assert not torch.allclose(lps[0], lps[1]) and not torch.allclose(lps[1], lps[2])
        s0 = model.sample(2, 1.0, torch.Generator().manual_seed(0), y=0)
        s1 = model.sample(2, 1.0, torch.Generator().manual_seed(0), y=1)
        assert not torch.equal(s0, s1)
        assert torch.allclose(model.nll_map(x, 2).sum((1, 2)), -lps[2])

    def test_label_errors(self):
        model = self.model()
        x = torch.rand(2, 1, 4, 4, dtype=torch.float64)
        with pytest.raises(ValueError, match="class-conditional"):
            model.log_prob(x)
        with pytest.raises(ValueError, match="0..2"):
            model.log_prob(x, torch.tensor([0, 3]))
        with pytest.raises(ValueError, match="shape"):
            model.log_prob(x, torch.tensor([0, 1, 2]))


# ----------------------------------------------------------------------------- the walk
def elementwise_model(channels, size, num_scales):
    """A model whose every layer is element-wise: the s/t networks' first convolutions are
    zero, so each coupling's scale and shift depend on the position only (through padding and
    the biases), not on the input. Its Jacobian is a permuted diagonal."""
    model = tiny_model(channels, size, num_scales)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if ".stem." in name and "original0" in name:
                p.zero_()
    return model


@pytest.mark.parametrize("channels,size,num_scales", [(1, 4, 2), (2, 8, 3), (3, 4, 2)])
def test_nll_map_places_each_term_on_its_pixel(channels, size, num_scales):
    """Against autograd, pixel by pixel (not only the sum): for an element-wise flow each
    input element x_i goes to one latent element z_j with dz_j/dx_i on the diagonal of the
    permuted Jacobian, and its term is -log|dz_j/dx_i| - log N(z_j)."""
    model = elementwise_model(channels, size, num_scales)
    x = torch.rand(1, channels, size, size, dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(lambda v: flat_latents(model.encode(v)), x)[0].reshape(x.numel(), x.numel())
    assert ((jac != 0).sum(0) == 1).all(), "the test needs an element-wise flow"
    z = flat_latents(model.encode(x))[0]
    rows = jac.abs().argmax(0)  # latent index of each input element
    per_element = -(jac.abs().max(0).values.log() + (-0.5 * z[rows] ** 2 - 0.5 * math.log(2 * math.pi)))
    expected = per_element.reshape(channels, size, size).sum(0)
    assert torch.allclose(model.nll_map(x)[0], expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("channels,size,num_scales", CONFIGS)
def test_decode_log_det_is_minus_encode_log_det(channels, size, num_scales):
    model = tiny_model(channels, size, num_scales)
    x = torch.rand(3, channels, size, size, dtype=torch.float64)
    latents = model.encode(x)
    prior = sum(standard_normal(z) for z in latents)
    x_back, decode_logdet = model.decode_with_logdet(latents)
    assert torch.allclose(x_back, x, atol=1e-9)
    assert torch.allclose(decode_logdet, -(model.log_prob(x) - prior), rtol=1e-10, atol=1e-9)
    # and against autograd for one sample
    expected = jacobian_logabsdet(lambda v: model.decode([t[None] for t in unflatten(model, v)])[0],
                                  flat_latents(latents)[0])
    assert decode_logdet[0].item() == pytest.approx(expected.item(), rel=1e-7)


def standard_normal(z):
    return (-0.5 * z**2 - 0.5 * math.log(2 * math.pi)).flatten(1).sum(1)


def unflatten(model, flat):
    out, start = [], 0
    for shape in model.latent_shapes():
        n = math.prod(shape)
        out.append(flat[start:start + n].reshape(shape))
        start += n
    return out


@pytest.mark.parametrize("channels,size,num_scales", CONFIGS + [(3, 16, 4)])
def test_latent_shapes_and_assemble_follow_the_walk(channels, size, num_scales):
    model = tiny_model(channels, size, num_scales)
    x = torch.rand(2, channels, size, size, dtype=torch.float64)
    latents = model.encode(x)
    assert [tuple(z.shape[1:]) for z in latents] == model.latent_shapes()
    # assemble is the inverse of the walk's rearrangements: element ids come back to their place
    ids = torch.arange(x.numel() // 2, dtype=torch.float64).reshape(1, channels, size, size)
    parts = split_scales(ids, num_scales)
    assert [tuple(p.shape[1:]) for p in parts] == model.latent_shapes()
    assert torch.equal(model.assemble(parts), ids)
    # and the walk's layers keep every element in place: ids moved through them stay where they are
    for _, layer in model._layers():
        assert torch.equal(layer.move(ids), ids) and torch.equal(layer.move_back(ids), ids)
    # the latents are the walk's image-layout output, split per scale
    assert all(torch.equal(a, b) for a, b in zip(latents, split_scales(model.assemble(latents), num_scales)))


# ----------------------------------------------------------------------------- semantics
def test_density_is_the_fixed_bijection_in_training_mode_too():
    """log_prob, bits_per_dim, nll_map, encode evaluate the fixed bijection whatever the mode:
    one image alone and inside a batch give the same value, and no running average moves."""
    model = tiny_model(1, 4, 2, dtype=torch.float32).train()
    x = torch.rand(8, 1, 4, 4)
    buffers = {k: v.clone() for k, v in model.state_dict().items() if "running" in k}
    with torch.no_grad():
        alone, batch = model.log_prob(x[:1]), model.log_prob(x)
        assert torch.allclose(alone, batch[:1], atol=1e-4)
        assert torch.allclose(model.nll_map(x[:1]), model.nll_map(x)[:1], atol=1e-4)
        assert torch.allclose(model.encode(x[:1])[0], model.encode(x)[0][:1], atol=1e-5)
        model.bits_per_dim(x), model.log_prob_terms(x), model.decode(model.encode(x))
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in buffers.items()), "running averages moved"
    assert model.training, "the mode is restored"
    eval_value = model.eval().log_prob(x)
    assert torch.allclose(batch, eval_value)
    # forward is the training objective: batch statistics in training mode
    model.train()
    assert not torch.allclose(model(x[:2]), model(x)[:2], atol=1e-3)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_precision_model_is_refused_with_what_to_do(dtype):
    model = tiny_model(1, 4, 2, dtype=torch.float32).to(dtype)
    x = torch.rand(2, 1, 4, 4, dtype=dtype)
    for call in (lambda: model.log_prob(x), lambda: model.encode(x), lambda: model.sample(2),
                 lambda: model.nll_map(x)):
        with pytest.raises(TypeError, match=r"model\.float\(\)"):
            call()


def test_autocast_applies_to_the_training_forward_only():
    model = tiny_model(1, 8, 2, dtype=torch.float32, hidden_channels=8)
    # the images this test has always used: drawn right after the model's initialisation from seed 0
    # (which random_model used to leave in the global generator; it no longer touches it)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        RealNVP(in_channels=1, image_size=8, num_scales=2, hidden_channels=8, num_blocks=1)
        x = torch.rand(4, 1, 8, 8) * 0.9 + 0.05
    model.train()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    reference_train = model(x)  # (moves the running averages: restore them before each pass)
    reference_eval = model.log_prob(x)
    model.set_autocast(torch.bfloat16)
    # evaluation ignores autocast entirely: bit-identical
    assert torch.equal(model.log_prob(x), reference_eval)
    model.load_state_dict(state)
    mixed = model(x)
    assert mixed.dtype == torch.float32
    # the training objective in bf16 convolutions: within 1% of the float32 value per image
    assert torch.allclose(mixed, reference_train, rtol=1e-2), (mixed, reference_train)
    assert not torch.equal(mixed, reference_train), "autocast had no effect"


def test_training_batch_of_one_with_1x1_coarsest_scale_says_what_to_change():
    model = tiny_model(1, 2, 2).train()
    with pytest.raises(ValueError, match="batch of at least 2"):
        model(torch.rand(1, 1, 2, 2, dtype=torch.float64))
    model(torch.rand(2, 1, 2, 2, dtype=torch.float64))  # two images are enough
    assert torch.isfinite(model.log_prob(torch.rand(1, 1, 2, 2, dtype=torch.float64))).all()


def test_weight_norm_scales_are_every_weight_normalized_convolution():
    model = RealNVP(in_channels=1, image_size=4, num_scales=2, hidden_channels=4, num_blocks=2, num_classes=3)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(hasattr(m, "parametrizations") for m in convs)
    found = {id(p) for p in model.weight_norm_scales()}
    assert found == {id(m.parametrizations.weight.original0) for m in convs}


def test_averaged_batch_norm_statistics_option():
    model = RealNVP(in_channels=1, image_size=4, num_scales=2, hidden_channels=4, num_blocks=1,
                    bn_training_statistics="averaged").double()
    norms = [m for m in model.modules() if type(m).__name__ == "FlowBatchNorm"]
    assert norms and all(m.training_statistics == "averaged" for m in norms)
    lp = model(torch.rand(4, 1, 4, 4, dtype=torch.float64))
    lp.sum().backward()
    assert torch.isfinite(lp).all()
