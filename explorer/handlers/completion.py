"""The Complete tab: erase a rectangle or brush strokes and fill them in, by maximizing log p(x) or
by sampling several completions."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
import numpy as np
import torch
from PIL import Image

from realnvp import inpainting

from .. import figures, validation
from ..images import ImageInputError, for_display, mask_preview, open_image, to_uint8_image
from ..results import save_png
from ..runtime import compute
from ..validation import MAX_COMPLETION_STEPS, MAX_SEED, MAX_TEMPERATURE, number, user_errors
from .common import get_model, picture, suggestion_note

REGIONS = ("rectangle", "brush")
METHODS = ("sample", "maximize")
MAX_COMPLETIONS = 8
MAX_LANGEVIN_STEPS = 300
BRUSH_THRESHOLD = 0.3  # a model pixel is erased when at least this share of it is painted


@user_errors
def erase_preview(model_name, image, invert="auto", top=0.5, bottom=1.0, left=0.0, right=1.0):
    """The model-size input with the rectangle to erase tinted red."""
    if image is None or image == "":
        return None
    loaded = get_model(model_name)
    x = validation.model_input(loaded.model, image, invert)
    return picture(mask_preview(x, validation.erase_rectangle(x, top, bottom, left, right)), "to-erase")


@user_errors
@compute(duration=120)
def complete(model_name, image, class_choice="auto", invert="auto", top=0.5, bottom=1.0, left=0.0, right=1.0,
             steps=50, learning_rate=0.2, seed=0, progress=gr.Progress()):
    """Fill the erased rectangle by maximizing log p(x) over its pixels (Adam on the pixel values)."""
    loaded = get_model(model_name)
    model = loaded.model
    n = number(steps, "Steps", 1, MAX_COMPLETION_STEPS, integer=True)
    lr = number(learning_rate, "Learning rate", 1e-4, 1.0)
    seed = number(seed, "Seed", 0, MAX_SEED, integer=True)
    x = validation.model_input(model, image, invert)
    mask = validation.erase_rectangle(x, top, bottom, left, right)
    y, text = validation.class_label(model, class_choice, x)
    progress(0, desc="filling in")

    def report(step, total, bpd):
        progress((step, total), desc=f"bits/dim {bpd:.3f}")

    filled, history = inpainting.complete(model, x, mask, steps=n, lr=lr, seed=seed, y=y, progress=report)
    with torch.inference_mode():
        final, original = (float(model.bits_per_dim(pixels, y)[0]) for pixels in (filled, x))
    curve = figures.curve(history + [final], title="bits/dim of the image while filling in")
    note = (f"Filled {int(mask.sum())} of {mask.numel()} pixels in {n} steps: {history[0]:.3f} → {final:.3f} "
            f"bits/dim (density of the whole image at its pixel values; the original image: {original:.3f}).")
    return (picture(to_uint8_image(filled), "completed"), save_png(curve, "completion-curve"),
            note + (f" Conditioned on {text}." if text else "") + suggestion_note(loaded, image))


def brush_canvas(model_name, image, invert="auto"):
    """The brush editor's background: the model-size input, enlarged (so a brush stroke covers whole pixels)."""
    if image is None or image == "":
        return None
    loaded = get_model(model_name)
    x = validation.model_input(loaded.model, image, invert)
    return for_display(to_uint8_image(x))


def brush_mask(brush, height: int, width: int) -> torch.Tensor:
    """(1, 1, H, W) bool: the model pixels painted in the brush editor's layers (its value: a dict with
    'background', 'layers' and 'composite'; layers as RGBA arrays or image files)."""
    layers = (brush or {}).get("layers") if isinstance(brush, dict) else None
    if not layers:
        raise gr.Error("Nothing is painted: paint over the pixels to erase with the brush, or erase a rectangle.")
    painted = None
    for layer in layers:
        if isinstance(layer, dict):
            layer = layer.get("path")
        try:
            picture = open_image(layer) if not isinstance(layer, np.ndarray) else Image.fromarray(layer)
        except ImageInputError as error:
            raise gr.Error(f"brush layer: {error}") from None
        alpha = np.asarray(picture.convert("RGBA"))[..., 3] > 0
        painted = alpha if painted is None or painted.shape != alpha.shape else painted | alpha
    share = Image.fromarray(painted.astype(np.uint8) * 255).resize((width, height), Image.Resampling.BOX)
    mask = torch.from_numpy(np.asarray(share) >= BRUSH_THRESHOLD * 255)[None, None]
    if not mask.any():
        raise gr.Error("Nothing is painted: paint over the pixels to erase with the brush, or erase a rectangle.")
    return mask


@dataclass(frozen=True)
class Erasure:
    """The pixels to erase: a rectangle (fractions of the height and width) or the brush editor's strokes."""

    region: str
    top: float
    bottom: float
    left: float
    right: float
    brush: dict | None

    def __post_init__(self):
        validation.one_of(self.region, "region", REGIONS)

    def mask(self, x: torch.Tensor) -> torch.Tensor:
        if self.region == "rectangle":
            return validation.erase_rectangle(x, self.top, self.bottom, self.left, self.right)
        return brush_mask(self.brush, x.shape[2], x.shape[3]).to(x.device)


