"""The page's recurring components: image inputs, example galleries, result images, the class
and invert controls."""
from __future__ import annotations

import functools
from dataclasses import dataclass

import gradio as gr

from .registry import LoadedModel
from .validation import MAX_SIDE, uploaded_file

INVERT_CHOICES = [("auto", "auto"), ("invert", "yes"), ("keep", "no")]
INVERT_INFO = "MNIST digits are white on black: 'auto' inverts images with a light background."
RESOLUTION_CHOICES = [("model size (centre crop + resize)", "model"), (f"own resolution (≤{MAX_SIDE} px)", "own")]
AUTO_CLASS = ("auto (most likely)", "auto")
ALL_CLASSES = ("all (one per column)", "all")
EXAMPLES_LABEL = "Held-out test images (click one to use it)"


def undecoded_upload(component: gr.Image, payload):
    """gr.Image's preprocessing without decoding: the upload reaches the app as its file path, and
    explorer.images opens it, with a clear message for every kind of broken file (gr.Image itself
    would fail on them with a generic error). Set per instance: a gr.Image subclass would make
    Gradio write a .pyi stub next to its module. Only files in Gradio's upload folder are accepted
    (validation.uploaded_file)."""
    if payload is not None and getattr(payload, "path", None):
        return uploaded_file(str(payload.path))
    return gr.Image.preprocess(component, payload)


def image_input(label, value, elem_id, height=240) -> gr.Image:
    image = gr.Image(value=value, type="filepath", image_mode=None, label=label, sources=["upload", "clipboard"],
                     height=height, elem_id=elem_id, elem_classes=["pixelated", "image-input"])
    image.preprocess = functools.partial(undecoded_upload, image)
    return image


def example_items(loaded: LoadedModel) -> list[str]:
    return [str(p) for p in loaded.examples]


def example_gallery(loaded: LoadedModel, elem_id, label=EXAMPLES_LABEL) -> gr.Gallery:
    gr.Markdown(label, elem_classes="gallery-caption")
    return gr.Gallery(example_items(loaded), label=label, show_label=False, columns=8, height=140, allow_preview=False,
                      object_fit="contain", elem_id=elem_id, elem_classes=["pixelated", "examples"], format="png")


def output_image(label, elem_id, height=None, value=None) -> gr.Image:
    return gr.Image(value, label=label, format="png", type="numpy", interactive=False, elem_id=elem_id,
                    elem_classes=["pixelated", "result"], height=height, buttons=["download", "fullscreen"])


def class_choices(model, first: tuple[str, str]) -> list[tuple[str, str]]:
    if model.num_classes is None:
        return [first]
    return [first] + [(str(i), str(i)) for i in range(model.num_classes)]


def class_dropdown(model, first: tuple[str, str], **kwargs) -> gr.Dropdown:
    # custom values allowed: the choices change with the model, and the handlers check the value
    return gr.Dropdown(class_choices(model, first), value=first[1], label="Class", allow_custom_value=True,
                       visible=model.num_classes is not None, **kwargs)


def invert_radio(model) -> gr.Radio:
    return gr.Radio(INVERT_CHOICES, value="auto", label="Invert", info=INVERT_INFO, visible=model.in_channels == 1)


@dataclass
class SuggestionBox:
    """A hidden note under an image input, shown when another model suits the image better
    (explorer.suggestions), with a button that switches the model picker to it."""

    group: gr.Group
    text: gr.Markdown
    button: gr.Button


def suggestion_box(elem_id: str) -> SuggestionBox:
    with gr.Group(visible=False, elem_id=elem_id, elem_classes="model-suggestion") as group:
        text = gr.Markdown(elem_id=f"{elem_id}-text")
        button = gr.Button("Switch model", size="sm", elem_id=f"{elem_id}-button")
    return SuggestionBox(group, text, button)


def suggestion_updates(box: SuggestionBox, found) -> dict:
    """The box's updates for a Suggestion (shown with its words and button) or None (hidden)."""
    if found is None:
        return {box.group: gr.update(visible=False)}
    return {box.group: gr.update(visible=True), box.text: found.hint, box.button: gr.update(value=found.button)}
