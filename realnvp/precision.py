"""Reduced precision where it is safe: the s/t networks' convolutions when sampling.

Sampled images tolerate bfloat16 convolutions (the scales and shifts are computed in bfloat16,
the coupling arithmetic stays in the model's dtype); densities, bits/dim, `encode` and
`decode` never run in reduced precision. Whether bfloat16 is fast is a property of the
machine: native on recent GPUs and on CPUs with AVX512-BF16 or AMX, emulated (slow) elsewhere.
"""
from __future__ import annotations

import contextlib
import contextvars
import functools

import torch

_SAMPLING_DTYPE = contextvars.ContextVar("realnvp_sampling_dtype", default=None)


@functools.lru_cache(maxsize=None)
def _cpu_flags() -> frozenset[str]:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def native_bf16(device: torch.device | str = "cpu") -> bool:
    """True where bfloat16 matrix arithmetic runs natively (and so faster than float32)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return bool({"avx512_bf16", "amx_bf16"} & _cpu_flags())
    return False


def fast_dtype(device: torch.device | str = "cpu") -> torch.dtype | None:
    """The s/t networks' compute dtype that is fastest on `device`: bfloat16 on CPUs where it is
    native, else None (full precision). On GPUs the models of this size are bound by kernel
    launches, and autocast's casts cost more than bfloat16 saves (bench/peer.py on a GPU;
    bench/RESULTS.md)."""
    device = torch.device(device)
    return torch.bfloat16 if device.type == "cpu" and native_bf16(device) else None


def fast_sampling_dtype(device: torch.device | str = "cpu") -> torch.dtype | None:
    """The dtype of the s/t convolutions when sampling on `device` (see `fast_dtype`)."""
    return fast_dtype(device)


@contextlib.contextmanager
def sampling_precision(dtype: torch.dtype | None):
    """Within this block, evaluation-mode s/t networks run their convolutions in `dtype`."""
    token = _SAMPLING_DTYPE.set(dtype)
    try:
        yield
    finally:
        _SAMPLING_DTYPE.reset(token)


def current_sampling_dtype() -> torch.dtype | None:
    return _SAMPLING_DTYPE.get()
