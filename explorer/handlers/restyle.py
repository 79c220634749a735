"""The Restyle tab: an image encoded under its class (the one picked, or the model's Bayes-classifier
choice) and decoded under every class of a class-conditional model: the same hand, every digit."""
from __future__ import annotations

import gradio as gr
import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from realnvp import restyle as library

from .. import validation
from ..images import to_uint8_image
from ..registry import LoadedModel
from ..runtime import compute
from ..validation import user_errors
from .common import NOISE_SEED, get_model, suggestion_note

NEEDS_CLASSES = ("Restyle needs a class-conditional model: pick one with classes (e.g. mnist-cond) in the model "
                 "menu.")
CHOSEN = ("the classifier's choice", "auto")  # the label dropdown's first entry
SHOWN_POSTERIOR = 1e-3  # classes with a smaller p(y | x) are summed in the note
# the strip: tiles enlarged by a whole factor to about TILE pixels, COLUMNS to a row, each above its label
TILE, COLUMNS, PAD, LABEL_HEIGHT, FONT_SIZE = 140, 5, 6, 40, 15
SOURCE_FRAME = (240, 140, 20)  # the frame around the image decoded under its own class


def label_choices(model) -> list[tuple[str, str]]:
    return [CHOSEN] + [(str(i), str(i)) for i in range(model.num_classes or 0)]


def follow_label(loaded: LoadedModel):
    """The label dropdown follows the picker: the model's classes, shown for class-conditional models."""
    model = loaded.model
    return gr.update(choices=label_choices(model), value=CHOSEN[1], visible=model.num_classes is not None)


def source_label(model, choice) -> int | None:
    """The label to encode under: None for the classifier's choice, else the class picked."""
    if choice in (None, "", "auto"):
        return None
    return validation.class_label(model, choice)[0]


def posterior_text(posterior: torch.Tensor) -> str:
    order = torch.argsort(posterior, descending=True).tolist()
    shown = [y for y in order if posterior[y] >= SHOWN_POSTERIOR] or order[:1]
    rest = 1 - sum(posterior[y].item() for y in shown)
    text = ", ".join(f"{y}: {posterior[y].item():.3f}" for y in shown)
    return text + (f"; the other {len(order) - len(shown)} together {rest:.1e}" if len(shown) < len(order) else "")


def caption(y: int, result: library.Restyled) -> tuple[str, str]:
    """The two lines under class y's tile."""
    return (f"{y} (the image)" if y == result.source else str(y)), f"{result.bits_per_dim[y].item():.3f} bits/dim"


def tile_factor(height: int, width: int) -> int:
    return max(1, TILE // max(height, width))


def strip(result: library.Restyled) -> np.ndarray:
    """(H, W, 3) uint8: every class's decoding, enlarged by a whole factor (crisp, pixel for pixel),
    COLUMNS to a row in class order, each above its class and bits/dim; the image's own class framed."""
    count, _, height, width = result.images.shape
    factor = tile_factor(height, width)
    tile_h, tile_w = height * factor, width * factor
    rows = -(-count // COLUMNS)
    cell_w, cell_h = tile_w + 2 * PAD, tile_h + LABEL_HEIGHT + 2 * PAD
    canvas = Image.new("RGB", (min(count, COLUMNS) * cell_w, rows * cell_h), "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=FONT_SIZE)
    for y in range(count):
        top, left = (y // COLUMNS) * cell_h + PAD, (y % COLUMNS) * cell_w + PAD
        tile = np.repeat(np.repeat(to_uint8_image(result.images[y]), factor, 0), factor, 1)
        canvas.paste(Image.fromarray(tile), (left, top))
        if y == result.source:
            draw.rectangle((left - PAD // 2, top - PAD // 2, left + tile_w + PAD // 2 - 1, top + tile_h + PAD // 2 - 1),
                           outline=SOURCE_FRAME, width=PAD // 2)
        for line, text in enumerate(caption(y, result)):
            draw.text((left + tile_w // 2, top + tile_h + 4 + line * (FONT_SIZE + 3)), text, fill=(30, 30, 30),
                      font=font, anchor="mt")
    return np.asarray(canvas)


def tile_box(y: int, height: int, width: int) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) of class y's tile in the strip."""
    factor = tile_factor(height, width)
    tile_h, tile_w = height * factor, width * factor
    top = (y // COLUMNS) * (tile_h + LABEL_HEIGHT + 2 * PAD) + PAD
    left = (y % COLUMNS) * (tile_w + 2 * PAD) + PAD
    return top, left, top + tile_h, left + tile_w


@user_errors
@compute
def restyle(model_name, image, class_choice="auto", invert="auto", progress=gr.Progress()):
    """Encode the image (dequantized with the Likelihood tab's fixed noise) under its class, the one
    picked or the most likely one, and decode its latents under every class."""
    loaded = get_model(model_name)
    model = loaded.model
    if model.num_classes is None:
        raise gr.Error(NEEDS_CLASSES)
    label = source_label(model, class_choice)
    x = validation.model_input(model, image, invert)
    xd = model.dequantize(x, generator=torch.Generator().manual_seed(NOISE_SEED))
    progress(0, desc="classifying, encoding, and decoding under every class")
    with torch.inference_mode():
        result = library.restyle(model, xd, label, with_posterior=True)
    progress(0.9, desc="drawing")
    picture = strip(result)
    source = result.source
    error = (result.images[source] - xd[0]).abs().max().item()
    if result.given:
        how = (f"**Encoded as {source}**, the class picked; the model's Bayes classifier gives it "
               f"p({source} | x) = {result.posterior[source].item():.3f}.")
    else:
        how = (f"**Encoded as {source}**, the model's Bayes classifier's choice: p({source} | x) = "
               f"{result.posterior[source].item():.3f}.")
    note = (f"{how} The posterior (Bayes' rule over the exact likelihoods, uniform prior over the "
            f"{model.num_classes} classes): {posterior_text(result.posterior)}.\n\n"
            f"bits/dim of each decoding under its class: "
            f"{', '.join(f'{y}: {b:.3f}' for y, b in enumerate(result.bits_per_dim.tolist()))}.\n\n"
            f"z = encode(x | {source}), then decode(z | y) for every class y: the latents keep what the label "
            f"does not give, so the hand (stroke, slant, size) may survive the change of digit. Decoding under "
            f"{source} gives back the image (framed; largest difference {error:.1e}, float32 rounding). Each "
            f"bits/dim is the exact figure of the picture shown under its own class (decodings may leave [0, 1] "
            f"slightly and are clamped to it). How often the "
            f"hand survives, and how often the model's own classifier recognises the new digit: "
            f"`python bench/restyle.py` (the model card's Restyle table).")
    return picture, note + suggestion_note(loaded, image, need_classes=True)
