"""Every layer on its own: exact inverse and log-det against the autograd Jacobian (float64)."""
import math

import pytest
import torch

from conftest import randomize_
from helpers import assert_bijection
from realnvp.coupling import ChannelCoupling, CheckerboardCoupling, checkerboard_mask
from realnvp.bijection import Bijection
from realnvp.flow import Scale, in_image_layout
from realnvp.nets import ResNet
from realnvp.norm import FlowBatchNorm
from realnvp.preprocess import LogitTransform, bits_per_dim, dequantize
from realnvp.reshape import FactorOut, Squeeze, Unsqueeze, split_half, squeeze



@pytest.fixture(autouse=True)
def _float64():
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(torch.float32)


def test_checkerboard_mask_parities_partition():
    like = torch.zeros(1)
    m0, m1 = checkerboard_mask(3, 4, 0, like), checkerboard_mask(3, 4, 1, like)
    assert torch.equal(m0 + m1, torch.ones(1, 1, 3, 4))
    assert m0[0, 0, 0, 0] == 1 and m0[0, 0, 0, 1] == 0 and m0[0, 0, 1, 0] == 0


@pytest.mark.parametrize("parity", [0, 1])
@pytest.mark.parametrize("channels,size", [(1, 4), (3, 4), (2, 6)])
def test_checkerboard_coupling(parity, channels, size):
    layer = randomize_(CheckerboardCoupling(channels, parity, hidden_channels=4, num_blocks=1), seed=parity).eval()
    x = torch.randn(2, channels, size, size)
    z, ld = assert_bijection(layer, x)
    mask = checkerboard_mask(size, size, parity, x)
    assert torch.equal(z * mask, x * mask), "conditioning pixels must pass unchanged"
    assert torch.equal(ld * mask, torch.zeros_like(ld)), "log-det lives on the transformed pixels only"
    assert ld.abs().sum() > 0


@pytest.mark.parametrize("parity", [0, 1])
def test_channel_coupling(parity):
    layer = randomize_(ChannelCoupling(4, parity, hidden_channels=4, num_blocks=1), seed=3).eval()
    x = torch.randn(2, 4, 3, 3)
    z, ld = assert_bijection(layer, x)
    known = slice(0, 2) if parity == 0 else slice(2, 4)
    assert torch.equal(z[:, known], x[:, known])
    assert ld[:, known].abs().sum() == 0 and ld.abs().sum() > 0


def test_channel_coupling_rejects_odd_channels():
    with pytest.raises(ValueError, match="even"):
        ChannelCoupling(3, 0, 4, 1)


def test_scale_is_bounded_by_learned_factor():
    layer = CheckerboardCoupling(1, 0, hidden_channels=4, num_blocks=1).eval()
    with torch.no_grad():
        for p in layer.net.parameters():
            p.normal_(0, 5.0)
        layer.s_bound.fill_(0.7)
    _, ld = layer.encode(torch.randn(3, 1, 4, 4) * 10)
    assert ld.abs().max() <= 0.7 + 1e-12


def test_fresh_coupling_is_identity():
    layer = CheckerboardCoupling(2, 1, hidden_channels=4, num_blocks=2).eval()
    x = torch.randn(2, 2, 4, 4)
    z, ld = layer.encode(x)
    assert torch.equal(z, x) and ld.abs().sum() == 0


def test_conditional_coupling_depends_on_label():
    layer = randomize_(CheckerboardCoupling(1, 0, 4, 1, num_classes=3), seed=1).eval()
    x = torch.randn(2, 1, 4, 4)
    y = torch.tensor([0, 2])
    assert_bijection(layer, x, y)
    z0, _ = layer.encode(x, torch.tensor([0, 0]))
    z1, _ = layer.encode(x, torch.tensor([1, 1]))
    assert not torch.allclose(z0, z1)
    with pytest.raises(ValueError, match="labels"):
        layer.encode(x)


