"""realnvp.nets: the s/t ResNets, their folded evaluation form and its caches."""

import pytest
import torch

from realnvp.checks import random_model

from helpers import randomize_
from realnvp.nets import ResNet


pytestmark = pytest.mark.usefixtures("float64_default")


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
    assert net._folded(torch.bfloat16) is rebuilt  # a mode switch alone changes no weight (issue #27)


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


def resnets(model):
    return [m for m in model.modules() if isinstance(m, ResNet)]


def test_mode_switches_keep_the_folded_weights_and_real_changes_rebuild_them():
    model = random_model(channels=1, size=8, num_scales=2, dtype=torch.float32).eval()
    x = torch.rand(4, 1, 8, 8, dtype=torch.float32)
    with torch.no_grad():
        before = model.log_prob(x)
    built = [net._folded() for net in resnets(model)]
    model.train()
    model.eval()
    model.eval()
    assert all(net._folded() is b for net, b in zip(resnets(model), built)), "a mode switch rebuilt the weights"
    # a training step changes parameters and batch-norm buffers in place: everything is rebuilt
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-2)
    model.train()
    (-model(x).mean()).backward()
    optimizer.step()
    model.eval()
    assert all(net._folded() is not b for net, b in zip(resnets(model), built))
    with torch.no_grad():
        after = model.log_prob(x)
        model.train()
        model.eval()
        exact = torch.stack([model.log_prob(x[i:i + 1])[0] for i in range(len(x))])
    assert not torch.allclose(before, after)
    torch.testing.assert_close(after, exact)  # the rebuilt folded form is the trained model's
