"""The `photos` model's evaluation protocol: bits/dim against lossless codecs on photographs
the model never trained on, by kind of photograph.

    python bench/photo_protocol.py [--split test] [--model assets/models/photos]
    python bench/photo_protocol.py --split val --select ../runs/NAME/step-* [--model ...]

The protocol (the model card states the same):
- Photographs: a split of ``train/photo_manifest.py``. Validation (``val``: KDE Plasma's wallpaper
  photographs, scikit-learn's flower, Matplotlib's Grace Hopper, ViSP's Solvay group) chooses
  checkpoints; test (``test``: OpenCV's sample photographs and scikit-image's / scikit-learn's
  astronaut, chelsea, china, coffee) is never tuned on. Training uses other sources only.
- Each photograph is downscaled (Lanczos) so that its shorter side is 128 and 256 px (never
  enlarged), and cut into every non-overlapping 32x32 crop, from the top-left corner.
- Each crop is scored exactly by the model (bits/dim with fixed dequantization noise: uniform, or
  the model's learned q with its log q, `RealNVP.discrete_bits_per_dim`)
  and encoded on its own by WebP lossless and PNG (Pillow, best settings).
- A kind's ratio is the model's total bits over WebP's total bits on that kind's crops (so
  large photographs weigh more than small ones); "all" pools every crop.
- Checkpoint selection (``--select``, on ``val`` only): the lowest mean of the four kinds'
  ratios (smooth, textured, people, man-made, each weighted equally), so that no kind is
  traded away for another. Ties go to the earlier checkpoint.

Prints markdown tables; ``--json FILE`` also writes the figures, and ``--write-model-figures``
writes the test split's per-kind table into the model's directory as ``vs_codecs.json``, which
the model card quotes and the app shows beside its byte comparison. A benchmark, not a test:
it needs the Debian packages named in the manifest (it says which are missing).
"""
from __future__ import annotations

import argparse
import datetime
import json
import shlex
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from realnvp import RealNVP  # noqa: E402
from realnvp.codecs import codec_bits_per_dim  # noqa: E402
from train import photo_manifest  # noqa: E402
from train.distributed import hardware_description  # noqa: E402
from train.datasets import available_photos, load_photo, missing_photos_note, scaled_to_short_sides  # noqa: E402
from train.evaluation import per_image_bpd  # noqa: E402

SHORT_SIDES = (128, 256)
CROP = 32
VS_CODECS_FILE = "vs_codecs.json"
PROTOCOL = ("every non-overlapping 32x32 crop of each test photograph downscaled to shorter sides 128 and 256 px, "
            "scored exactly by the model and encoded on its own by WebP lossless and PNG; ratio = the model's total "
            "bits over WebP's on the kind's crops (bench/photo_protocol.py)")


def grid_crops(pixels: torch.Tensor, crop: int = CROP) -> torch.Tensor:
    """Every non-overlapping ``crop`` x ``crop`` tile of a uint8 ``(3, H, W)`` image, row by row."""
    _, height, width = pixels.shape
    rows, cols = height // crop, width // crop
    tiles = pixels[:, : rows * crop, : cols * crop].reshape(3, rows, crop, cols, crop)
    return tiles.permute(1, 3, 0, 2, 4).reshape(rows * cols, 3, crop, crop)


def photo_crops(photo: photo_manifest.Photo, sides=SHORT_SIDES) -> dict[int, torch.Tensor]:
    """The protocol's crops of a manifest photograph, by shorter side (uint8)."""
    image = Image.fromarray(load_photo(photo).permute(1, 2, 0).numpy())
    return {side: grid_crops(scaled) for side, scaled in zip(sides, scaled_to_short_sides(image, sides))}


def split_photos(split: str) -> list[photo_manifest.Photo]:
    """The manifest photographs of `split` present here; says on stderr which are missing and why."""
    present, missing = available_photos()
    missing_here = [m for m in missing if m.split == split]
    if missing_here:
        print(missing_photos_note(missing_here), file=sys.stderr)
    return present[split]


