import pytest
import torch

from helpers import tiny_model
from realnvp import precision
from realnvp.precision import fast_sampling_dtype, native_bf16, sampling_precision


def test_native_bf16_reads_the_cpu_flags(monkeypatch):
    monkeypatch.setattr(precision, "_cpu_flags", lambda: frozenset({"avx512f", "avx512_bf16"}))
    assert native_bf16("cpu") and fast_sampling_dtype("cpu") == torch.bfloat16
    monkeypatch.setattr(precision, "_cpu_flags", lambda: frozenset({"avx2"}))
    assert not native_bf16("cpu") and fast_sampling_dtype("cpu") is None
    assert not native_bf16("meta")


def test_bf16_sampling_is_close_and_never_reaches_densities():
    model = tiny_model(1, 8, 2, dtype=torch.float32, hidden_channels=8)
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    exact = model.sample(16, 0.7, g())
    model.sampling_dtype = torch.bfloat16
    fast = model.sample(16, 0.7, g())
    assert fast.dtype == torch.float32
    assert not torch.equal(fast, exact), "bfloat16 had no effect"
    assert (fast - exact).abs().mean() < 0.02
    x = torch.rand(4, 1, 8, 8)
    reference = model.log_prob(x)
    with sampling_precision(torch.bfloat16):  # even inside the context, densities are exact
        assert torch.equal(model.log_prob(x), reference)
        assert all(torch.equal(a, b) for a, b in zip(model.encode(x), model.encode(x)))
    model.sampling_dtype = None
    assert torch.equal(model.sample(16, 0.7, g()), exact)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_decode_is_exact_whatever_the_sampling_dtype(dtype):
    model = tiny_model(1, 4, 2, dtype=dtype)
    model.sampling_dtype = torch.bfloat16
    x = torch.rand(2, 1, 4, 4, dtype=dtype)
    with torch.no_grad():
        assert (model.decode(model.encode(x)) - x).abs().max() < (1e-5 if dtype == torch.float32 else 1e-9)
