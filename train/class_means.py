"""Write a model's class-mean latents beside it, for the app's Directions tab, which then needs no
data set at run time:

    python -m train.class_means --model assets/models/mnist

The images are the labelled test split of the data set named in the model's reference.json
(`--dataset` to choose another, `--limit` to use only the first N), read offline. The file,
class_means.safetensors, holds one (num_classes, C, H, W) tensor per scale ("scale_0" finest),
"counts" (images per class), and in its metadata the data set, split, image count and class names.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from safetensors.torch import save_file

from realnvp import RealNVP
from realnvp.directions import class_mean_latents

from .datasets import build_datasets

FILE = "class_means.safetensors"
CLASS_NAMES = {
    "fashion-mnist": ["T-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag",
                      "ankle boot"],
}


def labelled_test_images(dataset: str, limit: int | None) -> tuple[torch.Tensor, torch.Tensor, int]:
    _, _, test, info = build_datasets(dataset, download=False)
    if info.num_classes is None:
        raise SystemExit(f"{dataset} has no labels: class means need a labelled data set")
    count = len(test) if limit is None else min(limit, len(test))
    pairs = [test[i] for i in range(count)]
    images = torch.stack([image for image, _ in pairs])
    labels = torch.tensor([int(label) for _, label in pairs])
    return images, labels, info.num_classes


def write_class_means(model_dir: Path, dataset: str | None = None, limit: int | None = None) -> Path:
    model = RealNVP.from_pretrained(str(model_dir)).eval()
    reference = json.loads((model_dir / "reference.json").read_text()) if (model_dir / "reference.json").is_file() else {}
    dataset = dataset or reference.get("dataset")
    if not dataset:
        raise SystemExit(f"{model_dir}: no reference.json naming the data set; pass --dataset")
    images, labels, num_classes = labelled_test_images(dataset, limit)
    means, counts = class_mean_latents(model, images, labels, num_classes)
    tensors = {f"scale_{i}": m.contiguous() for i, m in enumerate(means)}
    tensors["counts"] = counts
    names = CLASS_NAMES.get(dataset, [str(i) for i in range(num_classes)])
    metadata = {"dataset": dataset, "split": "test", "num_images": str(len(labels)), "class_names": json.dumps(names)}
    path = model_dir / FILE
    save_file(tensors, str(path), metadata=metadata)
    return path


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, type=Path, help="a model directory (config.json, model.safetensors)")
    parser.add_argument("--dataset", help="the labelled data set (default: reference.json's)")
    parser.add_argument("--limit", type=int, help="use only the first N test images")
    args = parser.parse_args(argv)
    path = write_class_means(args.model, args.dataset, args.limit)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
