"""What the tabs' handlers share: the model by name, result pictures, the better-suited model's
note, an example picked from a gallery, and the fixed dequantization noise."""
from __future__ import annotations

import logging

import gradio as gr
import numpy as np
import torch

from .. import suggestions
from ..images import for_display
from ..registry import LoadedModel, app_registry
from ..results import save_png

NOISE_SEED = 0  # dequantization noise of the likelihood tab (fixed: the same image gives the same number)

log = logging.getLogger("realnvp.app")


def noise_name(model) -> str:
    """What the model dequantizes with, in words for a note."""
    return "uniform noise" if model.dequantizer is None else "the model's learned noise q(u | image)"


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


def quantized_uint8(x: torch.Tensor, num_levels: int) -> np.ndarray:
    """(1, C, H, W) model input k/(L-1) -> uint8 (C, H, W) levels k (as the test sets were compressed)."""
    return torch.round(x[0].clamp(0, 1) * (num_levels - 1)).to(torch.uint8).cpu().numpy()


def picked_example(model_name: str, evt: gr.SelectData) -> str:
    """The path of the example clicked in a model's gallery."""
    index = evt.index if isinstance(evt.index, int) else evt.index[0]
    return str(app_registry().load(model_name).examples[index])
