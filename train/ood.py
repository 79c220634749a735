"""python -m train.ood --model assets/models/mnist [--against fashion-mnist photos-v1] [--num-images 1000]

The out-of-distribution figures of a bundled model, precomputed for the app's OOD tab and
written beside its reference.json as ood.json:

- per image, for the model's own test split and for each other data set's test split (converted
  to the model's shape), the model's bits/dim (uniform dequantization with the evaluation's fixed
  noise seed; a class-conditional model is scored by its mixture over the classes,
  log p(x) = log mean_y p(x | y), since the other data have no labels) and the bits/dim of the
  same 8-bit image losslessly compressed as PNG and as WebP (train/baselines.py);
- the AUROC of telling the other data set from the model's own by the bits/dim (Nalisnick et al.,
  2019: a likelihood can rank unlike images as *more* likely), and by the input-complexity-
  corrected score S(x) = bits/dim(x) - codec bits/dim(x) (Serra et al., 2020, "Input complexity
  and out-of-distribution detection with likelihood-based generative models"), for each codec.
  Higher scores mean "more out of distribution"; an AUROC of 1 separates the sets perfectly,
  0.5 is chance, below 0.5 ranks them the wrong way round.

Other data sets are converted to the model's shape: greyscale to RGB by repeating the channel,
RGB to greyscale by Pillow's ITU-R 601-2 luma ("L"); photographs are cut at the model's size,
smaller images are padded with black around the centre (digits and clothes lie on black), larger
ones centre-cropped. A data set with more
test images than --num-images is subsampled evenly (every k-th image, in order).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader

from realnvp import CheckpointError, RealNVP
from realnvp import ood_scores
from realnvp.codecs import CODECS, codec_bits_per_dim

from .datasets import DATASET_NAMES, build_datasets
from .evaluation import EVAL_NOISE_SEED, dequantization_note

OOD_FILE = "ood.json"
RESIZABLE = ("photos", "photos-v1", "celeba", "folder")


def default_against(model: RealNVP, own: str) -> list[str]:
    """The other data sets worth comparing with: for greyscale digit models, clothes and photos;
    for colour models, digits and clothes."""
    if model.in_channels == 1:
        choices = ["fashion-mnist", "photos-v1", "mnist5k"]
    else:
        choices = ["mnist5k", "fashion-mnist", "photos-v1"]
    return [name for name in choices if name != own and not (own.startswith("photos") and name.startswith("photos"))
            ][:2]


def test_images(name: str, size: int | None, root: str) -> tuple[torch.Tensor, str]:
    """The test split of data set `name` as uint8 (N, C, H, W) and a description of it."""
    _, _, test, info = build_datasets(name, root=root, image_size=size if name in RESIZABLE else None,
                                      download=False)
    batches = [torch.round(x * (info.num_levels - 1)).to(torch.uint8) for x, _ in DataLoader(test, batch_size=500)]
    if info.num_levels != 256:
        raise ValueError(f"{name} has {info.num_levels} grey levels; only 8-bit data sets can be compared")
    what = f"{name} test split" + (f" (crops cut at {size}x{size})" if name in RESIZABLE and size else "")
    return torch.cat(batches), what


def to_model_shape(images: torch.Tensor, channels: int, size: int) -> tuple[torch.Tensor, list[str]]:
    """uint8 (N, C, H, W) -> uint8 (N, channels, size, size): channels repeated or converted to
    luma, then padded with black or centre-cropped. Returns the images and what was done."""
    steps = []
    if images.shape[1] != channels:
        if channels == 3 and images.shape[1] == 1:
            images = images.repeat(1, 3, 1, 1)
            steps.append("grey repeated to RGB")
        elif channels == 1 and images.shape[1] == 3:
            array = images.permute(0, 2, 3, 1).numpy()
            images = torch.from_numpy(np.stack([np.asarray(Image.fromarray(a).convert("L")) for a in array]))[:, None]
            steps.append("RGB to luma (Pillow 'L')")
        else:
            raise ValueError(f"cannot convert {images.shape[1]} channels to {channels}")
    h, w = images.shape[2:]
    if (h, w) != (size, size):
        if h <= size and w <= size:
            top, left = (size - h) // 2, (size - w) // 2
            images = torch.nn.functional.pad(images, (left, size - w - left, top, size - h - top))
            steps.append(f"padded with black from {w}x{h} to {size}x{size}")
        elif h >= size and w >= size:
            top, left = (h - size) // 2, (w - size) // 2
            images = images[:, :, top:top + size, left:left + size]
            steps.append(f"centre-cropped from {w}x{h} to {size}x{size}")
        else:
            raise ValueError(f"cannot bring {w}x{h} images to {size}x{size}")
    return images.contiguous(), steps


def evenly(images: torch.Tensor, count: int) -> tuple[torch.Tensor, str]:
    n = len(images)
    if n <= count:
        return images, f"all {n:,}"
    step = n // count
    return images[::step][:count], f"every {step}th of {n:,} ({count:,})"


@torch.no_grad()
def model_bpd(model: RealNVP, images: torch.Tensor, batch_size: int, seed: int = EVAL_NOISE_SEED) -> list[float]:
    """Bits/dim of uint8 images under the model (its mixture over classes if conditional), with
    the evaluation's dequantization: fixed noise, drawn batch by batch in order (for an
    unconditional model on its own test split this reproduces reference.json's test_bpd)."""
    generator = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    out: list[float] = []
    for start in range(0, len(images), batch_size):
        # uniform noise drawn in float64 (log q = 0), or learned noise: the bound with log q, as the
        # evaluation scores it
        x, log_q = model.dequantize_with_log_q(images[start:start + batch_size].double() / 255, generator=generator)
        out += ood_scores.marginal_bits_per_dim(model, x.float().to(device), log_q).double().cpu().tolist()
    return out


