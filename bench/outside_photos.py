"""The `photos` model on photographs outside its sources, against lossless codecs on the same
crops: the held-out test protocol (each photograph downscaled so its shorter side is 2, 4 and
8 crop sizes, fixed random crops shared equally between the scales) applied to any image files.

    python bench/outside_photos.py FILE [FILE ...] [--model assets/models/photos] [--crops 100]

Prints per photograph and overall: the model's bits/dim, WebP and PNG lossless per crop, and
the model / WebP ratio. Given the training photographs' own files, the same ratio tells
under-fitting from over-fitting: raw bits/dim differ between photographs by their content
(a dark sky costs little), the ratio to a codec on the same crops much less. A benchmark, not a test.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from realnvp import RealNVP  # noqa: E402
from realnvp.codecs import codec_bits_per_dim  # noqa: E402
from train.datasets import PhotoCrops, PhotoRegion, photo_short_sides, scale_regions, scaled_to_short_sides  # noqa: E402
from train.evaluation import per_image_bpd  # noqa: E402
import results  # noqa: E402  (bench/results.py: --record writes RESULTS.md)


def regions_of(path: Path, crop_size: int) -> list[PhotoRegion]:
    """The photograph at each shorter side of the test protocol (as train.datasets scales the manifest's)."""
    with Image.open(path) as opened:
        image = ImageOps.exif_transpose(opened).convert("RGB")
    sides = photo_short_sides(crop_size)
    return scale_regions(path.stem, scaled_to_short_sides(image, sides), sides, crop_size)


def protocol_crops(path: Path, crop_size: int, count: int, seed: int = 0) -> torch.Tensor:
    """``count`` fixed crops of the photograph at ``path`` by the test protocol, as a float32 batch."""
    crops = PhotoCrops(regions_of(path, crop_size), count, crop_size, flip=False, seed=seed, stream=7)
    return torch.stack([crops[i][0] for i in range(len(crops))])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--model", default=str(ROOT / "assets" / "models" / "photos"))
    p.add_argument("--crops", type=int, default=100, help="crops per photograph")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    model = RealNVP.from_pretrained(args.model).eval()
    size = model.image_size
    print(f"model {args.model}; {args.crops} crops of {size}x{size} per photograph")
    print("| photograph | model bits/dim | WebP | PNG | model / WebP |")
    print("|---|---|---|---|---|")
    totals = {"model": [], "webp": [], "png": []}
    for path in args.files:
        images = protocol_crops(path, size, args.crops, args.seed)
        ours = np.array(per_image_bpd(model, torch.utils.data.TensorDataset(images, torch.zeros(len(images))),
                                      torch.device("cpu")))
        webp, png = codec_bits_per_dim(images, "webp"), codec_bits_per_dim(images, "png")
        totals["model"].append(ours), totals["webp"].append(webp), totals["png"].append(png)
        print(f"| {path.name} | {ours.mean():.3f} | {webp.mean():.3f} | {png.mean():.3f} | "
              f"{ours.mean() / webp.mean():.2f}x |", flush=True)
    m, w, g = (np.concatenate(totals[k]).mean() for k in ("model", "webp", "png"))
    print(f"| **all {len(args.files)}** | **{m:.3f}** | {w:.3f} | {g:.3f} | **{m / w:.2f}x** |")


if __name__ == "__main__":
    sys.exit(results.run_recorded('The photo model on photographs outside its sources', main))