def test_flow_batch_norm_eval_bijection_and_train_statistics():
    bn = randomize_(FlowBatchNorm(3), seed=2)
    bn.eval()
    assert_bijection(bn, torch.randn(2, 3, 2, 2))
    bn.train()
    bn.log_gamma.data.zero_(), bn.beta.data.zero_()
    before = bn.running_mean.clone()
    x = torch.randn(16, 3, 4, 4) * 3 + 2
    z, ld = bn.encode(x)
    assert torch.allclose(z.mean((0, 2, 3)), torch.zeros(3), atol=1e-9)
    assert torch.allclose(z.var((0, 2, 3), unbiased=False), torch.ones(3), atol=1e-3)
    assert not torch.allclose(bn.running_mean, before), "running averages must move in training"
    var = x.var((0, 2, 3), unbiased=False)
    assert torch.allclose(ld[0, :, 0, 0], -0.5 * torch.log(var + bn.eps))


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


def test_rearrangements_move_log_dets_with_their_elements():
    x = torch.arange(2 * 2 * 4 * 4, dtype=torch.float64).reshape(2, 2, 4, 4)
    for layer in (Squeeze(), Unsqueeze(), FactorOut(Identity())):
        source = squeeze(x) if isinstance(layer, Unsqueeze) else x
        out, ld = layer.encode(source)
        assert ld.abs().sum() == 0
        moved = layer.move(source)  # the same rearrangement applied to any tensor shaped like the input
        assert torch.equal(moved, out)
        assert torch.equal(layer.move_back(moved), source)
        assert torch.equal(layer.decode(out)[0], source)
    assert torch.equal(split_half(FactorOut(Identity()).encode(squeeze(x))[0])[0], split_half(squeeze(x))[0])


class Identity(Bijection):
    """The identity as a bijection: the rest of a flow that does nothing."""

    def encode(self, x, y=None):
        return x, torch.zeros_like(x)

    def decode(self, z, y=None):
        return z, torch.zeros_like(z)


