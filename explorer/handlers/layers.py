"""The Layer by layer tab: one image's journey through `encode`, or a sample's through `decode`,
after every layer, with the log-det each one adds and the bits/dim so far."""
from __future__ import annotations

import gradio as gr
import torch

from realnvp import trace

from .. import figures, validation
from ..layer_pictures import LEGEND, start_picture, step_picture
from ..runtime import compute
from ..validation import MAX_SEED, MAX_TEMPERATURE, number, user_errors
from .common import NOISE_SEED, get_model, picture, suggestion_note

DIRECTIONS = ("encode", "decode")
TABLE_HEADERS = ["step", "where", "layer", "shape (C×H×W)", "log-det (nats)", "running log-det (nats)",
                 "bits/dim if the flow stopped here"]


def where(step: trace.Step) -> str:
    """'preprocessing' or 'scale i': the model's layer the step belongs to."""
    return " ".join(step.name.split(" ")[:2]) if step.name.startswith("scale") else step.name.split(" ")[0]


def caption(step: trace.Step, direction: str) -> str:
    """Short enough for a gallery tile: the kind first (the table has every figure)."""
    undone = " undone" if direction == "decode" and step.kind != "factor-in" else ""
    return (f"{step.index + 1}. {step.kind}{undone}, {where(step)}: {step.logdet[0].item():+.1f} nats, "
            f"{step.bits_per_dim[0].item():.3f} bits/dim")


def table_rows(steps: list[trace.Step]) -> list[list]:
    return [[s.index + 1, where(s), s.kind, "×".join(map(str, s.output.shape[1:])), round(s.logdet[0].item(), 4),
             round(s.total[0].item(), 4), round(s.bits_per_dim[0].item(), 4)] for s in steps]


@user_errors
@compute
def layers(model_name, image, class_choice="auto", invert="auto", direction="encode", temperature=1.0, seed=0,
           progress=gr.Progress()):
    """Trace `encode` of the image (dequantized with the Likelihood tab's fixed noise), or `decode`
    of latents z ~ N(0, T²) from the seed, layer by layer."""
    loaded = get_model(model_name)
    model = loaded.model
    validation.one_of(direction, "direction", DIRECTIONS)
    progress(0, desc=f"{direction[:-1]}ing layer by layer")
    if direction == "encode":
        x = validation.model_input(model, image, invert)
        y, text = validation.class_label(model, class_choice, x)
        xd = model.dequantize(x, generator=torch.Generator().manual_seed(NOISE_SEED))
        labels = None if y is None else torch.tensor([y], device=x.device)
        walk = trace.trace_encode(model, xd, labels)
    else:
        temperature = number(temperature, "Temperature", 0, MAX_TEMPERATURE)
        seed = number(seed, "Seed", 0, MAX_SEED, integer=True)
        if model.num_classes is not None and class_choice in (None, "", "auto"):
            raise gr.Error("This model is class-conditional: pick the class to decode a sample under.")
        y, text = validation.class_label(model, class_choice)
        latents = model.sample_latents(1, temperature, torch.Generator().manual_seed(seed))
        labels = None if y is None else torch.tensor([y], device=latents[0].device)
        walk = trace.trace_decode(model, latents, labels)
    progress(0.5, desc="drawing the steps")
    items = gallery_items(walk, model.in_channels)
    curve = figures.curve([walk.start_bits_per_dim[0].item()] + [s.bits_per_dim[0].item() for s in walk.steps],
                          xlabel="state (1: before the first step)", ylabel="bits/dim",
                          title="bits/dim of the flow truncated after each step")
    note = summary(model, walk, labels) + (f" Conditioned on {text}." if text else "")
    if direction == "encode":
        note += suggestion_note(loaded, image)
    return items, {"headers": TABLE_HEADERS, "data": table_rows(walk.steps)}, curve, note


def gallery_items(walk: trace.Trace, image_channels: int) -> list[tuple[str, str]]:
    encoding = walk.direction == "encode"
    first = "the image (dequantized)" if encoding else "the latents z, in image layout"
    items = [(picture(start_picture(walk.start, encoding), "layer-start"),
              f"0. {first} · {walk.start_bits_per_dim[0].item():.4f} bits/dim")]
    last = len(walk.steps) - 1
    for step in walk.steps:
        is_image = not encoding and step.index == last  # a decode ends at the image
        items.append((picture(step_picture(step, image_channels, is_image), "layer"), caption(step, walk.direction)))
    return items


def summary(model, walk: trace.Trace, labels: torch.Tensor | None) -> str:
    logdet, prior, log_prob = (t[0].item() for t in (walk.logdet, walk.prior, walk.log_prob))
    if walk.direction == "encode":
        with torch.inference_mode():
            reference = model.log_prob(walk.image, labels)
        check = (f"Sum of the {len(walk.steps)} steps' log-dets {logdet:+.4f} nats + prior log N(z) {prior:+.4f} = "
                 f"log p(x) = {log_prob:+.4f} nats; `model.log_prob` gives {reference[0].item():+.4f} "
                 f"(difference {abs(log_prob - reference[0].item()):.1e}, float32 rounding).")
        ending = f"{walk.steps[-1].bits_per_dim[0].item():.4f} bits/dim, the model's figure for this image."
    else:
        check = (f"Sum of the {len(walk.steps)} steps' log-dets {logdet:+.4f} nats: minus the encode log-dets of "
                 f"the image it ends at, whose log p(x) = prior {prior:+.4f} − ({logdet:+.4f}) = {log_prob:+.4f} nats.")
        ending = ("the bits/dim of the image under a standard normal, with no flow at all. Decoding runs the layers "
                  "backwards, each one undone.")
    return (f"{LEGEND}\n\n{check} Each step's bits/dim is that of the flow cut off after it (its log-dets so far, "
            f"a standard normal on the whole state), so the last {'state' if walk.direction == 'encode' else 'one'} "
            f"gives {ending} A scale re-enters the squeezes and factor-outs of the scales before it, so those "
            f"steps repeat (they only move elements: log-det 0).")