class CodecCache:
    """Codec figures depend on the crops only: computed once per photograph and reused for
    every checkpoint scored."""

    def __init__(self):
        self.values: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}

    def get(self, name: str, side: int, crops: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        key = (name, side)
        if key not in self.values:
            self.values[key] = codec_bits_per_dim(crops, "webp"), codec_bits_per_dim(crops, "png")
        return self.values[key]


def score(model: RealNVP, photos, crops_of: dict, codecs: CodecCache) -> list[dict]:
    """One row per (photograph, shorter side): crop count and mean bits/dim of model, WebP, PNG."""
    rows = []
    for photo in photos:
        for side, crops in crops_of[photo.name].items():
            if len(crops) == 0:
                continue
            data = torch.utils.data.TensorDataset(crops.float() / 255, torch.zeros(len(crops), dtype=torch.long))
            ours = np.array(per_image_bpd(model, data, torch.device("cpu"), 250))
            webp, png = codecs.get(photo.name, side, crops)
            rows.append({"photo": photo.name, "category": photo.category, "side": side, "crops": len(crops),
                         "model": float(ours.mean()), "webp": float(webp.mean()), "png": float(png.mean())})
    return rows


def pooled(rows: list[dict]) -> dict:
    """Crop-weighted means of a group of rows and the model / WebP ratio."""
    n = sum(r["crops"] for r in rows)
    mean = {k: sum(r[k] * r["crops"] for r in rows) / n for k in ("model", "webp", "png")}
    return {"crops": n, **mean, "ratio": mean["model"] / mean["webp"]}


def by_category(rows: list[dict]) -> dict[str, dict]:
    groups = {c: [r for r in rows if r["category"] == c] for c in photo_manifest.CATEGORIES}
    out = {c: pooled(g) for c, g in groups.items() if g}
    out["all"] = pooled(rows)
    return out


def selection_score(categories: dict[str, dict]) -> float:
    """The checkpoint rule: the mean of the kinds' ratios, each kind weighted equally."""
    return float(np.mean([v["ratio"] for k, v in categories.items() if k != "all"]))


def machine() -> str:
    return hardware_description(torch.device("cpu"), 1)


def category_table(categories: dict[str, dict]) -> str:
    lines = ["| kind | crops | model bits/dim | WebP | PNG | model / WebP | model / PNG |", "|---|---|---|---|---|---|---|"]
    for name, v in categories.items():
        bold = "**" if name == "all" else ""
        lines.append(f"| {bold}{name}{bold} | {v['crops']} | {v['model']:.3f} | {v['webp']:.3f} | {v['png']:.3f} | "
                     f"{bold}{v['ratio']:.2f}x{bold} | {v['model'] / v['png']:.2f}x |")
    return "\n".join(lines)


def photo_table(rows: list[dict]) -> str:
    lines = ["| photograph | kind | crops | model bits/dim | WebP | model / WebP |", "|---|---|---|---|---|---|"]
    for name in dict.fromkeys(r["photo"] for r in rows):
        mine = [r for r in rows if r["photo"] == name]
        v = pooled(mine)
        lines.append(f"| {name} | {mine[0]['category']} | {v['crops']} | {v['model']:.3f} | {v['webp']:.3f} | "
                     f"{v['ratio']:.2f}x |")
    return "\n".join(lines)


def side_table(rows: list[dict]) -> str:
    lines = ["| shorter side | crops | model bits/dim | WebP | model / WebP |", "|---|---|---|---|---|"]
    for side in sorted({r["side"] for r in rows}):
        v = pooled([r for r in rows if r["side"] == side])
        lines.append(f"| {side} px | {v['crops']} | {v['model']:.3f} | {v['webp']:.3f} | {v['ratio']:.2f}x |")
    return "\n".join(lines)


def model_figures(split: str, photos, rows: list[dict]) -> dict:
    """What the card and the app quote: the kinds, and the photographs where the model loses to WebP."""
    per_photo = {name: pooled([r for r in rows if r["photo"] == name]) for name in dict.fromkeys(r["photo"] for r in rows)}
    losing = {name: round(v["ratio"], 4) for name, v in sorted(per_photo.items(), key=lambda kv: -kv[1]["ratio"])
              if v["ratio"] > 1}
    return {"protocol": PROTOCOL, "split": split, "photographs": [p.name for p in photos],
            "kinds": by_category(rows), "photographs_losing_to_webp": losing}


def write_model_figures(directory: Path, split: str, photos, rows: list[dict]) -> Path:
    """The test figures at the top level of vs_codecs.json, the validation ones under "validation"."""
    path = directory / VS_CODECS_FILE
    record = json.loads(path.read_text()) if path.is_file() else {}
    figures = model_figures(split, photos, rows)
    if split == "test":
        record = {**figures, **({"validation": record["validation"]} if "validation" in record else {})}
    else:
        record["validation"] = figures
    path.write_text(json.dumps(record, indent=1) + "\n")
    return path


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=str(ROOT / "assets" / "models" / "photos"))
    p.add_argument("--split", choices=("train", "val", "test"), default="test")
    p.add_argument("--select", nargs="+", type=Path, metavar="CHECKPOINT",
                   help="score these checkpoints on --split val (with --model first) and name the rule's choice")
    p.add_argument("--sides", type=int, nargs="+", default=list(SHORT_SIDES))
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--json", type=Path, help="also write the figures here")
    p.add_argument("--write-model-figures", action="store_true",
                   help=f"write the split's per-kind table into the model's directory ({VS_CODECS_FILE}: test and "
                        "validation each keep their own entry)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.write_model_figures and (args.split == "train" or args.select):
        p.error("--write-model-figures records one model's test or validation figures: no --select, no train split")
    if args.write_model_figures and tuple(args.sides) != SHORT_SIDES:
        p.error(f"--write-model-figures records the protocol's sides {SHORT_SIDES}: leave --sides out")
    if args.select and args.split != "val":
        p.error("--select chooses checkpoints on the validation split only: add --split val")
    photos = split_photos(args.split)
    crops_of = {photo.name: photo_crops(photo, tuple(args.sides)) for photo in photos}
    codecs = CodecCache()
    print(f"## photos protocol, {args.split} split: {len(photos)} photographs, every 32x32 crop at shorter sides "
          f"{', '.join(map(str, args.sides))} px\n")
    print(f"{datetime.date.today().isoformat()}; {machine()}; "
          f"`python bench/photo_protocol.py {shlex.join(argv if argv is not None else sys.argv[1:])}`\n")
    results = {}
    for checkpoint in [Path(args.model), *(args.select or [])]:
        model = RealNVP.from_pretrained(checkpoint).eval()
        rows = score(model, photos, crops_of, codecs)
        categories = by_category(rows)
        results[str(checkpoint)] = {"rows": rows, "categories": categories, "selection": selection_score(categories)}
        print(f"### {checkpoint}\n\n{category_table(categories)}\n\nmean of the kinds' ratios (selection rule): "
              f"{selection_score(categories):.4f}\n", flush=True)
        if not args.select:
            print(f"{photo_table(rows)}\n\n{side_table(rows)}\n")
    if args.select:
        best = min(results, key=lambda k: results[k]["selection"])
        print("| checkpoint | " + " | ".join(c for c in (*photo_manifest.CATEGORIES, "all")) + " | rule |")
        print("|---|" + "---|" * (len(photo_manifest.CATEGORIES) + 2))
        for name, r in results.items():
            cells = [f"{r['categories'][c]['ratio']:.3f}" if c in r["categories"] else "-"
                     for c in (*photo_manifest.CATEGORIES, "all")]
            print(f"| {Path(name).name} | " + " | ".join(cells) + f" | {r['selection']:.4f} |")
        print(f"\nchosen by the rule: {best}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    if args.write_model_figures:
        path = write_model_figures(Path(args.model), args.split, photos, results[str(Path(args.model))]["rows"])
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
