"""The app's events: each checks its inputs (validation), calls realnvp.explore, and turns the
tensors into pictures, figures and result files. Their names and parameters are the API
(`/sample`, `/manifold`, ...), so they stay as they are.

Every handler runs under `user_errors`: a failure is a short message on the page, never a trace.
"""
from __future__ import annotations

import io
import logging
import math
import os

import gradio as gr
import numpy as np
import torch
from PIL import Image, ImageOps

from realnvp import codecs, explore

from . import animations, figures, suggestions, validation
from . import ood as ood_lab
from .images import (ImageInputError, for_display, grid_image, has_light_background, mask_preview, normalize_mode,
                     open_image, pil_to_tensor, to_uint8_image)
from .registry import LoadedModel, app_registry
from .results import save_array, save_png
from .runtime import compute
from .validation import (MAX_COMPLETION_STEPS, MAX_GRID, MAX_SAMPLES, MAX_SEED, MAX_STEPS, MAX_TEMPERATURE,
                         number, user_errors)

NOISE_SEED = 0  # dequantization noise of the likelihood tab (fixed: the same image gives the same number)

log = logging.getLogger("realnvp.app")


def get_model(name: str | None) -> LoadedModel:
    """The loaded model for `name` (the bundled default if it cannot be loaded, with a warning toast)."""
    loaded = app_registry().load(name or None)
    if loaded.message:
        gr.Warning(loaded.message)
    return loaded


def picture(image: np.ndarray, stem: str) -> str:
    """A result picture, enlarged for display, as a new PNG file."""
    return save_png(for_display(image), stem)


def suggestion(loaded: LoadedModel, *images, need_classes: bool = False) -> suggestions.Suggestion | None:
    """The bundled model that suits `images` better than `loaded` (explorer.suggestions), or None.
    Never fails: a suggestion must not stop an event."""
    try:
        return suggestions.suggest(app_registry(), loaded, images, need_classes=need_classes)
    except Exception:  # noqa: BLE001 - logged; the event goes on without a suggestion
        log.exception("could not work out a model suggestion")
        return None


def suggestion_note(loaded: LoadedModel, *images, need_classes: bool = False) -> str:
    """A paragraph for an event's note naming the better-suited model ('' when the selected one suits)."""
    found = suggestion(loaded, *images, need_classes=need_classes)
    return f"\n\n{found.note}" if found is not None else ""


# ----------------------------------------------------------------------------- Sample
@user_errors
@compute
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
@compute
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
@compute
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
        rows, captions = explore.per_scale_reconstructions(model, x, mode, temperature, seed, y=y)
        error = explore.round_trip_error(model, x, y=y)
    items = [(picture(to_uint8_image(x), "input"), f"input ({x.shape[3]}×{x.shape[2]})")]
    items += [(picture(to_uint8_image(r), "reconstruction"), c) for r, c in zip(rows, captions)]
    finer = "resampled at temperature %.2f" % temperature if mode == "resample" else "set to zero"
    note = (f"Round trip: max |x − decode(encode(x))| = {error:.2e} (the flow is exactly invertible up to "
            f"float32 rounding). The latents of the finer scales are {finer}; the model has "
            f"{model.num_scales} scales.")
    return items, note + (f" Conditioned on {text}." if text else "") + suggestion_note(loaded, image)


# ----------------------------------------------------------------------------- Likelihood
@user_errors
@compute
def likelihood(model_name, image, class_choice="auto", invert="auto", resolution="model"):
    """Per-pixel bits (heatmap), bits/dim, its breakdown, and where the image falls among the test images."""
    loaded = get_model(model_name)
    model = loaded.model
    x = validation.model_input(model, image, invert, resolution)
    xd = model.dequantize(x, generator=torch.Generator().manual_seed(NOISE_SEED))
    y, text = validation.class_label(model, class_choice, xd)
    with torch.inference_mode():
        bits, terms, bpd = explore.likelihood_report(model, xd, y=y)
    bits = bits.float().cpu().numpy()
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
    shown = round(bpd, 6)
    sizes, sizes_note = size_comparison(quantized_uint8(x, model.num_levels), shown)
    notes.append(sizes_note)
    note = "\n\n".join(notes) + suggestion_note(loaded, image)
    return (save_png(heat, "bits-heatmap"), shown, table, histogram, note, save_array(bits.astype(np.float32), "bits"),
            sizes)


