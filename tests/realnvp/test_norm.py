"""realnvp.norm: the flow batch norm, in evaluation and both training variants."""

import pytest
import torch

from helpers import randomize_
from helpers import assert_bijection
from realnvp.norm import FlowBatchNorm


pytestmark = pytest.mark.usefixtures("float64_default")


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
