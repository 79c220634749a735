"""The tabs that look inside the flow (issue #28): Layer by layer, Directions."""
from __future__ import annotations

import gradio as gr

from .. import handlers
from ..handlers import directions as handler
from ..validation import MAX_TEMPERATURE
from ..widgets import output_image
from .controls import ModelBound, images_checked, seed_box, single_image_controls


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