SIZE_HEADERS = ["coding", "bytes", "bits/dim"]
# WebP at its best effort (method 6, as train/baselines.py and the OOD lab) up to this many values; above, method 5:
# within 1% of method 6's size on photographs and 5-10x faster (128×128 RGB: 0.14 s instead of 1.2 s)
WEBP_BEST_EFFORT_VALUES = 4096


def lossless_bytes(pixels: np.ndarray) -> dict[str, tuple[int, str]]:
    """PNG and WebP bytes of a uint8 (C, H, W) image, each with how it was encoded."""
    sizes = {"png": (len(codecs.encode(pixels, "png")), "lossless")}
    if pixels.size <= WEBP_BEST_EFFORT_VALUES:
        sizes["webp"] = (len(codecs.encode(pixels, "webp")), "lossless")
    else:
        sizes["webp"] = (len(codecs.encode(pixels, "webp", webp_method=5)), "lossless, method 5")
    return sizes


def size_comparison(pixels: np.ndarray, bpd: float) -> tuple[list[list], str]:
    """What the bits mean: the image's cost under the flow, bpd × D / 8 bytes (D = C·H·W values of the
    uint8 (C, H, W) image the model scored), beside the same image compressed losslessly as PNG and as
    WebP by Pillow (realnvp.codecs, the trainer's settings; WebP method 5 above
    WEBP_BEST_EFFORT_VALUES values). Rows of SIZE_HEADERS, and a sentence for the note."""
    d = pixels.size
    flow = round(bpd * d / 8, 3)
    rows = [["flow (bits/dim × D / 8)", flow, bpd]]
    sizes = {}
    for codec, (size, how) in lossless_bytes(pixels).items():
        sizes[codec] = size
        rows.append([f"{ood_lab.CODEC_NAMES[codec]} ({how})", size, round(8 * size / d, 6)])
    c, h, w = pixels.shape
    note = (f"**What the bits mean:** under this flow the image costs **{flow:,.1f} bytes** ({bpd:.4f} bits/dim × "
            f"{d:,} values ({c}×{h}×{w}) / 8), the length of an ideal code driven by the model, with nothing for "
            f"the model itself. The same {w}×{h} image, 8 bits a value, losslessly compressed: **PNG "
            f"{sizes['png']:,} bytes**, **WebP {sizes['webp']:,} bytes** (their file headers included).")
    return rows, note


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

    filled, history = explore.complete(model, x, mask, steps=n, lr=lr, seed=seed, y=y, progress=report)
    with torch.inference_mode():
        final, original = (float(model.bits_per_dim(pixels, y)[0]) for pixels in (filled, x))
    curve = figures.curve(history + [final], title="bits/dim of the image while filling in")
    note = (f"Filled {int(mask.sum())} of {mask.numel()} pixels in {n} steps: {history[0]:.3f} → {final:.3f} "
            f"bits/dim (density of the whole image at its pixel values; the original image: {original:.3f}).")
    return (picture(to_uint8_image(filled), "completed"), save_png(curve, "completion-curve"),
            note + (f" Conditioned on {text}." if text else "") + suggestion_note(loaded, image))


# ----------------------------------------------------------------------------- model picker
def model_info_endpoint(default_model: str):
    """The `/model_info` function, its `model_name` defaulting to the app's default model."""

    def model_info(model_name: str = default_model) -> dict:
        """What a model is: description, where its files came from ("bundled" or "hub"), shape, classes,
        scales, reference test bits/dim, example names, classifier figures (class-conditional models) and
        the data sets of its out-of-distribution figures."""
        loaded = app_registry().load(model_name)
        model = loaded.model
        ref = loaded.reference or {}
        return {"name": loaded.name, "requested": model_name, "message": loaded.message, "source": loaded.source,
                "description": describe(loaded), "channels": model.in_channels,
                "image_size": model.image_size, "num_scales": model.num_scales, "num_classes": model.num_classes,
                "size_multiple": model.size_multiple, "dataset": ref.get("dataset"),
                "mean_test_bpd": ref.get("mean_test_bpd"), "examples": [p.name for p in loaded.examples],
                "classifier": ref.get("classifier"), "ood_datasets": ood_choices(loaded)}

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


