"""The Interpolate tab: the four-image manifold, a pair's interpolation and latent-walk animations."""
from __future__ import annotations

import math
import os

import gradio as gr
import numpy as np
import torch

from realnvp import interpolation

from .. import animations, validation
from ..images import grid_image, to_uint8_image
from ..registry import LoadedModel
from ..runtime import compute
from ..validation import MAX_GRID, MAX_STEPS, number, user_errors
from .common import NOISE_SEED, get_model, noise_name, picked_example, picture

WALKS = ("circle", "pair")


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
        grid = interpolation.interpolation_manifold(loaded.model, x, size, y=y)
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
        row = interpolation.interpolate_pair(loaded.model, x[:1], x[1:], n, y=y)
    note = f"{n} steps from corner 1 to corner 2" + (f", {text}." if text else ".")
    return picture(grid_image(row, n), "interpolation"), note


def fill_corner(model_name: str, target: str, evt: gr.SelectData):
    """The clicked example goes to corner `target` ("1"-"4"); the next corner becomes the target."""
    slot = int(target) - 1
    updates = [gr.update() for _ in range(4)]
    updates[slot] = picked_example(model_name, evt)
    return *updates, str(slot % 4 + 2) if slot < 3 else "1"


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
            za, zb = interpolation.manifold_circle_latents(latents)
            ts = [2 * math.pi * i / n for i in range(n)]
            video = interpolation.great_circle_walk(model, za, zb, n, y=y)
            what = ("a closed great circle cos(t) z_a + sin(t) z_b, t from 0 to 2π, with z_a = (z₁ + z₂)/√2 and "
                    "z_b = (z₃ + z₄)/√2: it runs down the middle of the four-image manifold, then on through "
                    "−z_a and −z_b (as likely under the prior) back to the start")
        else:
            za, zb = [z[0:1] for z in latents], [z[1:2] for z in latents]
            ts = interpolation.there_and_back_angles(n)
            video = interpolation.geodesic_frames(model, za, zb, ts, y=y)
            what = "corner 1 → corner 2 → corner 1 along cos(t) z₁ + sin(t) z₂, t between 0 and π/2"
        norms = torch.cat([z.flatten(1) for z in interpolation.great_circle_latents(za, zb, ts)], 1).norm(dim=1)
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
            f"images are dequantized ({noise_name(model)}, fixed seed) before encoding, as in training, which puts "
            f"their latents on that shell.")
    return path, path, note + (f" Decoded as {text}." if text else "")