def test_flow_batch_norm_averaged_statistics_variant():
    """Appendix E: in training, normalize with the running averages updated by this batch
    (rho = 0.95), gradients through the batch part; evaluation is the same fixed map."""
    bn = FlowBatchNorm(3, momentum=0.05, training_statistics="averaged").double()
    x = torch.randn(16, 3, 4, 4, dtype=torch.float64) * 3 + 2
    x.requires_grad_(True)
    z, ld = bn.encode(x)
    mean = 0.95 * 0 + 0.05 * x.detach().mean((0, 2, 3))
    var = 0.95 * 1 + 0.05 * x.detach().var((0, 2, 3), unbiased=False)
    assert torch.allclose(bn.running_mean, mean) and torch.allclose(bn.running_var, var)
    assert torch.allclose(ld[0, :, 0, 0], -0.5 * torch.log(var + bn.eps))
    z.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    bn.eval()
    assert_bijection(bn, torch.randn(2, 3, 2, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="training_statistics"):
        FlowBatchNorm(3, training_statistics="running")


def test_flow_batch_norm_averaged_statistics_pass_gradients_through_the_batch_part():
    """Appendix E: the gradient flows through the batch part of the averaged statistics
    mu = (1 - m) mu~ + m mu_batch, var = (1 - m) var~ + m var_batch. For a loss sum(w z), with
    s = exp(log_gamma) / sqrt(var + eps) and N values per channel, the input gradient is
        s w - s m mean(w) - s m (x - mu_batch) sum(w (x - mu)) / (N (var + eps)),
    which differs from the gradient with the statistics detached (s w)."""
    g = torch.Generator().manual_seed(0)
    m = 0.05
    bn = FlowBatchNorm(3, momentum=m, training_statistics="averaged").double()
    with torch.no_grad():
        bn.log_gamma.copy_(torch.randn(3, generator=g, dtype=torch.float64) * 0.3)
        bn.running_mean.copy_(torch.randn(3, generator=g, dtype=torch.float64))
        bn.running_var.copy_(torch.rand(3, generator=g, dtype=torch.float64) + 0.5)
    running_mean, running_var = bn.running_mean.clone(), bn.running_var.clone()
    x = (torch.randn(8, 3, 4, 4, generator=g, dtype=torch.float64) * 2 + 1).requires_grad_(True)
    w = torch.randn(8, 3, 4, 4, generator=g, dtype=torch.float64)
    z, _ = bn.encode(x)
    (grad,) = torch.autograd.grad((w * z).sum(), [x])

    xd = x.detach()
    per_channel = lambda t: t.mean((0, 2, 3), keepdim=True)  # noqa: E731
    mu_batch = per_channel(xd)
    var_batch = per_channel((xd - mu_batch) ** 2)
    mu = (1 - m) * running_mean.view(1, 3, 1, 1) + m * mu_batch
    var = (1 - m) * running_var.view(1, 3, 1, 1) + m * var_batch
    s = torch.exp(bn.log_gamma.detach()).view(1, 3, 1, 1) / torch.sqrt(var + bn.eps)
    detached = s * w
    expected = detached - s * m * per_channel(w) - s * m * (xd - mu_batch) * per_channel(w * (xd - mu)) / (var + bn.eps)
    assert torch.allclose(grad, expected, rtol=1e-10, atol=1e-12)
    assert (grad - detached).abs().max() > 1e-3, "the statistics' gradient must not be cut"


def test_logit_transform():
    layer = LogitTransform(0.05)
    x = torch.rand(2, 1, 3, 3)
    x[0, 0, 0, 0], x[0, 0, 0, 1] = 0.0, 1.0
    assert_bijection(layer, x)
    z, _ = layer.encode(x)
    assert z[0, 0, 0, 0] == pytest.approx(math.log(0.05 / 0.95))
    with pytest.raises(ValueError):
        LogitTransform(0.5)


def test_dequantize_levels_and_bits_per_dim():
    levels = 17
    k = torch.randint(0, levels, (1000,)).double()
    x = k / (levels - 1)
    d = dequantize(x, levels, generator=torch.Generator().manual_seed(0))
    assert torch.equal(torch.floor(d * levels), k), "noise stays inside the pixel's bin"
    assert torch.allclose(dequantize(x, levels, noise=False), (k + 0.5) / levels)
    lp = torch.tensor([-10.0, 5.0])
    assert torch.allclose(bits_per_dim(lp, 4, 256), (-lp + 4 * math.log(256)) / (4 * math.log(2)))
    # the uniform density on [0,1]^D gives exactly log2(L) bits/dim
    assert bits_per_dim(torch.zeros(1), 10, 256).item() == pytest.approx(8.0)


def test_resnet_head_starts_at_zero():
    net = ResNet(3, 6, 8, 2)
    assert net(torch.randn(2, 3, 4, 4)).abs().max() == 0


def test_resnet_folded_evaluation_matches_and_follows_parameter_changes():
    net = randomize_(ResNet(3, 6, 8, 2, num_classes=4), seed=7).eval()
    x, y = torch.randn(5, 3, 6, 6), torch.tensor([0, 1, 2, 3, 0])
    reference = net._forward(x, y)  # the unfolded modules
    with torch.no_grad():
        assert torch.allclose(net(x, y), reference, atol=1e-12)
        assert torch.allclose(net(x, y), reference, atol=1e-12)  # from the cache
        net.blocks[1].body[3].running_var.mul_(2)  # in-place buffer change
        net.head[-1].parametrizations.weight.original1.add_(0.1)  # in-place parameter change
        changed = net._forward(x, y)
        assert not torch.allclose(changed, reference)
        assert torch.allclose(net(x, y), changed, atol=1e-12)
    net.load_state_dict({k: v * 1.01 for k, v in net.state_dict().items()})
    with torch.no_grad():
        assert torch.allclose(net(x, y), net._forward(x, y), atol=1e-12)
    # with gradients wanted for the parameters, the unfolded path runs and they get them
    net(x, y).sum().backward()
    assert net.stem.bias.grad is not None and net.blocks[0].body[2].parametrizations.weight.original1.grad is not None


def test_folded_weights_built_under_inference_mode_serve_input_gradients():
    net = randomize_(ResNet(3, 6, 8, 1), seed=3).eval().requires_grad_(False)
    x = torch.randn(2, 3, 4, 4)
    with torch.inference_mode():
        net(x)  # builds the cache
    x.requires_grad_(True)
    (grad,) = torch.autograd.grad(net(x).sum(), [x])
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0


def test_folded_network_runs_channels_last_and_returns_what_the_modules_do_in_float32():
    net = randomize_(ResNet(3, 6, 16, 2), seed=5).float().eval()
    x = torch.randn(4, 3, 10, 10, dtype=torch.float32)
    with torch.no_grad():
        out = net(x)
    assert out.is_contiguous() and out.dtype == torch.float32
    assert torch.allclose(out, net._forward(x, None), rtol=1e-4, atol=1e-5)


def test_input_gradients_only_runs_the_folded_form_and_leaves_the_parameters_alone():
    from realnvp.nets import input_gradients_only

    net = randomize_(ResNet(3, 6, 8, 2), seed=6).eval()
    x = torch.randn(2, 3, 6, 6, dtype=next(net.parameters()).dtype, requires_grad=True)
    (expected,) = torch.autograd.grad(net._forward(x, None).square().sum(), [x])
    with input_gradients_only():
        out = net(x)
        (grad,) = torch.autograd.grad(out.square().sum(), [x])
    assert torch.allclose(grad, expected, rtol=1e-6, atol=1e-9)
    assert out.grad_fn is not None and all(p.grad is None for p in net.parameters())
    with pytest.raises(RuntimeError):  # the folded form holds no path to the parameters
        torch.autograd.grad(out.sum(), [net.stem.bias])


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_channel_affine_off_the_cpu_computes_what_the_cpu_batch_norm_form_does(dtype):
    # cuDNN refuses the eps-0 batch norm the CPU path uses, so other devices take the broadcast form
    from realnvp.nets import broadcast_channel_affine, channel_affine
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 5, 4, 6, generator=g, dtype=torch.float32).to(dtype)
    scale, shift = (torch.randn(5, generator=g, dtype=torch.float32) for _ in range(2))  # the folded form keeps float32
    expected = x.float() * scale[None, :, None, None] + shift[None, :, None, None]
    tolerance = 1e-6 if dtype == torch.float32 else 3e-2
    for out in (channel_affine(x, scale, shift), broadcast_channel_affine(x, scale, shift)):
        assert out.dtype == dtype
        torch.testing.assert_close(out.float(), expected, rtol=tolerance, atol=tolerance)