# ----------------------------------------------------------------------------- model descriptions
def describe(loaded: LoadedModel) -> str:
    """The registry's description of a model, plus its classifier figures where reference.json has them."""
    text = app_registry().describe(loaded)
    clf = (loaded.reference or {}).get("classifier")
    if isinstance(clf, dict) and {"accuracy", "ece"} <= set(clf):
        text += (f" As a classifier (Bayes' rule over its exact likelihoods, uniform prior): **accuracy "
                 f"{clf['accuracy'] * 100:.1f}%**, expected calibration error {clf['ece']:.3f} "
                 f"({clf.get('ece_bins', 15)} bins) on the {clf.get('num_images', 0):,} test images.")
    return text


# ----------------------------------------------------------------------------- Mix scales
def input_like(model, image, invert_choice, height: int, width: int, what: str) -> torch.Tensor:
    """An image file as model input of exactly height x width (centre crop and resize), like
    validation.model_input does at the model's size: the second image of a pair at the first's size."""
    if image is None or image == "":
        raise gr.Error(f"{what} is empty: upload an image or pick an example.")
    if isinstance(image, dict):
        image = image.get("path")
    choice = validation.invert(invert_choice)
    try:
        picture = normalize_mode(open_image(image), model.in_channels)
    except ImageInputError as error:
        raise gr.Error(f"{what}: {error}") from None
    picture = ImageOps.fit(picture, (width, height), method=Image.Resampling.LANCZOS, centering=(0.5, 0.5))
    if choice == "auto":
        choice = model.in_channels == 1 and has_light_background(picture)
    if choice:
        picture = ImageOps.invert(picture)
    return pil_to_tensor(picture, model.num_levels)[None].to(next(model.parameters()).device)


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
    if resolution == "model":
        b = validation.model_input(model, image_b, invert, resolution, what="Image B")
    else:
        b = input_like(model, image_b, invert, a.shape[2], a.shape[3], "Image B")
    y, text = validation.class_label(model, class_choice, a)
    with torch.inference_mode():
        rows = explore.mix_scales(model, a, b, y=y).clamp(0, 1)
    h, w = a.shape[2:]
    items = [(picture(to_uint8_image(a), "image-a"), f"A ({w}×{h})"), (picture(to_uint8_image(b), "image-b"), "B")]
    captions = explore.mix_scales_captions(model.num_scales)
    items += [(picture(to_uint8_image(r), "mixed"), f"k = {k}: {c}")
              for r, c, k in zip(rows, captions, range(model.num_scales, -1, -1))]
    note = (f"Row k decodes the latents of the k coarsest scales of A with those of the finer scales of B "
            f"(k = {model.num_scales}: A itself, k = 0: B itself). Latents per scale (channels×height×width), "
            f"{latent_sizes(model, h, w)}. The coarse scales hold the overall shape and the fine ones local "
            f"detail: where they disagree, the decoding shows how the flow combines them.")
    return items, note + (f" Both decoded as {text}." if text else "") + suggestion_note(loaded, image_a, image_b)


# ----------------------------------------------------------------------------- walk animations
WALKS = ("circle", "pair")


