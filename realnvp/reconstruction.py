"""What each scale's latents hold: reconstructions that keep the k coarsest scales, two images'
scales mixed, and the round trip's error."""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from .interpolation import label_batch
from .model import RealNVP
from .precision import sampling_precision


class PerScale(NamedTuple):
    """The per-scale view: columns (num_scales + 1, C, H, W) for k = all ... 0 coarsest scales
    kept, clamped to [0, 1], the first being the input itself; their captions; and the round
    trip's max |x - decode(encode(x))|, from a full-precision decode."""

    rows: Tensor
    captions: list[str]
    round_trip_error: float


def _columns(latents: list[Tensor], fresh: list[Tensor], mode: str, n: int) -> list[list[Tensor]]:
    """Each column's latents, k = n (all the input's) first: the k coarsest scales' latents are the
    input's, the finer ones `fresh` (resample) or zero."""
    return [[z if i >= n - keep else (f if mode == "resample" else torch.zeros_like(z))
             for i, (z, f) in enumerate(zip(latents, fresh))] for keep in range(n, -1, -1)]


def _decode_columns(model: RealNVP, columns: list[list[Tensor]], y) -> Tensor:
    """decode() of every column in one batch (each column one image): the same values as one decode
    per column, for a fraction of the passes' overhead."""
    latents = [torch.cat(parts) for parts in zip(*columns)]
    return model.decode(latents, label_batch(y, len(columns)))


@torch.no_grad()
def per_scale_view(model: RealNVP, x: Tensor, mode: str = "resample", temperature: float = 1.0, seed: int = 0,
                   y=None) -> PerScale:
    """Decodings that keep the latents of the k coarsest scales (k = all ... 0) of one image x
    (1, C, H, W) and resample (z ~ N(0, T^2)) or zero the finer ones, from one encode: the round
    trip (k = all) and, in the model's `sampling_dtype` where one is set (they are only looked at),
    the other columns. The k = all column shows x itself."""
    if mode not in ("resample", "zero"):
        raise ValueError(f"mode must be 'resample' or 'zero', got {mode!r}")
    latents = model.encode(x, y)
    generator = torch.Generator().manual_seed(int(seed))
    fresh = [torch.randn(z.shape, generator=generator, dtype=z.dtype).to(z.device) * temperature for z in latents]
    n = model.num_scales
    columns = _columns(latents, fresh, mode, n)
    if model.sampling_dtype is None:
        decoded = _decode_columns(model, columns, y)
        exact, looked_at = decoded[:1], decoded[1:]
    else:
        exact = _decode_columns(model, columns[:1], y)
        with sampling_precision(model.sampling_dtype):
            looked_at = _decode_columns(model, columns[1:], y)
    error = (exact - x).abs().max().item()
    rows = torch.cat([x, looked_at]).clamp(0, 1)
    captions = ["all scales (exact)" if keep == n else f"{keep} coarsest scale{'s' if keep != 1 else ''}"
                if keep else "no scale kept" for keep in range(n, -1, -1)]
    return PerScale(rows, captions, error)


def per_scale_reconstructions(model: RealNVP, x: Tensor, mode: str = "resample", temperature: float = 1.0,
                              seed: int = 0, y=None) -> tuple[Tensor, list[str]]:
    """`per_scale_view`'s columns (num_scales + 1, C, H, W) and captions."""
    view = per_scale_view(model, x, mode, temperature, seed, y)
    return view.rows, view.captions


@torch.no_grad()
def mix_scales(model: RealNVP, a: Tensor, b: Tensor, y=None) -> Tensor:
    """Scale mixing: decode the latents of the k coarsest scales of image `a` with the finer
    scales' latents of image `b`, for k = num_scales (all from a: a itself) down to 0 (all from
    b: b itself). a and b are (1, C, H, W) of the same size; with a class-conditional model `y`
    (one label) conditions all three. Returns (num_scales + 1, C, H, W), k = num_scales first,
    not clamped (encode accepts the result again, so its coarse latents can be checked)."""
    if a.shape != b.shape or a.shape[0] != 1:
        raise ValueError(f"expected two images of the same shape (1, C, H, W), got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    ys = None if y is None else label_batch(y, 1)
    za, zb = model.encode(a, ys), model.encode(b, ys)
    n = model.num_scales
    rows = [[za[i] if i >= n - keep else zb[i] for i in range(n)] for keep in range(n, -1, -1)]
    latents = [torch.cat([row[i] for row in rows]) for i in range(n)]
    return model.decode(latents, label_batch(y, n + 1))


def mix_scales_captions(num_scales: int) -> list[str]:
    """Short captions of the rows of `mix_scales`, k = num_scales first: "all from A",
    "k coarse A + (num_scales - k) fine B", ..., "all from B"."""
    return ["all from A" if k == num_scales else "all from B" if k == 0 else
            f"{k} coarse A + {num_scales - k} fine B" for k in range(num_scales, -1, -1)]


@torch.no_grad()
def round_trip_error(model: RealNVP, x: Tensor, y=None) -> float:
    return (model.decode(model.encode(x, y), y) - x).abs().max().item()
