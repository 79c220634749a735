"""The folded s/t weights are rebuilt when the weights change, and only then (issue #27: every
`eval()` on the app's shared model used to drop them)."""
import torch

from realnvp.checks import random_model


def resnets(model):
    from realnvp.nets import ResNet

    return [m for m in model.modules() if isinstance(m, ResNet)]


def test_mode_switches_keep_the_folded_weights_and_real_changes_rebuild_them():
    model = random_model(channels=1, size=8, num_scales=2, dtype=torch.float32).eval()
    x = torch.rand(4, 1, 8, 8)
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
