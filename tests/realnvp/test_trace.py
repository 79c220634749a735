"""realnvp.trace: the layer-by-layer walk in both directions, its log-dets, pictures and masks."""

import math

import pytest
import torch

from helpers import grey_images, tiny_model
from realnvp import trace
from realnvp.preprocess import bits_per_dim


@pytest.fixture(params=[(1, 8, 2), (3, 8, 3)], ids=["grey-2-scales", "colour-3-scales"])
def model(request):
    channels, size, scales = request.param
    return tiny_model(channels, size, scales, dtype=torch.float64)


def images(model, n=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, model.in_channels, model.image_size, model.image_size, generator=g,
                      dtype=torch.float64) * 0.9 + 0.05


def test_encode_log_dets_sum_to_the_models_log_prob(model):
    x = images(model)
    t = trace.trace_encode(model, x)
    per_layer = torch.stack([s.logdet for s in t.steps]).sum(0)
    assert torch.allclose(per_layer + t.prior, model.log_prob(x), rtol=0, atol=1e-10)
    assert torch.allclose(t.log_prob, model.log_prob(x), rtol=0, atol=1e-10)
    # the per-scale terms of log_prob_terms are sums of the steps of that scale
    terms = model.log_prob_terms(x)
    for name, value in terms.items():
        if name.startswith("scale"):
            mine = sum(s.logdet for s in t.steps if s.name.startswith(name + " ") or s.name == name)
            assert torch.allclose(mine, value, rtol=0, atol=1e-10), name
    assert torch.allclose(t.steps[-1].total, per_layer, rtol=0, atol=1e-12)


def test_encode_ends_at_the_models_latents_and_every_layer_is_a_step(model):
    x = images(model)
    t = trace.trace_encode(model, x)
    with torch.no_grad():  # the trace runs without autograd, whose kernels may round differently
        expected = model.encode(x)
    for mine, theirs in zip(t.latents, expected):
        assert torch.equal(mine, theirs)
    kinds = [s.kind for s in t.steps]
    couplings = sum(k.endswith("coupling") for k in kinds)
    assert couplings == 6 * (model.num_scales - 1) + 4 and kinds.count("batch norm") == couplings
    assert kinds[0] == "logit" and kinds.count("factor-out") == model.num_scales * (model.num_scales - 1) // 2  # scale i re-enters the i factor-outs before it
    # the last state, in image layout with nothing left out, is the latents in image layout
    assert torch.equal(t.steps[-1].picture, model.assemble(t.latents))


def test_bits_per_dim_of_the_last_state_is_the_models(model):
    x = images(model)
    t = trace.trace_encode(model, x)
    assert torch.allclose(t.steps[-1].bits_per_dim, model.bits_per_dim(x), rtol=0, atol=1e-12)
    expected_start = bits_per_dim(-0.5 * (x * x + math.log(2 * math.pi)).flatten(1).sum(1), x[0].numel())
    assert torch.allclose(t.start_bits_per_dim, expected_start, rtol=0, atol=1e-12)


def test_decode_trace_ends_at_the_image_and_mirrors_the_encode_trace(model):
    x = images(model)
    forward = trace.trace_encode(model, x)
    backward = trace.trace_decode(model, forward.latents)
    assert torch.allclose(backward.image, x, rtol=0, atol=1e-10)
    assert torch.allclose(backward.steps[-1].output, x, rtol=0, atol=1e-10)
    assert torch.allclose(backward.logdet, -forward.logdet, rtol=0, atol=1e-10)
    assert torch.allclose(backward.log_prob, model.log_prob(x), rtol=0, atol=1e-9)
    # the same states in reverse order: decode step k leaves what encode step n-1-k received
    enc_states = [forward.start] + [s.picture for s in forward.steps[:-1]]
    dec_kinds = [s.kind for s in backward.steps if s.kind != "factor-in"]
    enc_kinds = [s.kind for s in forward.steps if s.kind != "factor-out"]
    assert dec_kinds == enc_kinds[::-1]
    # truncated-flow bits/dim per state: the decode trace starts where the encode trace ends
    assert torch.allclose(backward.start_bits_per_dim, forward.steps[-1].bits_per_dim, rtol=0, atol=1e-9)
    assert torch.allclose(backward.steps[-1].bits_per_dim, forward.start_bits_per_dim, rtol=0, atol=1e-9)
    assert torch.allclose(backward.steps[-1].picture, enc_states[0], rtol=0, atol=1e-10)


def test_decode_of_a_sample_matches_model_decode(model):
    latents = model.sample_latents(2, generator=torch.Generator().manual_seed(3))
    t = trace.trace_decode(model, latents)
    assert torch.allclose(t.image, model.decode(latents), rtol=0, atol=1e-12)
    x_again, logdet = model.decode_with_logdet(latents)
    assert torch.allclose(t.logdet, logdet, rtol=0, atol=1e-10)


def test_coupling_masks_say_which_elements_change(model):
    x = images(model, n=1)
    t = trace.trace_encode(model, x)
    before = [t.start] + [s.output for s in t.steps]
    couplings = [s for s in t.steps if s.kind.endswith("coupling")]
    assert couplings and all(s.changed is not None for s in couplings)
    for s in couplings:
        previous = before[s.index]
        assert previous.shape == s.output.shape
        moved = (s.output != previous)[0]
        assert not moved[~s.changed].any()  # the conditioning elements pass through
        assert moved[s.changed].all()  # the others are transformed (random weights: all of them move)
        assert 0 < s.changed.float().mean() == pytest.approx(0.5)
        # in image layout, elements outside the flow are NaN, the others 0 or 1
        shown = s.changed_picture[~torch.isnan(s.changed_picture)]
        assert set(shown.unique().tolist()) == {0.0, 1.0}
    checkerboards = [s for s in couplings if s.kind == "checkerboard coupling"]
    assert not torch.equal(checkerboards[0].changed, checkerboards[1].changed)  # alternating parities


def test_pictures_show_what_has_left_the_flow():
    model = tiny_model(1, 8, 3, dtype=torch.float64)
    t = trace.trace_encode(model, grey_images(1))
    left = [torch.isnan(s.picture).double().mean().item() for s in t.steps]
    assert left[0] == 0.0 and max(left) == pytest.approx(0.75)  # half, then three quarters set aside
    factor_outs = [s for s in t.steps if s.kind == "factor-out"]
    assert len(factor_outs) == 3 and factor_outs[0].set_aside.shape == (1, 2, 4, 4)  # scale 2 passes two
    assert left[-1] == 0.0  # the last unsqueeze puts every latent back in image layout
    for s in t.steps:
        assert s.picture.shape == (1, 1, 8, 8)


def test_refuses_wrong_inputs():
    model = tiny_model(1, 8, 2, dtype=torch.float64)
    with pytest.raises(ValueError):
        trace.trace_encode(model, torch.rand(1, 3, 8, 8, dtype=torch.float64))
    with pytest.raises(ValueError):
        trace.trace_decode(model, [torch.zeros(1, 2, 4, 4, dtype=torch.float64)])