@dataclass(frozen=True)
class CompletionSettings:
    """How to complete: sample (latent search, then Langevin) or maximize log p, how many, how long."""

    method: str
    count: int
    steps: int
    langevin_steps: int
    temperature: float
    learning_rate: float
    seed: int

    @classmethod
    def checked(cls, method, count, steps, langevin_steps, temperature, learning_rate, seed) -> CompletionSettings:
        validation.one_of(method, "method", METHODS)
        return cls(method, number(count, "Number of completions", 1, MAX_COMPLETIONS, integer=True),
                   number(steps, "Steps", 1, MAX_COMPLETION_STEPS, integer=True),
                   number(langevin_steps, "Langevin steps", 0, MAX_LANGEVIN_STEPS, integer=True),
                   number(temperature, "Temperature", 0.05, MAX_TEMPERATURE),
                   number(learning_rate, "Learning rate", 1e-4, 1.0),
                   number(seed, "Seed", 0, MAX_SEED - MAX_COMPLETIONS, integer=True))


def sampled_completions(model, x, mask, y, settings: CompletionSettings, progress) -> tuple[torch.Tensor, list, str]:
    """Each completion from its own random latent: latent search, then Metropolis-adjusted Langevin."""
    def report(step, total, phase):
        progress((step, total), desc=phase)

    s = settings
    result = inpainting.sample_completions(model, x, mask, n=s.count, steps=s.steps, mcmc_steps=s.langevin_steps,
                                        temperature=s.temperature, seed=s.seed, y=y, latent_lr=s.learning_rate,
                                        progress=report)
    how = (f"sampled: each from its own random latent (temperature {s.temperature:.2f}), {s.steps} steps of "
           f"latent search (Adam, learning rate {s.learning_rate:g}) to fit the known pixels, then "
           f"{s.langevin_steps} Metropolis-adjusted Langevin steps on "
           f"the erased pixels (target p(x_erased | x_known)^(1/T²))")
    if s.langevin_steps:
        how += f", acceptance {result.acceptance.mean():.2f}"
    return result.images, result.bits_per_dim.tolist(), how


def maximized_completions(model, x, mask, y, settings: CompletionSettings, progress) -> tuple[torch.Tensor, list, str]:
    """Each completion by maximizing log p(x) over the erased pixels from its own random start."""
    s, n, images = settings, settings.count, []
    for i in range(n):
        progress((i, n), desc=f"maximizing log p, start {i + 1} of {n}")
        filled, _ = inpainting.complete(model, x, mask, steps=s.steps, lr=s.learning_rate, seed=s.seed + i, y=y)
        images.append(filled)
    images = torch.cat(images)
    with torch.inference_mode():
        bpd = model.bits_per_dim(images, None if y is None else torch.full((n,), y)).double().tolist()
    how = f"maximizing log p(x) over the erased pixels ({s.steps} Adam steps, learning rate {s.learning_rate:g}) " \
          f"from {n} random starts"
    return images, bpd, how


@user_errors
@compute(duration=180)
def completions(model_name, image, class_choice="auto", invert="auto", region="rectangle", top=0.5, bottom=1.0,
                left=0.0, right=1.0, brush=None, method="sample", count=4, steps=30, langevin_steps=5,
                temperature=1.0, learning_rate=0.2, seed=0, progress=gr.Progress()):
    """Several completions of the erased pixels side by side with their bits/dim: sampled (latent search,
    then Metropolis-adjusted Langevin) or by maximizing log p from several starts; rectangle or brush.
    The parameters are the `/completions` API's; they are grouped into an Erasure and CompletionSettings."""
    loaded = get_model(model_name)
    model = loaded.model
    erasure = Erasure(region, top, bottom, left, right, brush)
    settings = CompletionSettings.checked(method, count, steps, langevin_steps, temperature, learning_rate, seed)
    x = validation.model_input(model, image, invert)
    mask = erasure.mask(x)
    y, text = validation.class_label(model, class_choice, x)
    progress(0, desc="completing")
    run = sampled_completions if settings.method == "sample" else maximized_completions
    images, bpd, how = run(model, x, mask, y, settings, progress)
    n = settings.count
    with torch.inference_mode():
        original = float(model.bits_per_dim(x, y)[0])
    items = [(picture(mask_preview(x, mask), "erased"), f"erased ({int(mask.sum())} px), original "
                                                      f"{original:.3f} bits/dim")]
    items += [(picture(to_uint8_image(im), "completion"), f"{i + 1}: {b:.3f} bits/dim")
              for i, (im, b) in enumerate(zip(images, bpd))]
    note = (f"{n} completion{'s' if n > 1 else ''} of {int(mask.sum())} erased pixels, {how}. Bits/dim of the "
            f"whole image at its pixel values: " + ", ".join(f"{b:.3f}" for b in bpd)
            + f" (the original image: {original:.3f}). Known pixels are never changed.")
    return items, note + (f" Conditioned on {text}." if text else "") + suggestion_note(loaded, image)
