"""What the tabs are built from: the model picker's bookkeeping (the components that follow it),
one-image controls, the better-model offer under image inputs, the quick image check before a
handler, and the seed box."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from .. import handlers, validation
from ..registry import LoadedModel, app_registry
from ..validation import MAX_SEED, user_errors
from ..widgets import (AUTO_CLASS, SuggestionBox, class_dropdown, example_gallery, image_input, invert_radio,
                       suggestion_box, suggestion_updates)


@dataclass
class ModelBound:
    """The model picker, the model shown at start-up, and the components that follow the picker."""

    picker: gr.Dropdown
    start: LoadedModel
    picks: list[str | None]  # four examples of different classes: the initial images
    sample_class: gr.Dropdown | None = None
    corners: list[gr.Image] = field(default_factory=list)
    classes: list[gr.Dropdown] = field(default_factory=list)
    inverts: list[gr.Radio] = field(default_factory=list)
    galleries: list[gr.Gallery] = field(default_factory=list)
    singles: list[tuple[gr.Image, int]] = field(default_factory=list)  # one-image inputs, index into picks
    # components that follow the picker in their own way: (component, function of the loaded model -> update)
    followers: list[tuple[Any, Callable[[LoadedModel], Any]]] = field(default_factory=list)
    offers: list[Offer] = field(default_factory=list)  # better-suited model suggestions under image inputs

    def follow(self, class_choice: gr.Dropdown, invert: gr.Radio, gallery: gr.Gallery) -> None:
        """A tab's class and invert controls and its example gallery follow the picker."""
        self.classes.append(class_choice)
        self.inverts.append(invert)
        self.galleries.append(gallery)


@dataclass
class Offer:
    """A suggestion box and the image inputs it looks at (the first with a suggestion counts);
    `need_classes`: only class-conditional models are offered (the Classify tab)."""

    box: SuggestionBox
    images: tuple[gr.Image, ...]
    need_classes: bool = False

    def updates(self, model_name, *images) -> dict:
        loaded = app_registry().load(model_name or None)
        return suggestion_updates(self.box, handlers.suggestion(loaded, *images, need_classes=self.need_classes))


def offer_better_model(bound: ModelBound, images: tuple[gr.Image, ...], elem_id: str,
                       need_classes: bool = False) -> Offer:
    """Under an image input: a note and a button offering the model that suits the image better (a colour
    photo on a greyscale model, a digit on a colour model), refreshed whenever the image changes. The
    button (wired in follow_model_picker) switches the picker and keeps these images."""
    offer = Offer(suggestion_box(elem_id), tuple(images), need_classes)
    for image in images:
        image.change(offer.updates, [bound.picker, *images], [offer.box.group, offer.box.text, offer.box.button],
                     api_name=f"select_model_offer_on_{image.elem_id.replace('-', '_')}", api_visibility="private",
                     trigger_mode="always_last", show_progress="hidden")
    bound.offers.append(offer)
    return offer


def single_image_controls(bound: ModelBound, pick: int, prefix: str) -> tuple[gr.Image, gr.Dropdown, gr.Radio]:
    """A one-image tab's input, example gallery, class and invert controls; clicking an example
    fills the input, and switching model updates them all. Returns (image, class, invert)."""
    image = image_input("Image", bound.picks[pick], f"{prefix}-image")
    offer_better_model(bound, (image,), f"{prefix}-suggestion")
    gallery = example_gallery(bound.start, f"{prefix}-examples")
    with gr.Row():
        class_choice = class_dropdown(bound.start.model, AUTO_CLASS)
        invert = invert_radio(bound.start.model)
    gallery.select(handlers.picked_example, [bound.picker], image,
                   api_name=f"pick_{image.elem_id.replace('-', '_')}", api_visibility="private")
    bound.singles.append((image, pick))
    bound.follow(class_choice, invert, gallery)
    return image, class_choice, invert


def images_checked(trigger, images: list[tuple[gr.Image, str]], api_name: str, optional: tuple[gr.Image, ...] = ()):
    """`trigger` wired to a quick check of the image inputs (given, decodable; `validation.readable_image`)
    with no outputs. Chain the handler on the result with `.success`: a refused image
    then shows its message alone and the outputs keep their last results, where an error raised by the
    handler would mark every output with an error badge and blank its images. API callers call the
    handler's own endpoint, which makes the same checks."""
    names = [what for _, what in images]
    required = [component not in optional for component, _ in images]

    @user_errors
    def check_images(*values):
        for value, what, needed in zip(values, names, required):
            validation.readable_image(value, what, needed)

    # queued like every event (a refusal off the queue reaches the page as a bare HTTP 500, no message)
    return trigger(check_images, [component for component, _ in images], None, show_progress="hidden",
                   api_name=f"check_{api_name}", api_visibility="private")


def seed_box(label="Seed") -> gr.Number:
    return gr.Number(0, label=label, precision=0, minimum=0, maximum=MAX_SEED)
