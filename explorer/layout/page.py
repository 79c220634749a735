"""The page: the introduction, a model picker over the eleven tabs, and what follows the picker."""
from __future__ import annotations

import gradio as gr

from .. import handlers
from ..model_files import distinct_examples
from ..registry import app_registry
from ..widgets import ALL_CLASSES, AUTO_CLASS, class_choices, example_items
from .controls import ModelBound
from .inside import directions_tab, layers_tab, restyle_tab
from .tabs import (classify_tab, complete_tab, interpolate_tab, likelihood_tab, mix_scales_tab, ood_tab, per_scale_tab,
                   sample_tab)

CSS = """
.pixelated img, .pixelated canvas { image-rendering: pixelated; }
.image-input .image-frame img, .result img { width: 100%; height: 100%; object-fit: contain; }
.examples .grid-container { grid-template-columns: repeat(var(--grid-cols), minmax(0, 1fr)) !important;
                            grid-template-rows: none !important; grid-auto-rows: auto !important;
                            gap: 4px !important; }
.examples .grid-wrap { overflow-y: auto; }
#model-description p { margin: 0.2em 0; }
#complete-brush canvas { image-rendering: pixelated; }
.model-suggestion { border: 1px solid #f0b429 !important; padding: 2px 8px 6px; }
/* output galleries: the caption sits under its picture, whole (wrapped), never over it */
.pixelated .thumbnail-item { display: flex; flex-direction: column; aspect-ratio: auto !important;
                             height: auto !important; }
.pixelated .thumbnail-item > img { width: 100%; height: auto !important; flex: none; }
.pixelated:not(.examples) .grid-wrap { padding-top: var(--size-10) !important; }  /* below the gallery's label */
.pixelated .caption-label { position: static !important; max-width: none !important; white-space: normal !important;
                            text-overflow: clip !important; line-height: 1.25; border: none !important;
                            border-radius: 0 !important; flex: none; }
"""
TITLE = "Real NVP explorer"
INTRODUCTION = (
    "# Real NVP explorer\nAn exact-likelihood normalizing flow with the multi-scale architecture of "
    "[Dinh, Sohl-Dickstein & Bengio (2017)](https://arxiv.org/abs/1605.08803): sample, interpolate in "
    "latent space and animate latent walks, see what each scale encodes and mix the scales of two images, "
    "measure likelihoods pixel by pixel, fill in erased pixels (by optimization or by sampling), classify with "
    "Bayes' rule over exact likelihoods, and test likelihood-based out-of-distribution detection.")
DELETE_CACHE = (3600, 3600)  # every hour, result files older than an hour are deleted


def theme() -> gr.themes.Base:
    return gr.themes.Soft()


def follow_model_picker(bound: ModelBound, description: gr.Markdown) -> None:
    """Picking another model updates its description, the class and invert controls (shown only
    where they apply), the example galleries and the initial images. A suggestion's button picks
    the suggested model the same way but keeps its own images; then every suggestion is refreshed.
    (The picker's `input` event, not `change`: setting the picker from a suggestion must not run
    the plain switch, which would replace the kept images.)"""
    outputs = [description, bound.sample_class, *bound.corners, *bound.classes, *bound.inverts, *bound.galleries,
               *(image for image, _ in bound.singles), *(component for component, _ in bound.followers)]
    offer_images = [image for offer in bound.offers for image in offer.images]
    offer_outputs = [c for offer in bound.offers for c in (offer.box.group, offer.box.text, offer.box.button)]

    def refresh_offers(model_name, *images):
        updates, values = {}, iter(images)
        for offer in bound.offers:
            updates.update(offer.updates(model_name, *(next(values) for _ in offer.images)))
        return updates

    def switch_model(model_name, keep=()):
        registry = app_registry()
        loaded = registry.load(model_name)
        model = loaded.model
        conditional, grey = model.num_classes is not None, model.in_channels == 1
        picks = distinct_examples(loaded.examples, 4)
        updates = {description: handlers.describe(loaded),
                   bound.sample_class: gr.update(choices=class_choices(model, ALL_CLASSES), value="all",
                                                 visible=conditional)}
        updates.update(zip(bound.corners, picks))
        for class_choice in bound.classes:
            updates[class_choice] = gr.update(choices=class_choices(model, AUTO_CLASS), value="auto",
                                              visible=conditional)
        for invert in bound.inverts:
            updates[invert] = gr.update(visible=grey)
        for gallery in bound.galleries:
            updates[gallery] = example_items(loaded)
        for image, pick in bound.singles:
            updates[image] = gr.update() if any(image is kept for kept in keep) else picks[pick]
        for component, follow in bound.followers:
            updates[component] = follow(loaded)
        return updates

    bound.picker.input(switch_model, [bound.picker], outputs, api_name="select_model", api_visibility="private") \
        .then(refresh_offers, [bound.picker, *offer_images], offer_outputs, api_name="select_model_offers",
              api_visibility="private", show_progress="hidden")
    for offer in bound.offers:
        def take(model_name, *images, offer=offer):
            loaded = app_registry().load(model_name or None)
            found = handlers.suggestion(loaded, *images, need_classes=offer.need_classes)
            if found is None:
                return {bound.picker: gr.update()}
            return {bound.picker: found.model, **switch_model(found.model, keep=offer.images)}

        name = offer.box.button.elem_id.replace("-", "_")
        offer.box.button.click(take, [bound.picker, *offer.images], [bound.picker, *outputs],
                               api_name=f"select_model_{name}", api_visibility="private") \
            .then(refresh_offers, [bound.picker, *offer_images], offer_outputs,
                  api_name=f"select_model_offers_{name}", api_visibility="private", show_progress="hidden")


def build_page() -> gr.Blocks:
    """The whole page over the app's registry (its default model is loaded now, to lay out its examples;
    a broken default stops here with a clear error)."""
    registry = app_registry()
    start = registry.load(registry.default_name)
    with gr.Blocks(title=TITLE, delete_cache=DELETE_CACHE) as demo:
        gr.Markdown(INTRODUCTION)
        with gr.Row(equal_height=True):
            picker = gr.Dropdown(registry.names(), value=registry.default_name, label="Model", scale=1,
                                 elem_id="model", allow_custom_value=False)
            description = gr.Markdown(handlers.describe(start), elem_id="model-description")
        bound = ModelBound(picker, start, distinct_examples(start.examples, 4))
        with gr.Tabs():
            sample_tab(bound)
            interpolate_tab(bound)
            per_scale_tab(bound)
            mix_scales_tab(bound)
            likelihood_tab(bound)
            complete_tab(bound, demo)
            classify_tab(bound)
            ood_tab(bound)
            layers_tab(bound)
            directions_tab(bound)
            restyle_tab(bound)
        follow_model_picker(bound, description)
        gr.api(handlers.model_info_endpoint(registry.default_name), api_name="model_info")
    return demo
