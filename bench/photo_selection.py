"""Choose among `photos` checkpoints on every photograph that is neither trained on nor in the test
set: the split's validation photograph (`flower`, its 1,000 fixed crops) and photographs outside
the sources (the test protocol of bench/outside_photos.py, 100 crops each; by default the five that
ship with matplotlib and Gradio).

    python bench/photo_selection.py CHECKPOINT [CHECKPOINT ...] [--files F ...] [--test]

Prints a row per checkpoint: bits/dim on each photograph and their mean, each photograph weighted
equally (the score to choose by: lowest wins). `--test` adds the test split's bits/dim for the
record, never for the choice. Why: one validation photograph can move against all the others (a
close-up with wide defocused areas), so a choice by `flower` alone follows `flower`. A benchmark,
not a test.
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from outside_photos import protocol_crops  # noqa: E402
from realnvp import RealNVP  # noqa: E402
from train.datasets import build_datasets  # noqa: E402
from train.evaluation import per_image_bpd  # noqa: E402

OUTSIDE = (("gradio", "media_assets/images/cheetah.jpg"), ("gradio", "test_data/cheetah2.jpg"),
           ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg"), ("gradio", "media_assets/images/groot.jpeg"),
           ("gradio", "media_assets/images/tower.jpg"))


def default_files() -> list[Path]:
    files = []
    for package, relative in OUTSIDE:
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            raise SystemExit(f"{package} is not installed: give the photographs with --files")
        files.append(Path(spec.origin).parent / relative)
    return files


def scores(model: RealNVP, sets: dict[str, torch.utils.data.Dataset]) -> dict[str, float]:
    return {name: float(np.mean(per_image_bpd(model, data, torch.device("cpu"), 250))) for name, data in sets.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoints", nargs="+", help="model directories (config.json + model.safetensors)")
    p.add_argument("--files", nargs="+", type=Path, help="photographs outside the sources (default: five that "
                                                         "ship with matplotlib and Gradio)")
    p.add_argument("--crops", type=int, default=100, help="crops per outside photograph")
    p.add_argument("--test", action="store_true", help="also print the test split's bits/dim (not for choosing)")
    args = p.parse_args()
    _, val, test, _ = build_datasets("photos")
    sets: dict[str, torch.utils.data.Dataset] = {"flower": val}
    for path in args.files or default_files():
        images = protocol_crops(path, 32, args.crops)
        sets[path.stem] = torch.utils.data.TensorDataset(images, torch.zeros(len(images)))
    print("| checkpoint | " + " | ".join(sets) + f" | **mean of {len(sets)}** |" + (" test |" if args.test else ""))
    print("|---" * (len(sets) + 2 + args.test) + "|")
    for checkpoint in args.checkpoints:
        model = RealNVP.from_pretrained(checkpoint).eval()
        row = scores(model, sets)
        extra = f" {scores(model, {'test': test})['test']:.4f} |" if args.test else ""
        print(f"| {checkpoint} | " + " | ".join(f"{v:.4f}" for v in row.values())
              + f" | **{np.mean(list(row.values())):.4f}** |" + extra, flush=True)


if __name__ == "__main__":
    main()
