"""The class-conditional model as a classifier: Bayes' rule over its exact likelihoods.

    python bench/classifier.py [--model assets/models/mnist-cond] [--bins 15] [--write]

p(y | x) = p(x | y) / sum_y' p(x | y') (a uniform prior over the classes) for every test image
of the model's data set (mnist5k: the 1,000 test digits, loaded with train.datasets.build_datasets),
dequantized as in every evaluation (uniform noise, fixed seed, batch by batch in order). Prints
the accuracy, the expected calibration error (equal-width confidence bins), the mean negative
log-likelihood of the true class, the confusion matrix and a reliability table. `--write` stores
{"accuracy", "ece", "num_images", ...} as the "classifier" key of the model's reference.json
and the figures in its model card (README.md, between classifier markers), which the app shows
in the model's description.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from realnvp import RealNVP  # noqa: E402
from realnvp import classes
from train.card import write_card_section  # noqa: E402
from train.datasets import build_datasets  # noqa: E402
from train.evaluation import EVAL_NOISE_SEED, dequantization_note  # noqa: E402
import results  # noqa: E402  (bench/results.py: --record writes RESULTS.md)

CARD_START, CARD_END = "<!-- classifier -->", "<!-- /classifier -->"


@torch.no_grad()
def posteriors(model: RealNVP, dataset, batch_size: int = 100, seed: int = EVAL_NOISE_SEED
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, K) p(y | x) of every image (dequantized with the evaluation's noise) and (N,) labels."""
    generator = torch.Generator().manual_seed(seed)
    probs, labels = [], []
    for x, y in DataLoader(dataset, batch_size=batch_size, shuffle=False):
        x = model.dequantize(x.double(), generator=generator).float()
        probs.append(classes.class_posteriors(model, x))
        labels.append(y)
    return torch.cat(probs), torch.cat(labels)


def reliability(probs: torch.Tensor, labels: torch.Tensor, bins: int) -> list[tuple[str, int, float, float]]:
    confidence, guess = probs.max(1)
    index = (torch.ceil(confidence * bins).long() - 1).clamp(0, bins - 1)
    rows = []
    for i in range(bins):
        members = index == i
        if members.any():
            rows.append((f"({i / bins:.3f}, {(i + 1) / bins:.3f}]", int(members.sum()),
                         float((guess[members] == labels[members]).double().mean()),
                         float(confidence[members].mean())))
    return rows