@user_errors
@compute(duration=120)
def animate(model_name, corner1, corner2, corner3, corner4, class_choice="auto", invert="auto", walk="circle",
            frames=48, fps=12, fmt="gif"):
    """A latent walk as an animated GIF or WebP: the closed great circle through the four-image manifold,
    or corner 1 → corner 2 → corner 1."""
    loaded = get_model(model_name)
    model = loaded.model
    validation.one_of(walk, "walk", WALKS)
    validation.one_of(fmt, "format", animations.FORMATS)
    n = number(frames, "Frames", animations.MIN_FRAMES, animations.MAX_FRAMES, integer=True)
    rate = number(fps, "Frames per second", 1, animations.MAX_FPS)
    corners = [corner1, corner2, corner3, corner4] if walk == "circle" else [corner1, corner2]
    # dequantized as in training (fixed noise): the 8-bit values themselves, at the very edge of the data's
    # range, encode to atypically long latents that share a large common part (the black background), so a
    # circle through them would swing far off the prior's typical shell and decode to inverted images
    x = model.dequantize(corner_images(loaded, corners, invert), generator=torch.Generator().manual_seed(NOISE_SEED))
    y, text = validation.class_label(model, class_choice, x[:1])
    with torch.inference_mode():
        latents = model.encode(x, None if y is None else torch.full((len(x),), y))
        if walk == "circle":
            za, zb = explore.manifold_circle_latents(latents)
            ts = [2 * math.pi * i / n for i in range(n)]
            video = explore.great_circle_walk(model, za, zb, n, y=y)
            what = ("a closed great circle cos(t) z_a + sin(t) z_b, t from 0 to 2π, with z_a = (z₁ + z₂)/√2 and "
                    "z_b = (z₃ + z₄)/√2: it runs down the middle of the four-image manifold, then on through "
                    "−z_a and −z_b (as likely under the prior) back to the start")
        else:
            za, zb = [z[0:1] for z in latents], [z[1:2] for z in latents]
            ts = explore.there_and_back_angles(n)
            video = explore.geodesic_frames(model, za, zb, ts, y=y)
            what = "corner 1 → corner 2 → corner 1 along cos(t) z₁ + sin(t) z₂, t between 0 and π/2"
        norms = torch.cat([z.flatten(1) for z in explore.great_circle_latents(za, zb, ts)], 1).norm(dim=1)
    h, w = video.shape[2:]
    factor = animations.enlargement(n, h, w)
    pictures = [np.repeat(np.repeat(to_uint8_image(f), factor, 0), factor, 1) for f in video]
    path = animations.save_animation(pictures, rate, fmt, stem=f"walk-{walk}")
    duration = animations.frame_duration(rate, fmt)
    dims = norms.new_tensor(float(sum(math.prod(s) for s in model.latent_shapes(h, w))))
    note = (f"{n} frames at {1000 / duration:.3g} frames per second ({n * duration / 1000:.2f} s per loop, "
            f"{duration} ms a frame), {w * factor}×{h * factor} px, {fmt.upper()}, "
            f"{os.path.getsize(path) / 1024:.0f} kB: {what}. The latent's norm stays between "
            f"{norms.min():.1f} and {norms.max():.1f} (the prior's typical radius √D = {dims.sqrt():.1f}): the "
            f"images are dequantized (uniform noise, fixed seed) before encoding, as in training, which puts "
            f"their latents on that shell.")
    return path, path, note + (f" Decoded as {text}." if text else "")


# ----------------------------------------------------------------------------- Classify
NEEDS_CLASSES = ("Classification needs a class-conditional model: pick one with classes (e.g. mnist-cond) in "
                 "the model menu.")


@user_errors
@compute
def classify(model_name, image, invert="auto"):
    """The class-conditional model as a classifier: p(y | x) by Bayes' rule over its exact likelihoods."""
    loaded = get_model(model_name)
    model = loaded.model
    if model.num_classes is None:
        raise gr.Error(NEEDS_CLASSES)
    x = validation.model_input(model, image, invert)
    xd = model.dequantize(x, generator=torch.Generator().manual_seed(NOISE_SEED))
    with torch.inference_mode():
        log_p = explore.class_log_likelihoods(model, xd).double().cpu()
    posterior = torch.softmax(log_p, 0)
    labels = [str(i) for i in range(model.num_classes)]
    order = torch.argsort(posterior, descending=True).tolist()
    best, second = order[0], order[1] if len(order) > 1 else order[0]
    d = x[0].numel()
    bpd = (-log_p[best].item() / d + math.log(model.num_levels)) / math.log(2)
    chart = figures.class_bars(posterior.tolist(), log_p.tolist(), labels,
                               title=f"p(class | image): {best} ({posterior[best]:.3f})")
    notes = [f"**Class {best}**, p = {posterior[best]:.4f} (Bayes' rule over the exact likelihoods "
             f"log p(x | y), uniform prior over the {model.num_classes} classes). The image is "
             f"{(log_p[best] - log_p[second]).item():.2f} nats more likely under class {best} than under "
             f"class {second}, the runner-up; {bpd:.4f} bits/dim under class {best}."]
    clf = (loaded.reference or {}).get("classifier")
    if isinstance(clf, dict) and "accuracy" in clf:
        notes.append(f"On the {clf.get('num_images', 0):,} test images this classifier is "
                     f"{clf['accuracy'] * 100:.1f}% accurate, with an expected calibration error of "
                     f"{clf['ece']:.3f} ({clf.get('ece_bins', 15)} confidence bins).")
    notes.append("A likelihood ratio of a few nats already gives a posterior near 1: a generative classifier "
                 "is often very sure, right or wrong.")
    confidences = {label: round(float(p), 6) for label, p in zip(labels, posterior)}
    return (save_png(chart, "class-posterior"), confidences,
            "\n\n".join(notes) + suggestion_note(loaded, image, need_classes=True))


