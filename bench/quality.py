"""How the bundled models compare with lossless codecs and per-pixel histograms, in bits/dim
on the same test images.

For every model in assets/models/*: its test bits/dim (from reference.json when those figures
are verified to belong to the test images used here, otherwise computed), PNG and WebP
(lossless, best effort) per image, WebP over one mosaic of all those test images, and
independent per-pixel histograms fit on the training split. `--datasets` adds rows of
baselines only, for data sets without a bundled model.

    python bench/quality.py [--limit N] [--datasets fashion-mnist,photos] [--models mnist,photos]

The WebP mosaic can also exploit what images share: for `photos`, whose test crops overlap
(1,000 crops of four photographs), it finds the repeated pixels and drops far below the
per-image figures. A benchmark, not a test: WebP at its best effort is slow (about 7 ms per small image on one
core), so use `--limit 50` for a quick check.
"""
from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Subset

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from realnvp import RealNVP  # noqa: E402
from realnvp.codecs import codec_bits_per_dim  # noqa: E402
from train.baselines import dataset_images, histogram_baseline_bpd, mosaic_bits_per_dim  # noqa: E402
from train.datasets import DATASET_NAMES, build_datasets  # noqa: E402
from train.evaluation import per_image_bpd  # noqa: E402
import results  # noqa: E402  (bench/results.py: --record writes RESULTS.md)

RESIZABLE = ("photos", "photos-v1", "celeba", "folder")  # data sets whose image size is a choice
VERIFY_IMAGES = 4  # reference.json figures checked against a fresh evaluation of this many images
VERIFY_TOLERANCE = 2e-3  # bits/dim


def model_dataset(model_dir: Path, reference: dict | None) -> str:
    """The data set a bundled model was evaluated on: reference.json, else the model card."""
    if reference and reference.get("dataset"):
        return reference["dataset"]
    card = model_dir / "README.md"
    match = re.search(r"^datasets:\s*\[([^\],]+)", card.read_text(encoding="utf-8"), re.M) if card.is_file() else None
    if match is None:
        raise ValueError(f"{model_dir}: no reference.json or model card naming its data set")
    return match.group(1).strip()


def noise_seed(reference: dict | None) -> int:
    match = re.search(r"seed (\d+)", (reference or {}).get("dequantization", ""))
    return int(match.group(1)) if match else 1234


def model_bpd(model: RealNVP, dataset, n: int, seed: int, batch_size: int = 200) -> np.ndarray:
    """Exact bits/dim of the first n images, the model's dequantization noise from torch seed `seed`
    (train.evaluation's, which train/export.py scores reference.json with; the noise of image i does
    not depend on n)."""
    return np.asarray(per_image_bpd(model, Subset(dataset, range(n)), torch.device("cpu"), batch_size, seed))


def test_split(dataset: str, image_size: int | None, root: str):
    size = image_size if dataset in RESIZABLE else None
    return build_datasets(dataset, root=root, image_size=size, download=False)


def baselines(train, test, info, n: int, train_limit: int | None) -> dict:
    images = dataset_images(test, range(n))
    fit_on = train if train_limit is None else Subset(train, range(min(train_limit, len(train))))
    return {"png": codec_bits_per_dim(images, "png").mean(), "webp": codec_bits_per_dim(images, "webp").mean(),
            "webp_mosaic": mosaic_bits_per_dim(images, "webp"),
            "histogram": histogram_baseline_bpd(fit_on, Subset(test, range(n)), info)}


