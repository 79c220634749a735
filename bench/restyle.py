"""Restyle: does a class-conditional model keep the hand when it changes the digit?

    python bench/restyle.py [--model assets/models/mnist-cond] [--images N] [--write]

Each of N test images of the model's data set (reference.json's; taken class by class in turn,
so that every class has its share; all of them by default), dequantized as in every evaluation,
is encoded under its own label and decoded under each of the other labels (realnvp.restyle). For
every new label the table gives how often the model's own Bayes classifier names it for the
restyled image (rounded to 8 bits, as a saved image would be), and how well the source's slant
and stroke thickness (realnvp.stroke_moments) survive: their correlation, within classes, with
the restyled image's, beside the baseline of a random real test image of that class. `--write`
puts the table in the model card (README.md, between restyle markers).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from realnvp import RealNVP  # noqa: E402
from realnvp import restyle  # noqa: E402
from train.card import write_card_section  # noqa: E402
from train.datasets import build_datasets  # noqa: E402
from train.evaluation import EVAL_NOISE_SEED  # noqa: E402

CARD_START, CARD_END = "<!-- restyle -->", "<!-- /restyle -->"
TITLE = "Restyle: the same hand, every digit"


def balanced_subset(labels: torch.Tensor, count: int | None) -> list[int]:
    """Indices of `count` images (all when None), taking the classes in turn: the first image of
    each class, then the second of each, and so on, each class's images in their order."""
    per_class = [(labels == c).nonzero().flatten().tolist() for c in sorted(set(labels.tolist()))]
    order = [members[r] for r in range(max(map(len, per_class), default=0)) for members in per_class
             if r < len(members)]
    return order if count is None else order[:count]


def load_images(dataset, count: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, C, H, W) images in [0, 1] and (N,) labels of a balanced subset of `dataset`."""
    labels = torch.tensor([int(dataset[i][1]) for i in range(len(dataset))])
    chosen = balanced_subset(labels, count)
    return torch.stack([dataset[i][0] for i in chosen]), labels[chosen]


def shown(value: float, percent: bool = False) -> str:
    if math.isnan(value):
        return "-"
    return f"{value * 100:.1f}%" if percent else f"{value:+.2f}"


def table(report: restyle.StyleSurvival) -> str:
    lines = ["| new class | restyled images | recognised by the model | still the old class | slant r | baseline "
             "| thickness r | baseline |", "|---|---|---|---|---|---|---|---|"]
    for row in report.rows + [report.overall]:
        name = "**all**" if row.target is None else str(row.target)
        lines.append(f"| {name} | {row.count:,} | {shown(row.recognised, True)} | "
                     f"{shown(row.kept, True)} | {shown(row.slant)} | "
                     f"{shown(row.slant_baseline)} | {shown(row.thickness)} | {shown(row.thickness_baseline)} |")
    return "\n".join(lines)


def card_section(report: restyle.StyleSurvival, dataset: str, model: str, num_classes: int) -> str:
    overall = report.overall
    command = f"python bench/restyle.py --model {model} --images {report.num_images} --write"
    return (f"{CARD_START}\n## Restyle: the same hand, every digit\n\n"
            f"{report.num_images:,} `{dataset}` test images (the classes in turn), each encoded under its own label "
            f"and decoded under each of the other {num_classes - 1} labels: {overall.count:,} restyled images "
            f"(`realnvp.restyle`). *Recognised*: how often the model's own Bayes classifier names the new class "
            f"for the restyled image, rounded to 8 bits; *still the old class*: how often it names the "
            f"source image's class. *Slant* (mu11 / mu02 of the ink) and *thickness* (2 x ink "
            f"mass / ink outline, in pixels; `realnvp/stroke_moments.py`): the correlation between the source "
            f"image's and its restyled version's, within classes (each value less its mean over the pairs of the "
            f"same source and new class); *baseline*: the same source against a random real test image of the new "
            f"class, i.e. no style kept.\n\n{table(report)}\n\n"
            f"Computed with `{command}`.\n{CARD_END}\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="assets/models/mnist-cond")
    p.add_argument("--dataset", default=None, help="default: reference.json's data set")
    p.add_argument("--images", type=int, default=None, help="source images (default: the whole test split)")
    p.add_argument("--batch-size", type=int, default=20, help="source images per batch (times the classes)")
    p.add_argument("--seed", type=int, default=0, help="the baseline's random real images and the noise of "
                                                       "the restyled images' dequantization")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--write", action="store_true", help="put the table in the model card (README.md)")
    args = p.parse_args(argv)
    if args.images is not None and args.images < 1:
        p.error(f"--images must be at least 1, got {args.images}")
    if args.threads:
        torch.set_num_threads(args.threads)
    directory = Path(args.model)
    model = RealNVP.from_pretrained(directory).eval()
    if model.num_classes is None:
        print(f"error: {directory} is not a class-conditional model: restyling needs one (e.g. "
              f"assets/models/mnist-cond)", file=sys.stderr)
        return 2
    reference = json.loads((directory / "reference.json").read_text(encoding="utf-8"))
    dataset = args.dataset or reference["dataset"]
    _, _, test, _ = build_datasets(dataset, download=False)
    images, labels = load_images(test, args.images)
    x = model.dequantize(images.double(), generator=torch.Generator().manual_seed(EVAL_NOISE_SEED)).float()
    started = time.monotonic()

    def progress(done: int, total: int) -> None:
        print(f"\r{done}/{total} images restyled and classified ({time.monotonic() - started:.0f} s)", end="",
              file=sys.stderr, flush=True)

    report = restyle.style_survival(model, x, labels, args.batch_size, args.seed, progress)
    print(file=sys.stderr)
    print(f"{dataset} test, {report.num_images} images, {report.overall.count} restyled, "
          f"{time.monotonic() - started:.0f} s")
    print(table(report))
    if args.write:
        write_card_section(directory, card_section(report, dataset, args.model, model.num_classes),
                           CARD_START, CARD_END)
        print(f"wrote the table to {directory / 'README.md'}")
    return 0


if __name__ == "__main__":
    import results  # bench/results.py, beside this script: --record writes RESULTS.md

    sys.exit(results.run_recorded(TITLE, main))
