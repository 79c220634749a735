"""Sampled completions: how good they are for how many steps.

    python bench/completion_quality.py [--model assets/models/mnist] [--first K] [--images N]
                                       [--configs 80+30@0.1 30+5@0.2 ...]

The Complete tab's sampled completions cost one forward and one input-gradient backward pass of
the chains per step (latent search and Langevin alike), so their time is the number of steps. This
measures what fewer steps cost in quality, on test images of the model's data set with the lower
half erased, 4 completions each (`realnvp.inpainting.sample_completions`, seed 0), for each
configuration STEPS+LANGEVIN@LATENT_LR:

- *bits/dim*: the mean over the completions of the whole image's bits/dim (lower: the model finds
  the completed image more likely); the paired difference to the first configuration, image by
  image, with its standard error;
- *judge*: how often an independent classifier (an RBF support-vector machine fitted on the
  training split's pixels, at most its first 5,000 images; about 95% accurate on mnist5k's test
  split) names the original image's class
  for the completion: does the completion of a 7 make a 7;
- *spread*: the mean distance between two completions of the same image over the erased pixels
  (root mean square, in [0, 1] units): the completions differ from each other;
- *seconds*: in this process, per image (4 chains), on the threads given.

The images are the test split's, classes in turn (the first image of each class, then the second
of each, ...): `--first K --images N` takes N of them after the first K. Choose a configuration on
some (say `--first 0 --images 40`), then check the choice on others that played no part in it
(`--first 40 --images 30`).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from realnvp import RealNVP  # noqa: E402
from realnvp.inpainting import rectangle_mask, sample_completions  # noqa: E402
from train.datasets import build_datasets  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from restyle import balanced_subset  # noqa: E402

TITLE = "Sampled completions: quality for the steps"


def parse_config(text: str) -> tuple[int, int, float]:
    """'80+30@0.1' -> (latent-search steps, Langevin steps, latent-search rate)."""
    try:
        steps, rest = text.split("+")
        langevin, lr = rest.split("@")
        parsed = int(steps), int(langevin), float(lr)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected STEPS+LANGEVIN@LR such as 80+30@0.1, got {text!r}") from None
    if parsed[0] < 1 or parsed[1] < 0 or not parsed[2] > 0:
        raise argparse.ArgumentTypeError(f"steps >= 1, Langevin steps >= 0 and a positive rate, got {text!r}")
    return parsed


def chosen_images(labels: torch.Tensor, first: int, count: int) -> list[int]:
    """Indices into the test split: `count` images after the `first`, classes in turn."""
    return balanced_subset(labels, None)[first:first + count]


def spread(images: torch.Tensor, mask: torch.Tensor) -> float:
    """Mean root-mean-square distance over the erased pixels between two of the completions."""
    values = images[:, mask[0].expand_as(images[0])].double()  # (n, erased values)
    if values.shape[0] < 2:
        return 0.0
    return (torch.pdist(values) / values.shape[1] ** 0.5).mean().item()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="assets/models/mnist")
    p.add_argument("--first", type=int, default=0, help="skip this many images (classes in turn)")
    p.add_argument("--images", type=int, default=30, help="then take this many")
    p.add_argument("--configs", type=parse_config, nargs="+", default=[(80, 30, 0.1), (30, 5, 0.2)],
                   help="STEPS+LANGEVIN@LATENT_LR, the first is the reference of the paired differences")
    p.add_argument("--count", type=int, default=4, help="completions per image (the tab's default)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--judge-images", type=int, default=5000,
                   help="the classifier is fitted on the training split's first N images (an SVM's fit grows as N^2)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    from sklearn.svm import SVC

    directory = Path(args.model)
    model = RealNVP.from_pretrained(directory).eval()
    dataset = json.loads((directory / "reference.json").read_text(encoding="utf-8"))["dataset"]
    train, _, test, _ = build_datasets(dataset, download=False)
    fitted = range(min(len(train), args.judge_images))
    train_x = torch.stack([train[i][0] for i in fitted]).flatten(1).numpy()
    train_y = np.array([int(train[i][1]) for i in fitted])
    if len(set(train_y.tolist())) < 2:
        print(f"error: {dataset} has no classes for the judge to name: this benchmark needs a labelled data set "
              f"(mnist5k, fashion-mnist, digits)", file=sys.stderr)
        return 2
    judge = SVC().fit(train_x, train_y)
    labels = torch.tensor([int(test[i][1]) for i in range(len(test))])
    indices = chosen_images(labels, args.first, args.images)
    images = [test[i][0].unsqueeze(0) for i in indices]
    height, width = images[0].shape[-2:]
    mask = rectangle_mask(height, width, 0.5, 1.0, 0.0, 1.0)

    rows, reference = [], None
    for steps, langevin, lr in args.configs:
        bpd, agree, spreads, seconds = [], [], [], 0.0
        for k, (x, i) in enumerate(zip(images, indices)):
            started = time.perf_counter()
            result = sample_completions(model, x, mask, args.count, steps, langevin, seed=0, latent_lr=lr)
            seconds += time.perf_counter() - started
            bpd.append(result.bits_per_dim.mean().item())
            agree.append(float((judge.predict(result.images.flatten(1).numpy()) == int(labels[i])).mean()))
            spreads.append(spread(result.images, mask))
            print(f"\r{steps}+{langevin}@{lr:g}: {k + 1}/{len(images)} images", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        bpd = np.array(bpd)
        reference = bpd if reference is None else reference
        diff = bpd - reference
        error = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else 0.0
        rows.append(f"| {steps} + {langevin} @ {lr:g} | {seconds / len(images):.2f} | {bpd.mean():.4f} | "
                    f"{diff.mean():+.4f} +- {error:.4f} | {np.mean(agree) * 100:.1f}% | {np.mean(spreads):.3f} |")
    print(f"{dataset} test, {len(images)} images (classes in turn, after the first {args.first}), lower half "
          f"erased, {args.count} completions each, {torch.get_num_threads()} threads")
    print("| latent steps + Langevin steps @ latent rate | seconds per image | bits/dim | paired difference "
          "| judge agrees | spread |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    import results  # bench/results.py, beside this script: --record writes RESULTS.md

    sys.exit(results.run_recorded(TITLE, main))
