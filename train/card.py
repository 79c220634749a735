"""The model card's description of a run: its data split and its optimization recipe."""
from __future__ import annotations

import os
import re
from pathlib import Path

from .config import TrainConfig

SPLIT_DESCRIPTIONS = {  # for the model cards; other data sets get their split sizes
    "mnist5k": "first 400 images of each digit for training (10% of them held out for validation), "
               "last 100 of each digit for test (1,000)",
    "fashion-mnist": "the official 60,000 training images (10% held out for validation, seeded) and the "
                     "official 10,000 test images",
    "photos": "random 32x32 crops (with flips) of real photographs downscaled to a shorter side of 64, 128 and "
              "256 px; training: Debian's mate-backgrounds and lomiri wallpaper photographs and five scikit-image "
              "ones; validation (1,000 fixed crops): KDE Plasma's wallpaper photographs, flower, Grace Hopper, "
              "Solvay; test (1,000 fixed crops): OpenCV's sample photographs and astronaut, chelsea, china, "
              "coffee, each held out whole; see train/photo_manifest.py",
    "photos-v1": "32x32 crops at 1, 1/2 and 1/4 scale with flips of skimage's astronaut, chelsea, rocket, "
                 "motorcycle (the bottom strip of each held out for validation); test: 1,000 fixed crops "
                 "of coffee, held out whole",
}


def split_description(dataset: str, sizes: tuple[int, int, int]) -> str:
    """The data split in words: the known data sets' own, else the (train, validation, test) sizes."""
    train, val, test = sizes
    return SPLIT_DESCRIPTIONS.get(dataset, f"train {train} / validation {val} / test {test}")


def recipe(c: TrainConfig, averaged: bool) -> str:
    """The optimization settings, for the model card (a resumed run's are the current ones)."""
    objective = ("mean -log p(x | y) per image, nats" if c.num_classes else "mean -log p(x) per image, nats") \
        if c.loss_units == "nats" else "bits/dim"
    if c.num_classes and c.class_loss_weight > 0:
        scored = "every image of the batch" if c.conditioning == "latent_means" else \
            f"{c.class_loss_images} images of each batch"
        objective += (f" + {c.class_loss_weight:g} x the cross-entropy of the model's own Bayes classifier "
                      f"(exact log p(x | y) of every label, {scored})")
    clip = f"gradient norm clipped at {c.grad_clip:g}" if c.grad_clip > 0 else "no gradient clipping"
    weights = (f"the saved weights are the moving average (decay {c.ema_decay:g}) of the trained ones"
               if averaged else "no weight averaging")
    parts = [f"Adam, rate {c.lr:g} (warm-up {c.warmup_steps} steps, cosine decay to {c.min_lr_fraction:g} of it), "
             f"batch {c.batch_size}", f"objective {objective} + {c.scale_l2:g} x L2 of the weight-norm scales",
             clip, weights]
    if c.photo_scales > 1:
        parts.append(f"training crops from {c.photo_scales} shorter sides per octave")
    if c.photo_max_side:
        parts.append(f"training crops from shorter sides up to {c.photo_max_side} px")
    if c.photo_grey_fraction:
        parts.append(f"{c.photo_grey_fraction:.0%} of the training crops turned grey")
    if c.dequantizer_hidden:
        parts.append(f"learned dequantization noise q(u | x) (Flow++ section 3.1; {c.dequantizer_hidden} hidden "
                     f"channels, rate x{c.dequantizer_lr_factor:g}): the objective and every figure are the bound "
                     "-log p(x + u) + log q(u | x)")
    if c.num_classes:
        parts.append({"networks": "the label enters every s/t network as an embedding",
                      "latent_means": "the label enters as a mean per class in latent space",
                      "both": "the label enters every s/t network and as a mean per class in latent space"}
                     [c.conditioning])
    if c.max_shift:
        parts.append(f"training images shifted by up to {c.max_shift} pixel{'s' if c.max_shift > 1 else ''}")
    return "; ".join(parts)


def write_card_section(directory: Path, section: str, start: str, end: str) -> None:
    """Put `section` (which begins with the marker `start` and ends with `end`) into the model card
    directory/README.md: in place of the card's section between those markers, else before its
    "Load:" paragraph, else at the end. The card is replaced in one rename."""
    path = Path(directory) / "README.md"
    text = path.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end) + "\n?", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        marker = "\nLoad:\n"
        text = text.replace(marker, "\n" + section + marker, 1) if marker in text else text.rstrip("\n") + "\n\n" + section
    tmp = path.with_name(".README.md.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
