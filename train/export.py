"""python -m train.export --checkpoint RUN/best --dataset mnist5k --name mnist [--examples 16]

Bundle a trained checkpoint for the app:
- assets/models/NAME/{config.json, model.safetensors, README.md}: the checkpoint (loaded
  strictly first, so a broken one is refused before anything is overwritten);
- assets/models/NAME/reference.json: the bits/dim of every image of the data set's test split
  (the model's dequantization noise with a fixed seed, evaluation mode, true labels for
  class-conditional models), which the app's likelihood tab compares an image against;
- assets/examples/NAME/*.png: a few held-out test images (spread over the classes where the
  data set is labelled), the app's example inputs.
"""
from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from realnvp import CheckpointError, RealNVP

from .datasets import DATASET_NAMES, build_datasets
from .evaluation import EVAL_NOISE_SEED, dequantization_note, per_image_bpd
from .snapshots import replace_directory

ROOT = Path(__file__).resolve().parent.parent
CHECKPOINT_FILES = ("config.json", "model.safetensors", "README.md")
RESIZABLE = ("photos", "photos-v1", "celeba", "folder")  # data sets whose image size is a choice
DIGIT_DATASETS = ("mnist5k", "digits", "mnist")
NOISE_SEED = EVAL_NOISE_SEED  # the training loop's evaluation noise, so mean_test_bpd matches its test figure
# files of a bundle computed from its weights by other commands: an export of new weights leaves
# them out (they would describe the old weights) and says how to make them again
REGENERATE = {
    "ood.json": "python -m train.ood --model {model}",
    "vs_codecs.json": ("python bench/photo_protocol.py --model {model} --split test --write-model-figures, "
                       "then the same with --split val"),
    "class_means.safetensors": "python -m train.class_means --model {model}",
}


def pick_examples(dataset, count: int, num_classes: int | None) -> list[tuple[int, int | None]]:
    """(index, label) of `count` test images: round-robin over the classes for labelled data
    (the first images of each class), evenly spaced over the split otherwise."""
    n = len(dataset)
    count = min(count, n)
    if count <= 0:
        return []
    if not num_classes:
        return [(int(i), None) for i in np.linspace(0, n - 1, count).round().astype(int)]
    by_class: dict[int, list[int]] = {}
    for i in range(n):
        by_class.setdefault(int(dataset[i][1]), []).append(i)
    classes = sorted(by_class)
    picked: list[tuple[int, int | None]] = []
    rank = 0
    while len(picked) < count:
        for c in classes:
            if rank < len(by_class[c]) and len(picked) < count:
                picked.append((by_class[c][rank], c))
        rank += 1
    return picked


def to_png(x: torch.Tensor) -> Image.Image:
    """(C, H, W) k/(L-1) floats -> an 8-bit PNG-able PIL image ('L' or 'RGB')."""
    array = (x.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
    return Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array)


