"""The tabs that look inside the flow (issue #28): Layer by layer, Directions, Restyle."""
from __future__ import annotations

import gradio as gr

from .. import handlers
from ..handlers import directions as handler
from ..handlers import restyle as restyling
from ..validation import MAX_TEMPERATURE
from ..widgets import example_gallery, image_input, invert_radio, output_image
from .controls import ModelBound, images_checked, offer_better_model, seed_box, single_image_controls


def layers_tab(bound: ModelBound) -> None:
    with gr.Tab("Layer by layer", id="layers"):
        with gr.Row():
            with gr.Column(scale=2):
                image, class_choice, invert = single_image_controls(bound, 2, "layers")
                direction = gr.Radio([("encode this image", "encode"), ("decode a sample", "decode")],
                                     value="encode", label="Direction", elem_id="layers-direction",
                                     info="Decoding starts from latents z ~ N(0, T²) drawn from the seed (a "
                                          "class-conditional model needs a class).")
                with gr.Row():
                    temperature = gr.Slider(0, MAX_TEMPERATURE, value=0.8, step=0.05, label="Temperature (decoding)",
                                            elem_id="layers-temperature")
                    seed = seed_box()
                button = gr.Button("Trace the layers", variant="primary", elem_id="layers-button")
            with gr.Column(scale=3):
                steps = gr.Gallery(label="After each step: the state (left) and what the step changes (right)",
                                   columns=3, height=560, allow_preview=True, object_fit="contain", format="png",
                                   elem_id="layers-output", elem_classes="pixelated")
                curve = gr.Image(label="bits/dim along the way", format="png", type="numpy", interactive=False,
                                 elem_id="layers-curve", height=260)
                table = gr.Dataframe(headers=handlers.LAYER_TABLE_HEADERS, label="Every step's log-det (float32)",
                                     interactive=False, elem_id="layers-table", max_height=320)
                note = gr.Markdown(label="note", elem_id="layers-note")
        images_checked(button.click, [(image, "image")], "layers", optional=(image,)).success(
            handlers.layers, [bound.picker, image, class_choice, invert, direction, temperature, seed],
            [steps, table, curve, note], api_name="layers")


def directions_tab(bound: ModelBound) -> None:
    with gr.Tab("Directions", id="directions"):
        with gr.Row():
            with gr.Column(scale=2):
                image, _, invert = single_image_controls(bound, 3, "direction")
                choices, first, second = handler.class_options(bound.start)
                with gr.Row():
                    # custom values allowed: the choices change with the model, and the handler checks them
                    source = gr.Dropdown(choices, value=first, label="From", elem_id="direction-from",
                                         visible=bool(choices), allow_custom_value=True)
                    target = gr.Dropdown(choices, value=second, label="To", elem_id="direction-to",
                                         visible=bool(choices), allow_custom_value=True)
                amount = gr.Slider(-handler.MAX_AMOUNT, handler.MAX_AMOUNT, value=1.0, step=0.05,
                                   label="How far (t: 1 moves by the whole difference of the means)",
                                   elem_id="direction-amount")
                scales = gr.Radio(handler.SCALE_CHOICES, value="all", label="Move the latents of",
                                  elem_id="direction-scales")
                button = gr.Button("Move", variant="primary", elem_id="direction-button")
            with gr.Column(scale=3):
                steps = output_image("Decoded along the way, t from 0 (the image) to the amount",
                                     "direction-output")
                note = gr.Markdown(label="note", elem_id="direction-note")
        inputs = [bound.picker, image, invert, source, target, amount, scales]
        images_checked(button.click, [(image, "image")], "direction").success(
            handler.direction, inputs, [steps, note], api_name="direction")
        amount.release(handler.direction, inputs, [steps, note], api_name="direction_slider",
                       api_visibility="private")
    bound.followers += [(source, handler.follow_classes(0)), (target, handler.follow_classes(1))]


def restyle_tab(bound: ModelBound) -> None:
    model = bound.start.model
    conditional = model.num_classes is not None
    with gr.Tab("Restyle", id="restyle"):
        with gr.Row():
            with gr.Column(scale=2):
                image = image_input("Image", bound.picks[1], "restyle-image")
                offer_better_model(bound, (image,), "restyle-suggestion", need_classes=True)
                gallery = example_gallery(bound.start, "restyle-examples")
                with gr.Row():
                    # custom values allowed: the choices change with the model, and the handler checks them
                    label = gr.Dropdown(restyling.label_choices(model), value=restyling.CHOSEN[1],
                                        label="Encode as class", allow_custom_value=True, visible=conditional,
                                        elem_id="restyle-class")
                    invert = invert_radio(model)
                gallery.select(handlers.picked_example, [bound.picker], image, api_name="pick_restyle_image",
                               api_visibility="private")
                needs = gr.Markdown(restyling.NEEDS_CLASSES, visible=not conditional, elem_id="restyle-needs")
                button = gr.Button("Restyle", variant="primary", interactive=conditional, elem_id="restyle-button")
                gr.Markdown("z = encode(x | its class), then decode(z | y) for every class y: the same hand, every "
                            "digit. Its class is the one picked, or the one the model's Bayes classifier chooses.")
            with gr.Column(scale=3):
                results = output_image("Decoded under each class, with its bits/dim under that class",
                                       "restyle-output")
                note = gr.Markdown(label="note", elem_id="restyle-note")
        images_checked(button.click, [(image, "image")], "restyle").success(
            restyling.restyle, [bound.picker, image, label, invert], [results, note], api_name="restyle")
    bound.singles.append((image, 1))
    bound.inverts.append(invert)
    bound.galleries.append(gallery)
    bound.followers += [(label, restyling.follow_label),
                        (needs, lambda loaded: gr.update(visible=loaded.model.num_classes is None)),
                        (button, lambda loaded: gr.update(interactive=loaded.model.num_classes is not None))]
