"""The Directions tab: an image moved along the direction between two classes' mean latents
(from the model's class_means.safetensors, written by `python -m train.class_means`)."""
from __future__ import annotations

import functools
import json
from pathlib import Path

import gradio as gr
import torch
from safetensors import safe_open

from realnvp import directions

from .. import validation
from ..images import enlarge, grid_image
from ..registry import LoadedModel
from ..runtime import compute
from ..validation import number, user_errors
from .common import get_model, suggestion_note

CLASS_MEANS_FILE = "class_means.safetensors"
MAX_AMOUNT = 2.0
STEPS = 7  # decodings shown from 0 to the amount
STRIP_WIDTH = 800  # the row of decodings is enlarged to about this width
SCALE_CHOICES = [("every scale", "all"), ("only the coarsest scale (overall shape)", "coarse")]
# the pair each model's tab starts with, by class names: a garment and one like it, two similar digits
FIRST_PAIRS = [("pullover", "coat"), ("7", "1")]


class ClassMeans:
    def __init__(self, means: list[torch.Tensor], names: list[str], dataset: str, num_images: int):
        self.means, self.names, self.dataset, self.num_images = means, names, dataset, num_images


@functools.lru_cache(maxsize=8)
def _read(path: str, stamp: float) -> ClassMeans:
    with safe_open(path, framework="pt") as f:
        keys = sorted((k for k in f.keys() if k.startswith("scale_")), key=lambda k: int(k.split("_")[1]))
        means = [f.get_tensor(k) for k in keys]
        meta = f.metadata() or {}
    return ClassMeans(means, json.loads(meta.get("class_names", "[]")) or [str(i) for i in range(len(means[0]))],
                      meta.get("dataset", "?"), int(meta.get("num_images", 0)))


def class_means(loaded: LoadedModel) -> ClassMeans | None:
    """The model's class-mean latents, or None where it has none."""
    path = Path(loaded.directory) / CLASS_MEANS_FILE
    if not path.is_file():
        return None
    return _read(str(path), path.stat().st_mtime)


def class_options(loaded: LoadedModel) -> tuple[list[tuple[str, str]], str | None, str | None]:
    """Dropdown choices (name, index) and the first pair to show."""
    found = class_means(loaded)
    if found is None:
        return [], None, None
    choices = [(name, str(i)) for i, name in enumerate(found.names)]
    for a, b in FIRST_PAIRS:
        if a in found.names and b in found.names:
            return choices, str(found.names.index(a)), str(found.names.index(b))
    return choices, "0", str(min(1, len(choices) - 1))


def class_index(value, what: str, count: int) -> int:
    try:
        index = int(str(value).strip())
    except ValueError:
        raise gr.Error(f"{what} must be a class number 0-{count - 1}, got {value!r}.") from None
    if not 0 <= index < count:
        raise gr.Error(f"{what} must lie between 0 and {count - 1}, got {index}.")
    return index


@user_errors
@compute
def direction(model_name, image, invert="auto", source="7", target="1", amount=1.0, scales="all"):
    """Move the image's latents by t (mean[target] - mean[source]) for t from 0 to `amount`, and
    decode each step."""
    loaded = get_model(model_name)
    model = loaded.model
    found = class_means(loaded)
    if found is None:
        raise gr.Error(f"{loaded.name} has no class-mean latents ({CLASS_MEANS_FILE}): directions need a model "
                       f"with labelled test images (mnist, fashion-mnist), or write them with "
                       f"`python -m train.class_means --model DIR`.")
    if model.num_classes is not None:
        raise gr.Error("Directions are for unconditional models: a class-conditional one already takes the class "
                       "as an input.")
    count = len(found.names)
    source, target = class_index(source, "From", count), class_index(target, "To", count)
    amount = number(amount, "Amount", -MAX_AMOUNT, MAX_AMOUNT)
    validation.one_of(scales, "scales", ("all", "coarse"))
    chosen = None if scales == "all" else [model.num_scales - 1]
    x = validation.model_input(model, image, invert)
    device = x.device
    step = directions.class_direction([m.to(device) for m in found.means], source, target)
    with torch.inference_mode():
        z = model.encode(x)
        ts = [amount * k / (STEPS - 1) if k else 0.0 for k in range(STEPS)]  # no "-0.00"
        moved = [directions.move_along(z, step, t, chosen) for t in ts]
        decoded = model.decode([torch.cat(parts) for parts in zip(*moved)]).clamp(0, 1)
    strip = enlarge(grid_image(decoded, nrow=STEPS), STRIP_WIDTH)
    sizes = ", ".join(f"scale {i}: {d.norm().item():.2f}" for i, d in enumerate(step))
    where = "every scale" if chosen is None else "the coarsest scale only"
    shown = ", ".join(f"{t:+.2f}" for t in ts)
    note = (f"z(t) = z + t (mean[{found.names[target]}] − mean[{found.names[source]}]) on {where}, decoded at "
            f"t = {shown} (left to right); t = 0 is the image itself. The means are over {found.num_images} labelled {found.dataset} test images; "
            f"the direction's length per scale: {sizes}. A flow's latent space is not trained to separate class "
            f"from style, so the move may change more than the class.")
    return strip, note + suggestion_note(loaded, image)


def follow_classes(which: int):
    """A picker follower for the From (0) / To (1) dropdown: the model's classes, or hidden."""

    def update(loaded: LoadedModel):
        choices, first, second = class_options(loaded)
        return gr.update(choices=choices, value=(first, second)[which], visible=bool(choices))

    return update
