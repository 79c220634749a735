"""The Per-scale reconstruction and Mix scales tabs: what each scale's latents hold."""
from __future__ import annotations

import gradio as gr
import torch

from realnvp import reconstruction

from .. import validation
from ..images import to_uint8_image
from ..runtime import compute
from ..validation import MAX_SEED, MAX_TEMPERATURE, number, user_errors
from .common import get_model, picked_example, picture, suggestion_note


@user_errors
@compute
def per_scale(model_name, image, class_choice="auto", invert="auto", resolution="model", mode="resample",
              temperature=1.0, seed=0):
    """Decode keeping the latents of the k coarsest scales (k = all ... 0), resampling or zeroing the rest."""
    loaded = get_model(model_name)
    model = loaded.model
    validation.one_of(mode, "mode", ("resample", "zero"))
    temperature = number(temperature, "Temperature", 0, MAX_TEMPERATURE)
    seed = number(seed, "Seed", 0, MAX_SEED, integer=True)
    x = validation.model_input(model, image, invert, resolution)
    y, text = validation.class_label(model, class_choice, x)
    with torch.inference_mode():
        view = reconstruction.per_scale_view(model, x, mode, temperature, seed, y=y)
    error = view.round_trip_error
    items = [(picture(to_uint8_image(x), "input"), f"input ({x.shape[3]}×{x.shape[2]})")]
    items += [(picture(to_uint8_image(r), "reconstruction"), c) for r, c in zip(view.rows, view.captions)]
    finer = "resampled at temperature %.2f" % temperature if mode == "resample" else "set to zero"
    note = (f"Round trip: max |x − decode(encode(x))| = {error:.2e} (the flow is exactly invertible up to "
            f"float32 rounding). The latents of the finer scales are {finer}; the model has "
            f"{model.num_scales} scales.")
    return items, note + (f" Conditioned on {text}." if text else "") + suggestion_note(loaded, image)


def latent_sizes(model, height: int, width: int) -> str:
    shapes = model.latent_shapes(height, width)
    parts = [f"scale {i}{' (finest)' if i == 0 else ' (coarsest)' if i == len(shapes) - 1 else ''}: "
             f"{'×'.join(map(str, s))}" for i, s in enumerate(shapes)]
    return "; ".join(parts)


@user_errors
@compute
def mix_scales(model_name, image_a, image_b, class_choice="auto", invert="auto", resolution="model"):
    """Decode the latents of the k coarsest scales of image A with the finer scales' latents of image B."""
    loaded = get_model(model_name)
    model = loaded.model
    a = validation.model_input(model, image_a, invert, resolution, what="Image A")
    # at its own resolution, B is brought to A's size
    b = validation.model_input(model, image_b, invert, resolution, what="Image B",
                               shape=None if resolution == "model" else tuple(a.shape[2:]))
    y, text = validation.class_label(model, class_choice, a)
    with torch.inference_mode():
        rows = reconstruction.mix_scales(model, a, b, y=y).clamp(0, 1)
    h, w = a.shape[2:]
    items = [(picture(to_uint8_image(a), "image-a"), f"A ({w}×{h})"), (picture(to_uint8_image(b), "image-b"), "B")]
    captions = reconstruction.mix_scales_captions(model.num_scales)
    items += [(picture(to_uint8_image(r), "mixed"), f"k = {k}: {c}")
              for r, c, k in zip(rows, captions, range(model.num_scales, -1, -1))]
    note = (f"Row k decodes the latents of the k coarsest scales of A with those of the finer scales of B "
            f"(k = {model.num_scales}: A itself, k = 0: B itself). Latents per scale (channels×height×width), "
            f"{latent_sizes(model, h, w)}. The coarse scales hold the overall shape and the fine ones local "
            f"detail: where they disagree, the decoding shows how the flow combines them.")
    return items, note + (f" Both decoded as {text}." if text else "") + suggestion_note(loaded, image_a, image_b)


def fill_pair(model_name: str, target: str, evt: gr.SelectData):
    """The clicked example goes to image `target` ("A" or "B"); the other one becomes the target."""
    path = picked_example(model_name, evt)
    if target == "B":
        return gr.update(), path, "A"
    return path, gr.update(), "B"
