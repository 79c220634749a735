"""The app's events: each checks its inputs (validation), calls realnvp.explore, and turns the
tensors into pictures, figures and result files. Their names and parameters are the API
(`/sample`, `/manifold`, ...), so they stay as they are.

Every handler runs under `user_errors`: a failure is a short message on the page, never a trace.
"""
from __future__ import annotations

import math

import gradio as gr
import numpy as np
import torch

from realnvp import explore

from . import figures, validation
from .images import for_display, grid_image, mask_preview, to_uint8_image
from .registry import LoadedModel, app_registry
from .results import save_array, save_png
from .runtime import gpu
from .validation import (MAX_COMPLETION_STEPS, MAX_GRID, MAX_SAMPLES, MAX_SEED, MAX_STEPS, MAX_TEMPERATURE,
                         number, user_errors)

NOISE_SEED = 0  # dequantization noise of the likelihood tab (fixed: the same image gives the same number)


def get_model(name: str | None) -> LoadedModel:
    """The loaded model for `name` (the bundled default if it cannot be loaded, with a warning toast)."""
    loaded = app_registry().load(name or None)
    if loaded.message:
        gr.Warning(loaded.message)
    return loaded


def picture(image: np.ndarray, stem: str) -> str:
    """A result picture, enlarged for display, as a new PNG file."""
    return save_png(for_display(image), stem)


# ----------------------------------------------------------------------------- Sample
@user_errors
@gpu
def sample(model_name, num_samples=64, temperature=0.8, seed=0, randomize_seed=True, class_choice="all",
           per_scale=False, coarse_temperature=1.0, fine_temperature=0.5):
    """A grid of samples x = decode(z), z ~ N(0, T² I); returns the grid, the seed used and a note."""
    loaded = get_model(model_name)
    model = loaded.model
    n = number(num_samples, "Number of samples", 1, MAX_SAMPLES, integer=True)
    if per_scale:
        coarse = number(coarse_temperature, "Coarse-scale temperature", 0, MAX_TEMPERATURE)
        fine = number(fine_temperature, "Fine-scale temperature", 0, MAX_TEMPERATURE)
        temperature = explore.scale_temperatures(model.num_scales, coarse, fine)
        note = "temperatures per scale, finest first: " + ", ".join(f"{t:.2f}" for t in temperature)
    else:
        temperature = number(temperature, "Temperature", 0, MAX_TEMPERATURE)
        note = f"temperature {temperature:.2f}"
    seed = validation.seed(seed, randomize_seed)
    per_row = math.ceil(math.sqrt(n))
    y = None
    if model.num_classes is not None:
        if class_choice in (None, "", "all", "auto"):
            y = torch.arange(n) % model.num_classes
            per_row = model.num_classes
            note += f"; classes 0-{model.num_classes - 1}, one per column"
        else:
            y, text = validation.class_label(model, class_choice)
            note += f"; {text}"
    with torch.inference_mode():
        x = explore.sample_grid(model, n, temperature, seed, y=y)
    grid = picture(grid_image(x, per_row), "samples")
    return grid, seed, f"{n} samples from {loaded.name}, seed {seed}, {note}."


# ----------------------------------------------------------------------------- Interpolate
def corner_images(loaded: LoadedModel, images, invert) -> torch.Tensor:
    xs = [validation.model_input(loaded.model, image, invert, what=f"Corner {i + 1}") for i, image in enumerate(images)]
    return torch.cat(xs)


@user_errors
@gpu
def manifold(model_name, corner1, corner2, corner3, corner4, class_choice="auto", invert="auto", grid_size=5):
    """The paper's manifold through the latents of four images (corners of the grid)."""
    loaded = get_model(model_name)
    size = number(grid_size, "Grid size", 2, MAX_GRID, integer=True)
    x = corner_images(loaded, [corner1, corner2, corner3, corner4], invert)
    y, text = validation.class_label(loaded.model, class_choice, x[:1])
    with torch.inference_mode():
        grid = explore.interpolation_manifold(loaded.model, x, size, y=y)
    note = f"{size}×{size} grid; corners 1 (top left), 2 (top right), 3 (bottom left), 4 (bottom right)."
    return picture(grid_image(grid, size), "manifold"), note + (f" Decoded as {text}." if text else "")


@user_errors
@gpu
def interpolate(model_name, first, second, class_choice="auto", invert="auto", steps=8):
    """z = cos(t) z1 + sin(t) z2, t from 0 to π/2, decoded: a row from image 1 to image 2."""
    loaded = get_model(model_name)
    n = number(steps, "Steps", 2, MAX_STEPS, integer=True)
    x = corner_images(loaded, [first, second], invert)
    y, text = validation.class_label(loaded.model, class_choice, x[:1])
    with torch.inference_mode():
        row = explore.interpolate_pair(loaded.model, x[:1], x[1:], n, y=y)
    note = f"{n} steps from corner 1 to corner 2" + (f", {text}." if text else ".")
    return picture(grid_image(row, n), "interpolation"), note


# ----------------------------------------------------------------------------- Per-scale reconstruction
@user_errors
@gpu
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
        rows, captions = explore.per_scale_reconstructions(model, x, mode, temperature, seed, y=y)
        error = explore.round_trip_error(model, x, y=y)
    items = [(picture(to_uint8_image(x), "input"), f"input ({x.shape[3]}×{x.shape[2]})")]
    items += [(picture(to_uint8_image(r), "reconstruction"), c) for r, c in zip(rows, captions)]
    finer = "resampled at temperature %.2f" % temperature if mode == "resample" else "set to zero"
    note = (f"Round trip: max |x − decode(encode(x))| = {error:.2e} (the flow is exactly invertible up to "
            f"float32 rounding). The latents of the finer scales are {finer}; the model has "
            f"{model.num_scales} scales.")
    return items, note + (f" Conditioned on {text}." if text else "")