def test_folded_weights_of_two_dtypes_live_side_by_side_and_are_rebuilt_on_change():
    # densities (float32) and sampling (bfloat16) run on other threads of the app at the same time:
    # each dtype keeps its own folded weights instead of evicting the other's
    net = randomize_(ResNet(3, 6, 8, 2), seed=8).float().eval()
    full, reduced = net._folded(), net._folded(torch.bfloat16)
    assert full.stem_weight.dtype == torch.float32 and reduced.stem_weight.dtype == torch.bfloat16
    assert net._folded() is full and net._folded(torch.bfloat16) is reduced
    assert net._folded(torch.float32) is full  # the model's dtype, named or not, is one entry
    with torch.no_grad():
        net.stem.bias.add_(0.5)
    rebuilt = net._folded(torch.bfloat16)
    assert rebuilt is not reduced and net._folded() is not full
    net.train()
    net.eval()
    assert net._folded(torch.bfloat16) is not rebuilt


def test_folded_network_under_two_threads_in_two_dtypes():
    # the app's soak once failed with "Input type (BFloat16) and bias type (float)": a sampling
    # request got the float32 weights another thread's density request had just cached
    import sys
    import threading

    from realnvp.precision import sampling_precision

    net = randomize_(ResNet(3, 6, 8, 2), seed=9).float().eval()
    x = torch.randn(1, 3, 4, 4, dtype=torch.float32)
    errors, start = [], threading.Barrier(2)

    def run(dtype):
        start.wait()
        try:
            with torch.no_grad(), sampling_precision(dtype):
                for i in range(300):
                    if i % 50 == 0:
                        net.stem.bias.add_(0.0)  # an in-place change: every dtype's weights are rebuilt
                    assert net(x).dtype == torch.float32
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(dtype,)) for dtype in (None, torch.bfloat16)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads between almost any two bytecodes
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors, errors