# ----------------------------------------------------------------------------- Out-of-distribution
def ood_table(data: dict) -> list[list]:
    rows = []
    for entry in data["out"]:
        auc = entry.get("auroc", {})
        rows.append([entry["dataset"], "bits/dim (likelihood)", auc.get("bpd")])
        for codec in ood_lab.CODECS:
            rows.append([entry["dataset"], f"bits/dim − {ood_lab.CODEC_NAMES[codec]} bits/dim", auc.get(codec)])
    return rows


def ood_note_for_value(name: str, value: float, inside: np.ndarray, outside: np.ndarray, own: str, other: str
                       ) -> str:
    share_in = float((inside >= value).mean()) * 100
    share_out = float((outside <= value).mean()) * 100
    return (f"{name} {value:.3f}: {share_in:.1f}% of the `{own}` test images score as high or higher (more "
            f"out of distribution), and {share_out:.1f}% of the `{other}` images as low or lower.")


@user_errors
@compute
def ood(model_name, image=None, invert="auto", other="auto", codec="png"):
    """Bits/dim and the input-complexity-corrected score on the model's test set and another data set's,
    their AUROCs, and an uploaded image placed on both."""
    loaded = get_model(model_name)
    model = loaded.model
    validation.one_of(codec, "codec", ood_lab.CODECS)
    data = ood_lab.read_ood(loaded.directory)
    if data is None:
        note = (f"No precomputed out-of-distribution figures for {loaded.name} (ood.json beside its "
                f"reference.json). For a local model directory: `python -m train.ood --model DIRECTORY`.")
        return None, [], note
    try:
        entry = ood_lab.other_entry(data, other)
    except ValueError as error:
        raise gr.Error(str(error)) from None
    own, other_name = data["in"]["dataset"], entry["dataset"]
    value = corrected = upload_codec = None
    if image not in (None, ""):
        x = validation.model_input(model, image, invert)
        xd = model.dequantize(x, generator=torch.Generator().manual_seed(NOISE_SEED))
        with torch.inference_mode():
            value = float(explore.marginal_bits_per_dim(model, xd)[0])
        pixels = quantized_uint8(x, model.num_levels)
        upload_codec = ood_lab.codec_bits_per_dim(pixels, codec)
        corrected = value - upload_codec
    name = ood_lab.CODEC_NAMES[codec]
    auc = entry.get("auroc", {})
    panels = [
        {"title": f"bits/dim: AUROC {auc.get('bpd', float('nan')):.3f}", "xlabel": "bits/dim (model)",
         "inside": ood_lab.scores(data["in"], None), "outside": ood_lab.scores(entry, None),
         "inside_label": f"{own} test ({data['in']['num_images']:,})",
         "outside_label": f"{other_name} ({entry['num_images']:,})", "value": value},
        {"title": f"bits/dim − {name} bits/dim: AUROC {auc.get(codec, float('nan')):.3f}",
         "xlabel": f"model bits/dim − {name} bits/dim", "inside": ood_lab.scores(data["in"], codec),
         "outside": ood_lab.scores(entry, codec), "inside_label": f"{own} test",
         "outside_label": other_name, "value": corrected},
    ]
    chart = figures.ood_histograms(panels)
    notes = [f"`{loaded.name}` on its own `{own}` test images (grey) and on `{other_name}` (orange; "
             f"{entry.get('images', '')}" + (f"; {', '.join(entry['conversion'])}" if entry.get("conversion") else "")
             + f"). AUROC of telling them apart (1 = perfectly, 0.5 = chance, below 0.5 = the wrong way round): "
             f"**{auc.get('bpd', float('nan')):.3f}** by bits/dim, **{auc.get(codec, float('nan')):.3f}** by bits/dim "
             f"minus the {name} bits/dim of the same image."]
    if value is not None:
        notes.append(ood_note_for_value("This image's bits/dim", value, ood_lab.scores(data["in"], None),
                                        ood_lab.scores(entry, None), own, other_name)
                     + f" Its {name} size: {upload_codec:.3f} bits/dim, so its corrected score is "
                       f"{corrected:.3f}. " + ood_note_for_value(
                           "Corrected", corrected, ood_lab.scores(data["in"], codec), ood_lab.scores(entry, codec),
                           own, other_name))
    notes.append("Likelihoods rank simple, smooth images high whatever a model was trained on (Nalisnick et al., "
                 "2019). Subtracting what a general-purpose lossless codec needs for the same image removes "
                 "that input complexity: the rest is what this model knows beyond generic image statistics "
                 "(Serrà et al., 2020). "
                 + ("The conditional model is scored by its mixture over the classes, p(x) = mean_y p(x | y)."
                    if model.num_classes is not None else ""))
    extra = suggestion_note(loaded, image) if value is not None else ""
    return save_png(chart, "ood"), ood_table(data), "\n\n".join(notes) + extra