def scores(entry: dict, codec: str | None) -> np.ndarray:
    """The OOD score of each image of an entry: bits/dim, or bits/dim minus the codec's."""
    bpd = np.asarray(entry["bpd"], dtype=np.float64)
    return bpd if codec is None else bpd - np.asarray(entry["codec_bpd"][codec], dtype=np.float64)


def describe_set(model: RealNVP, name: str, num_images: int, root: str, batch_size: int, log) -> dict:
    started = time.monotonic()
    raw, what = test_images(name, model.image_size, root)
    images, steps = to_model_shape(raw, model.in_channels, model.image_size)
    images, subset = evenly(images, num_images)
    bpd = model_bpd(model, images, batch_size)
    if not all(math.isfinite(b) for b in bpd):
        raise ValueError(f"non-finite bits/dim on {name}")
    codec = {c: [round(float(v), 5) for v in codec_bits_per_dim(images, c)] for c in CODECS}
    log(f"{name}: {len(images)} images, mean {np.mean(bpd):.3f} bits/dim, PNG {np.mean(codec['png']):.3f}, "
        f"WebP {np.mean(codec['webp']):.3f} ({time.monotonic() - started:.0f} s)")
    return {"dataset": name, "split": "test", "images": f"{what}, {subset}", "conversion": steps,
            "num_images": len(images), "bpd": [round(b, 5) for b in bpd], "codec_bpd": codec}


def ood_figures(model: RealNVP, own: str, against: list[str], num_images: int = 1000, root: str = "data",
                batch_size: int = 200, log=print) -> dict:
    inside = describe_set(model, own, num_images, root, batch_size, log)
    result = {
        "model_dataset": own, "likelihood": ("log p(x)" if model.num_classes is None else
                                             f"log p(x) = log mean_y p(x | y) over the {model.num_classes} classes"),
        "dequantization": dequantization_note(model),
        "score": "higher = more out of distribution: bits/dim, or bits/dim minus the codec's bits/dim "
                 "(Serra et al., 2020)",
        "codecs": {"png": "Pillow PNG, optimize, compress_level 9", "webp": "Pillow WebP, lossless, quality 100, "
                   "method 6"},
        "in": inside, "out": []}
    for name in against:
        other = describe_set(model, name, num_images, root, batch_size, log)
        other["auroc"] = {"bpd": ood_scores.auroc(scores(inside, None), scores(other, None)),
                          **{c: ood_scores.auroc(scores(inside, c), scores(other, c)) for c in CODECS}}
        other["auroc"] = {k: round(v, 4) for k, v in other["auroc"].items()}
        other["more_likely_than_median"] = round(float(np.mean(np.asarray(other["bpd"])
                                                               < np.median(inside["bpd"]))), 4)
        log(f"  AUROC {own} vs {name}: bits/dim {other['auroc']['bpd']:.3f}, "
            + ", ".join(f"bits/dim - {c} {other['auroc'][c]:.3f}" for c in CODECS))
        result["out"].append(other)
    return result


def write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m train.ood", description=__doc__.split("\n\n")[1],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", required=True, help="a bundled model's directory, e.g. assets/models/mnist")
    p.add_argument("--dataset", choices=DATASET_NAMES, default=None,
                   help="the model's own data set (default: reference.json's)")
    p.add_argument("--against", nargs="+", choices=DATASET_NAMES, default=None,
                   help="other data sets (default: two unlike the model's own)")
    p.add_argument("--num-images", type=int, default=1000, help="images per data set at most")
    p.add_argument("--root", default="data", help="where torchvision data sets are stored (never downloaded)")
    p.add_argument("--batch-size", type=int, default=200)
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--out", default=None, help=f"output file (default: MODEL/{OOD_FILE})")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    directory = Path(args.model)
    try:
        model = RealNVP.from_pretrained(directory).eval()
        reference = json.loads((directory / "reference.json").read_text()) if (directory / "reference.json").is_file() else {}
        own = args.dataset or reference.get("dataset")
        if own is None:
            raise ValueError("no reference.json with the model's data set: pass --dataset")
        against = args.against or default_against(model, own)
        started = time.monotonic()
        result = ood_figures(model, own, against, args.num_images, args.root, args.batch_size)
        result["command"] = "python -m train.ood " + " ".join(argv if argv is not None else sys.argv[1:])
        result["seconds"] = round(time.monotonic() - started, 1)
        if reference.get("test_bpd") and model.num_classes is None and len(reference["test_bpd"]) == \
                result["in"]["num_images"]:
            gap = float(np.max(np.abs(np.asarray(reference["test_bpd"]) - result["in"]["bpd"])))
            print(f"in-distribution bits/dim vs reference.json: largest difference {gap:.2e}")
        out = Path(args.out) if args.out else directory / OOD_FILE
        write_json(out, result)
    except (CheckpointError, ValueError, FileNotFoundError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
