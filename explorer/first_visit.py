"""What a visitor sees before pressing any button: the Sample tab's grid and the Likelihood tab's
result for its first example, computed once when the page is built (the default model's: a
64-sample grid of digits and one likelihood take well under a second)."""
from __future__ import annotations

import logging
import math

import numpy as np
import torch

from realnvp import sampling

from .images import for_display, grid_image
from .registry import LoadedModel

# the Sample tab's initial settings: count, temperature and seed
SAMPLES, TEMPERATURE, SEED = 64, 0.8, 0

log = logging.getLogger("realnvp.app")


def sample_grid(loaded: LoadedModel) -> tuple[np.ndarray, str]:
    """The grid the Sample button gives at the initial settings (the same seed), and its note."""
    model = loaded.model
    y, per_row = None, math.ceil(math.sqrt(SAMPLES))
    if model.num_classes is not None:
        y, per_row = torch.arange(SAMPLES) % model.num_classes, model.num_classes
    with torch.inference_mode():
        x = sampling.sample_grid(model, SAMPLES, TEMPERATURE, SEED, y=y)
    note = f"{SAMPLES} samples from {loaded.name}, seed {SEED}, temperature {TEMPERATURE:.2f} (shown on opening)."
    return for_display(grid_image(x, per_row)), note


def likelihood(loaded: LoadedModel, image) -> tuple | None:
    """The Likelihood tab's outputs for `image` at the model's size, as the Evaluate button gives
    them; None (the tab opens empty) if that fails: the page must open anyway."""
    from .handlers import likelihood as evaluate

    if image is None:
        return None
    try:
        return evaluate(loaded.name, str(image), "auto", "auto", "model")
    except Exception:  # noqa: BLE001 - logged; the tab opens empty
        log.exception("could not evaluate the first example's likelihood for the page")
        return None