def export(checkpoint: Path, dataset: str, name: str, examples: int = 16, assets: Path = ROOT / "assets",
           root: str = "data", folder: str | None = None, batch_size: int = 200, seed: int = NOISE_SEED,
           device: str | None = None, keep: tuple[str, ...] = ()) -> dict:
    """Write the bundle (see the module's docstring) and return its reference. The bundle's
    other files are not carried over, since they were computed from the old weights, except the
    names in `keep` (e.g. pictures of earlier training stages); the reference's "left_out" lists
    what was not carried over."""
    checkpoint = Path(checkpoint)
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"--name must be a plain directory name, got {name!r}")
    if not checkpoint.is_dir():
        raise FileNotFoundError(f"{checkpoint}: not a checkpoint directory "
                                f"(expected config.json and model.safetensors)")
    model = RealNVP.from_pretrained(checkpoint)  # strict: refuses a broken checkpoint up front
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    model.to(dev).eval()
    size = model.image_size if dataset in RESIZABLE else None
    _, _, test, info = build_datasets(dataset, root=root, image_size=size, download=False, folder=folder)
    if (info.channels, info.image_size) != (model.in_channels, model.image_size):
        raise ValueError(f"{dataset} images are {info.channels}x{info.image_size}x{info.image_size} but the model "
                         f"expects {model.in_channels}x{model.image_size}x{model.image_size}")
    if info.num_levels != model.num_levels:
        raise ValueError(f"{dataset} has {info.num_levels} levels per value, the model {model.num_levels}")
    if model.num_classes is not None and info.num_classes != model.num_classes:
        raise ValueError(f"the model has {model.num_classes} classes, {dataset} has {info.num_classes}")

    bpd = per_image_bpd(model, test, dev, batch_size, seed)
    if not all(math.isfinite(b) for b in bpd):
        raise ValueError("some test images have non-finite bits/dim; the checkpoint is not usable")
    reference = {"dataset": dataset, "split": "test", "num_images": len(bpd), "test_bpd": [round(b, 6) for b in bpd],
                 "mean_test_bpd": float(np.mean(bpd)), "dequantization": dequantization_note(model, seed),
                 "num_levels": model.num_levels}

    target = assets / "models" / name
    written = set(CHECKPOINT_FILES) | {"reference.json"}
    before = {f.name for f in target.iterdir() if f.is_file()} if target.is_dir() else set()
    missing = sorted(set(keep) - before)
    if missing:
        raise FileNotFoundError(f"--keep {' '.join(missing)}: not in {target}")
    left_out = sorted(before - written - set(keep))

    def fill_model(tmp: Path) -> None:
        for file in CHECKPOINT_FILES:
            if (checkpoint / file).is_file():
                shutil.copy2(checkpoint / file, tmp / file)
        for file in keep:
            shutil.copy2(target / file, tmp / file)
        (tmp / "reference.json").write_text(json.dumps(reference, indent=1) + "\n", encoding="utf-8")

    labelled = info.num_classes is not None
    picked = pick_examples(test, examples, info.num_classes if labelled else None)

    def fill_examples(tmp: Path) -> None:
        counts: dict[int, int] = {}
        for i, (index, label) in enumerate(picked):
            x = test[index][0]
            if label is None:
                filename = f"test_{i:02d}.png"
            else:
                prefix = "digit" if dataset in DIGIT_DATASETS else "class"
                filename = f"{prefix}{label}_{counts.get(label, 0)}.png"
                counts[label] = counts.get(label, 0) + 1
            to_png(x).save(tmp / filename)

    replace_directory(target, fill_model)
    replace_directory(assets / "examples" / name, fill_examples)
    return {**reference, "left_out": left_out}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m train.export", description=__doc__.split("\n\n")[1],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="a checkpoint directory, e.g. RUN/best")
    p.add_argument("--dataset", required=True, choices=DATASET_NAMES, help="the data set the model was trained on")
    p.add_argument("--name", required=True, help="bundle name: assets/models/NAME and assets/examples/NAME")
    p.add_argument("--examples", type=int, default=16, help="held-out test images to save as examples")
    p.add_argument("--assets", default=str(ROOT / "assets"), help="the assets directory")
    p.add_argument("--root", default="data", help="where torchvision data sets are stored (never downloaded here)")
    p.add_argument("--folder", default=None, help="image directory for --dataset folder")
    p.add_argument("--batch-size", type=int, default=200, help="evaluation batch size")
    p.add_argument("--seed", type=int, default=NOISE_SEED, help="seed of the dequantization noise")
    p.add_argument("--device", choices=["cpu", "cuda"], default=None, help="default: cuda when available")
    p.add_argument("--keep", nargs="+", default=[], metavar="FILE",
                   help="files of the existing bundle to carry over unchanged (e.g. pictures of earlier stages); "
                        "the others are left out, since they describe the old weights")
    args = p.parse_args(argv)
    try:
        ref = export(Path(args.checkpoint), args.dataset, args.name, args.examples, Path(args.assets), args.root,
                     args.folder, args.batch_size, args.seed, args.device, tuple(args.keep))
    except (CheckpointError, ValueError, FileNotFoundError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    model = Path(args.assets) / "models" / args.name
    print(f"exported {args.name}: {ref['num_images']} test images, mean {ref['mean_test_bpd']:.4f} bits/dim -> {model}")
    for file in ref["left_out"]:
        again = REGENERATE.get(file)
        print(f"left out {file} of the previous bundle (it described the old weights)"
              + (f": make it again with `{again.format(model=model)}`" if again else "; --keep it if it still holds"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