def write_reference(directory: Path, figures: dict) -> None:
    path = directory / "reference.json"
    reference = json.loads(path.read_text(encoding="utf-8"))
    reference["classifier"] = figures
    tmp = path.with_name(".reference.json.tmp")
    tmp.write_text(json.dumps(reference, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


SEES_THE_LABEL = {
    "networks": "sees the label only through an embedding added to the first hidden features of each coupling "
                "network",
    "latent_means": "sees the label only through a mean per class in latent space (a Gaussian-mixture prior, "
                    "`conditioning=\"latent_means\"`): one encoding gives log p(x | y) for every class",
    "both": "sees the label through an embedding in each coupling network and a mean per class in latent space",
}


def card_section(figures: dict, dataset: str, top: tuple[str, int, float, float] | None = None,
                 conditioning: str = "networks") -> str:
    remark = ""
    sees = f"The model {SEES_THE_LABEL.get(conditioning, SEES_THE_LABEL['networks'])}."
    if top is not None and top[3] - top[2] > 0.05:  # the most confident bin is right less often than it claims
        remark = (f"The posterior is overconfident: {top[1]:,} of the {figures['num_images']:,} images get a "
                  f"confidence in {top[0]}, and {top[2] * 100:.1f}% of those are right. A difference of a few "
                  f"nats between two classes' log-likelihoods, small next to the thousands of nats of an "
                  f"image's log-likelihood, already makes the posterior near certain. {sees}\n\n")
    elif top is not None:
        remark = (f"{top[1]:,} of the {figures['num_images']:,} images get a confidence in {top[0]}; "
                  f"{top[2] * 100:.1f}% of those are right (mean confidence {top[3] * 100:.1f}%). {sees}\n\n")
    return (f"{CARD_START}\n## As a classifier\n\n"
            f"Bayes' rule over the model's exact likelihoods, p(y | x) = p(x | y) / sum over y' of p(x | y') "
            f"(a uniform prior over the {figures['num_classes']} classes), on the {figures['num_images']:,} "
            f"`{dataset}` test images (dequantized as for the test bits/dim):\n\n"
            f"| | |\n|---|---|\n"
            f"| accuracy | **{figures['accuracy'] * 100:.1f}%** |\n"
            f"| expected calibration error ({figures['ece_bins']} bins) | **{figures['ece']:.4f}** |\n"
            f"| mean -log p(true class given x) | {figures['nll']:.4f} nats |\n\n"
            f"{remark}Computed with `python bench/classifier.py --model {figures['model']} --write`.\n{CARD_END}\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="assets/models/mnist-cond")
    p.add_argument("--dataset", default=None, help="default: reference.json's data set")
    p.add_argument("--bins", type=int, default=15)
    p.add_argument("--batch-size", type=int, default=100, help="images per batch (times the classes per pass)")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--write", action="store_true", help="store the figures in reference.json and the model card")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    directory = Path(args.model)
    model = RealNVP.from_pretrained(directory).eval()
    if model.num_classes is None:
        print(f"error: {directory} is not a class-conditional model", file=sys.stderr)
        return 2
    reference_file = directory / "reference.json"  # absent in a run's checkpoint: give --dataset there
    if args.dataset is None and not reference_file.is_file():
        print(f"error: {directory} has no reference.json to name its data set: give --dataset", file=sys.stderr)
        return 2
    dataset = args.dataset or json.loads(reference_file.read_text(encoding="utf-8"))["dataset"]
    _, _, test, _ = build_datasets(dataset, download=False)
    started = time.monotonic()
    probs, labels = posteriors(model, test, args.batch_size)
    seconds = time.monotonic() - started
    guess = probs.argmax(1)
    accuracy = float((guess == labels).double().mean())
    ece = classes.expected_calibration_error(probs, labels, args.bins)
    nll = float(-probs[torch.arange(len(labels)), labels].clamp_min(1e-300).log().mean())
    print(f"{dataset} test, {len(labels)} images, {seconds:.0f} s: accuracy {accuracy:.4f}, "
          f"ECE ({args.bins} bins) {ece:.4f}, NLL {nll:.4f} nats")
    k = model.num_classes
    confusion = np.zeros((k, k), dtype=int)
    for t, g in zip(labels.tolist(), guess.tolist()):
        confusion[t, g] += 1
    print("confusion (rows: true digit, columns: guess)")
    print("     " + " ".join(f"{j:4d}" for j in range(k)))
    for i in range(k):
        print(f"{i:4d} " + " ".join(f"{v:4d}" for v in confusion[i]))
    print("confidence bin          images  accuracy  confidence")
    for name, count, acc, conf in reliability(probs, labels, args.bins):
        print(f"{name:22s} {count:7d}  {acc:8.3f}  {conf:10.3f}")
    if args.write:
        figures = {"accuracy": round(accuracy, 4), "ece": round(ece, 4), "num_images": len(labels),
                   "ece_bins": args.bins, "nll": round(nll, 4), "num_classes": k, "prior": "uniform",
                   "dequantization": dequantization_note(model),
                   "model": str(directory)}
        write_reference(directory, figures)
        bins = reliability(probs, labels, args.bins)
        write_card_section(directory, card_section(figures, dataset, bins[-1] if bins else None, model.conditioning or "networks"),
                           CARD_START, CARD_END)
        print(f"wrote the figures to {directory / 'reference.json'} and {directory / 'README.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(results.run_recorded('The class-conditional model as a classifier', main))