def quantized_uint8(x: torch.Tensor, num_levels: int) -> np.ndarray:
    """(1, C, H, W) model input k/(L-1) -> uint8 (C, H, W) levels k (as the test sets were compressed)."""
    return torch.round(x[0].clamp(0, 1) * (num_levels - 1)).to(torch.uint8).cpu().numpy()


def ood_choices(loaded: LoadedModel) -> list[str]:
    return ood_lab.others(ood_lab.read_ood(loaded.directory))


# ----------------------------------------------------------------------------- Completions (brush, sampling)
REGIONS = ("rectangle", "brush")
METHODS = ("sample", "maximize")
MAX_COMPLETIONS = 8
MAX_LANGEVIN_STEPS = 300
BRUSH_THRESHOLD = 0.3  # a model pixel is erased when at least this share of it is painted


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


@user_errors
@compute(duration=180)
def completions(model_name, image, class_choice="auto", invert="auto", region="rectangle", top=0.5, bottom=1.0,
                left=0.0, right=1.0, brush=None, method="sample", count=4, steps=80, langevin_steps=30,
                temperature=1.0, learning_rate=0.2, seed=0, progress=gr.Progress()):
    """Several completions of the erased pixels side by side with their bits/dim: sampled (latent search,
    then Metropolis-adjusted Langevin) or by maximizing log p from several starts; rectangle or brush."""
    loaded = get_model(model_name)
    model = loaded.model
    validation.one_of(region, "region", REGIONS)
    validation.one_of(method, "method", METHODS)
    n = number(count, "Number of completions", 1, MAX_COMPLETIONS, integer=True)
    search = number(steps, "Steps", 1, MAX_COMPLETION_STEPS, integer=True)
    langevin = number(langevin_steps, "Langevin steps", 0, MAX_LANGEVIN_STEPS, integer=True)
    temperature = number(temperature, "Temperature", 0.05, MAX_TEMPERATURE)
    lr = number(learning_rate, "Learning rate", 1e-4, 1.0)
    seed = number(seed, "Seed", 0, MAX_SEED - MAX_COMPLETIONS, integer=True)
    x = validation.model_input(model, image, invert)
    if region == "rectangle":
        mask = validation.erase_rectangle(x, top, bottom, left, right)
    else:
        mask = brush_mask(brush, x.shape[2], x.shape[3]).to(x.device)
    y, text = validation.class_label(model, class_choice, x)
    progress(0, desc="completing")
    if method == "sample":
        def report(step, total, phase):
            progress((step, total), desc=phase)

        result = explore.sample_completions(model, x, mask, n=n, steps=search, mcmc_steps=langevin,
                                            temperature=temperature, seed=seed, y=y, progress=report)
        images, bpd = result.images, result.bits_per_dim.tolist()
        how = (f"sampled: each from its own random latent (temperature {temperature:.2f}), {search} steps of "
               f"latent search to fit the known pixels, then {langevin} Metropolis-adjusted Langevin steps on "
               f"the erased pixels (target p(x_erased | x_known)^(1/T²))")
        if langevin:
            how += f", acceptance {result.acceptance.mean():.2f}"
    else:
        images, bpd = [], []
        for i in range(n):
            progress((i, n), desc=f"maximizing log p, start {i + 1} of {n}")
            filled, _ = explore.complete(model, x, mask, steps=search, lr=lr, seed=seed + i, y=y)
            images.append(filled)
        images = torch.cat(images)
        with torch.inference_mode():
            bpd = model.bits_per_dim(images, None if y is None else torch.full((n,), y)).double().tolist()
        how = f"maximizing log p(x) over the erased pixels ({search} Adam steps, learning rate {lr:g}) from {n} " \
              f"random starts"
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


def fill_pair(model_name: str, target: str, evt: gr.SelectData):
    """The clicked example goes to image `target` ("A" or "B"); the other one becomes the target."""
    path = picked_example(model_name, evt)
    if target == "B":
        return gr.update(), path, "A"
    return path, gr.update(), "B"