# ----------------------------------------------------------------------------- Likelihood
@user_errors
@gpu
def likelihood(model_name, image, class_choice="auto", invert="auto", resolution="model"):
    """Per-pixel bits (heatmap), bits/dim, its breakdown, and where the image falls among the test images."""
    loaded = get_model(model_name)
    model = loaded.model
    x = validation.model_input(model, image, invert, resolution)
    xd = model.dequantize(x, generator=torch.Generator().manual_seed(NOISE_SEED))
    y, text = validation.class_label(model, class_choice, xd)
    with torch.inference_mode():
        bits = explore.bits_map(model, xd, y=y)[0].float().cpu().numpy()
        terms = explore.breakdown_bits_per_dim(model, xd, y=y)
        bpd = float(model.bits_per_dim(xd, y)[0])
    heat = figures.heatmap(to_uint8_image(x), bits, f"bits per value (mean {bpd:.3f})")
    table = [[name, round(value, 6)] for name, value in terms.items()] + [["total (bits/dim)", round(bpd, 6)]]
    h, w = x.shape[2:]
    notes = [f"**{bpd:.4f} bits/dim** for this {w}×{h} image under {loaded.name}" + (f", {text}." if text else ".")]
    histogram = None
    ref = loaded.reference
    if ref and ref.get("test_bpd"):
        test = np.asarray(ref["test_bpd"], dtype=np.float64)
        more_likely = float((test > bpd).mean()) * 100
        histogram = save_png(figures.histogram(test, bpd), "test-set")
        notes.append(f"It is more likely (fewer bits/dim) than {more_likely:.1f}% of the {len(test):,} "
                     f"`{ref.get('dataset', '?')}` test images (mean {test.mean():.3f}).")
        if resolution == "own" and (h, w) != (model.image_size, model.image_size):
            notes.append(f"The test images are {model.image_size}×{model.image_size}; bits/dim at another "
                         f"resolution compare only roughly.")
    else:
        notes.append("No test-set reference (reference.json) for this model.")
    notes.append("Dequantization: uniform noise with a fixed seed, as for the test set; the breakdown's terms "
                 "sum to the total.")
    return (save_png(heat, "bits-heatmap"), round(bpd, 6), table, histogram, "\n\n".join(notes),
            save_array(bits.astype(np.float32), "bits"))


# ----------------------------------------------------------------------------- Complete
@user_errors
def erase_preview(model_name, image, invert="auto", top=0.5, bottom=1.0, left=0.0, right=1.0):
    """The model-size input with the rectangle to erase tinted red."""
    if image is None or image == "":
        return None
    loaded = get_model(model_name)
    x = validation.model_input(loaded.model, image, invert)
    return picture(mask_preview(x, validation.erase_rectangle(x, top, bottom, left, right)), "to-erase")


@user_errors
@gpu(duration=120)
def complete(model_name, image, class_choice="auto", invert="auto", top=0.5, bottom=1.0, left=0.0, right=1.0,
             steps=100, learning_rate=0.05, seed=0, progress=gr.Progress()):
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

    filled, history = explore.complete(model, x, mask, steps=n, lr=lr, seed=seed, y=y, progress=report)
    with torch.inference_mode():
        final, original = (float(model.bits_per_dim(pixels, y)[0]) for pixels in (filled, x))
    curve = figures.curve(history + [final], title="bits/dim of the image while filling in")
    note = (f"Filled {int(mask.sum())} of {mask.numel()} pixels in {n} steps: {history[0]:.3f} → {final:.3f} "
            f"bits/dim (density of the whole image at its pixel values; the original image: {original:.3f}).")
    return (picture(to_uint8_image(filled), "completed"), save_png(curve, "completion-curve"),
            note + (f" Conditioned on {text}." if text else ""))


# ----------------------------------------------------------------------------- model picker
def model_info_endpoint(default_model: str):
    """The `/model_info` function, its `model_name` defaulting to the app's default model."""

    def model_info(model_name: str = default_model) -> dict:
        """What a model is: description, shape, classes, scales, reference test bits/dim, example names."""
        registry = app_registry()
        loaded = registry.load(model_name)
        model = loaded.model
        ref = loaded.reference or {}
        return {"name": loaded.name, "requested": model_name, "message": loaded.message,
                "description": registry.describe(loaded), "channels": model.in_channels,
                "image_size": model.image_size, "num_scales": model.num_scales, "num_classes": model.num_classes,
                "size_multiple": model.size_multiple, "dataset": ref.get("dataset"),
                "mean_test_bpd": ref.get("mean_test_bpd"), "examples": [p.name for p in loaded.examples]}

    return model_info


# ----------------------------------------------------------------------------- example galleries
def picked_example(model_name: str, evt: gr.SelectData) -> str:
    """The path of the example clicked in a model's gallery."""
    index = evt.index if isinstance(evt.index, int) else evt.index[0]
    return str(app_registry().load(model_name).examples[index])


def fill_corner(model_name: str, target: str, evt: gr.SelectData):
    """The clicked example goes to corner `target` ("1"-"4"); the next corner becomes the target."""
    slot = int(target) - 1
    updates = [gr.update() for _ in range(4)]
    updates[slot] = picked_example(model_name, evt)
    return *updates, str(slot % 4 + 2) if slot < 3 else "1"
