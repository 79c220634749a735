"""The Sample tab: a grid of samples at one temperature or one per scale."""
from __future__ import annotations

import math

import torch

from realnvp import sampling

from .. import validation
from ..images import grid_image
from ..runtime import compute
from ..validation import MAX_SAMPLES, MAX_TEMPERATURE, number, user_errors
from .common import get_model, picture


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
        temperature = sampling.scale_temperatures(model.num_scales, coarse, fine)
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
        x = sampling.sample_grid(model, n, temperature, seed, y=y)
    grid = picture(grid_image(x, per_row), "samples")
    return grid, seed, f"{n} samples from {loaded.name}, seed {seed}, {note}."
