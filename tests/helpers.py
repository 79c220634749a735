"""Shared checks for bijections: exact inverse, and log-det against the autograd Jacobian."""
import torch

from realnvp.checks import jacobian_logabsdet


def assert_bijection(layer, x, y=None, atol=1e-9):
    """encode/decode invert each other; each direction's log-det matches autograd; per sample."""
    z, ld = layer.encode(x, y)
    assert ld.shape == z.shape
    x_back, ld_back = layer.decode(z, y)
    assert torch.allclose(x_back, x, atol=atol, rtol=0), (x_back - x).abs().max()
    assert torch.allclose(ld.flatten(1).sum(1), -ld_back.flatten(1).sum(1), atol=atol)
    for b in range(x.shape[0]):
        yb = None if y is None else y[b : b + 1]
        expected = jacobian_logabsdet(lambda v: layer.encode(v[None], yb)[0][0], x[b])
        assert torch.allclose(ld[b].sum(), expected, rtol=1e-7, atol=1e-9), (ld[b].sum(), expected)
        expected_inv = jacobian_logabsdet(lambda v: layer.decode(v[None], yb)[0][0], z[b])
        assert torch.allclose(ld_back[b].sum(), expected_inv, rtol=1e-7, atol=1e-9)
    return z, ld
