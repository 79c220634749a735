"""How loose is the reported bits/dim? The single-draw bound against importance-weighted estimates.

    python bench/bound_gap.py [--model assets/models/photos] [--split test] [--per-photo 3] [--draws 32]

Every figure the project reports for a model with dequantization noise is the single-draw bound
-log p(x + u) + log q(u | k) (`RealNVP.discrete_bits_per_dim`). Averaging the weights
w = p(x + u) / q(u | k) of K draws instead (`RealNVP.importance_weighted_bits_per_dim`) gives an
estimate that falls towards the model's exact discrete -log P(k) as K grows (Burda et al. 2016):
the difference is how much the reported figures overstate the model's code length.

Crops: `--per-photo` random crops (seeded) of each `--split` photograph at each of the protocol's
shorter sides (bench/photo_protocol.py). Draw k uses the seed 1000 + k, so the estimate for K
draws uses the first K of them. Prints the mean single-draw figure, the estimates for
K = 1, 4, 16, ... `--draws`, and the spread of one crop's figure between draws. A benchmark, not
a test (it needs the Debian packages of the photo manifest); costs `--draws` passes over the crops.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from photo_protocol import SHORT_SIDES, photo_crops, split_photos  # noqa: E402
from realnvp import RealNVP  # noqa: E402
from realnvp.preprocess import importance_weighted_bits  # noqa: E402


def sampled_crops(split: str, per_photo: int, sides=SHORT_SIDES, seed: int = 0) -> torch.Tensor:
    """`per_photo` random protocol crops of each photograph of `split` at each shorter side (uint8)."""
    g = torch.Generator().manual_seed(seed)
    chosen = []
    for photo in split_photos(split):
        for crops in photo_crops(photo, tuple(sides)).values():
            chosen.append(crops[torch.randperm(len(crops), generator=g)[:per_photo]])
    return torch.cat(chosen)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=str(ROOT / "assets" / "models" / "photos"))
    p.add_argument("--split", choices=("train", "val", "test"), default="test")
    p.add_argument("--per-photo", type=int, default=3)
    p.add_argument("--draws", type=int, default=32)
    p.add_argument("--sides", type=int, nargs="+", default=list(SHORT_SIDES))
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    model = RealNVP.from_pretrained(args.model).eval()
    x = sampled_crops(args.split, args.per_photo, args.sides).double() / 255
    print(f"{args.model}: {len(x)} crops of the {args.split} split, {args.draws} draws of its "
          f"{'learned q' if model.dequantizer is not None else 'uniform noise'}")
    start = time.perf_counter()
    with torch.no_grad():
        draws_bpd = torch.stack([model.discrete_bits_per_dim(x, generator=torch.Generator().manual_seed(1000 + k))
                                 for k in range(args.draws)]).double()
    single = draws_bpd.mean().item()
    print(f"\n| draws K | importance-weighted bits/dim | below the single-draw bound ({single:.4f}) |")
    print("|---|---|---|")
    for k in sorted({1, *(4 ** i for i in range(1, 8) if 4 ** i < args.draws), args.draws}):
        estimate = importance_weighted_bits(draws_bpd[:k], x[0].numel()).mean().item()
        print(f"| {k} | {estimate:.4f} | {single - estimate:.4f} |")
    spread = draws_bpd.std(0).mean().item() if args.draws > 1 else float("nan")
    print(f"\none crop's single-draw figure varies between draws by {spread:.4f} bits/dim (standard deviation); "
          f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