def evaluate_model(model_dir: Path, args) -> dict:
    config = json.loads((model_dir / "config.json").read_text())
    reference_file = model_dir / "reference.json"
    reference = json.loads(reference_file.read_text()) if reference_file.is_file() else None
    named = model_dataset(model_dir, reference)
    model = RealNVP.from_pretrained(model_dir)
    seed = noise_seed(reference)
    # the data set named may since have been rebuilt: its earlier version is kept as NAME-vK
    candidates = [named] + [d for d in DATASET_NAMES if d.startswith(f"{named}-v")]
    chosen, source, figures = None, "", None
    for dataset in candidates:
        train, _, test, info = test_split(dataset, config["image_size"], args.root)
        n = len(test) if args.limit is None else min(args.limit, len(test))
        if reference is None:
            chosen, source = (dataset, train, test, info, n), "computed (no reference.json)"
            break
        k = min(VERIFY_IMAGES, n, len(reference["test_bpd"]))
        fresh = model_bpd(model, test, k, seed)
        if np.abs(fresh - np.array(reference["test_bpd"][:k])).max() < VERIFY_TOLERANCE and len(reference["test_bpd"]) >= n:
            chosen, source = (dataset, train, test, info, n), "reference.json"
            figures = np.array(reference["test_bpd"][:n])
            break
    if chosen is None:  # reference.json belongs to other images: score the current split
        train, _, test, info = test_split(named, config["image_size"], args.root)
        n = len(test) if args.limit is None else min(args.limit, len(test))
        chosen, source = (named, train, test, info, n), "computed (reference.json is for other images)"
    dataset, train, test, info, n = chosen
    if figures is None:
        figures = model_bpd(model, test, n, seed)
    return {"name": model_dir.name, "dataset": dataset, "n": n, "model": figures.mean(), "source": source,
            **baselines(train, test, info, n, args.train_limit)}


def evaluate_dataset(dataset: str, args) -> dict:
    train, _, test, info = build_datasets(dataset, root=args.root, download=False)
    n = len(test) if args.limit is None else min(args.limit, len(test))
    return {"name": "-", "dataset": dataset, "n": n, "model": math.nan, "source": "",
            **baselines(train, test, info, n, args.train_limit)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default=None, help="comma-separated bundled model names (default: all)")
    p.add_argument("--datasets", default="", help="comma-separated data sets to add as baseline-only rows")
    p.add_argument("--limit", type=int, default=None, help="use only the first N test images (quick check)")
    p.add_argument("--train-limit", type=int, default=None, help="fit the histograms on the first M training images")
    p.add_argument("--root", default="data", help="where torchvision data sets are stored (never downloaded here)")
    p.add_argument("--threads", type=int, default=None, help="torch threads")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    model_dirs = sorted(d for d in (ROOT / "assets" / "models").iterdir() if (d / "config.json").is_file())
    if args.models:
        wanted = args.models.split(",")
        model_dirs = [d for d in model_dirs if d.name in wanted]
    rows = []
    for model_dir in model_dirs:
        start = time.perf_counter()
        rows.append(evaluate_model(model_dir, args))
        print(f"# {model_dir.name}: {time.perf_counter() - start:.0f} s", file=sys.stderr)
    for dataset in filter(None, args.datasets.split(",")):
        start = time.perf_counter()
        rows.append(evaluate_dataset(dataset, args))
        print(f"# {dataset}: {time.perf_counter() - start:.0f} s", file=sys.stderr)

    print("bits/dim on the same test images (lower is better); PNG/WebP lossless at best effort, headers included")
    print(f"| model | data set (test split) | images | model | PNG per image | WebP per image | WebP mosaic | histogram | model figure |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        model = "-" if math.isnan(r["model"]) else f"**{r['model']:.3f}**"
        print(f"| {r['name']} | {r['dataset']} | {r['n']:,} | {model} | {r['png']:.3f} | {r['webp']:.3f} | "
              f"{r['webp_mosaic']:.3f} | {r['histogram']:.3f} | {r['source'] or '-'} |")
    if args.limit is not None or args.train_limit is not None:
        print(f"(limited: first {args.limit or 'all'} test images, histograms fit on "
              f"{args.train_limit or 'all'} training images)")
    return 0


if __name__ == "__main__":
    sys.exit(results.run_recorded('Models against lossless codecs', main))
