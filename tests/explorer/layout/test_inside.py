"""explorer.layout.inside: the Layer by layer, Directions and Restyle tabs, built on their own over tiny models."""
import types

import gradio as gr

from explorer import handlers
from explorer.handlers import directions, restyle
from explorer.layout import inside
from explorer.layout.controls import ModelBound
from explorer.model_files import MODELS_DIR, distinct_examples


def build(registry, tab, name="grey"):
    loaded = registry.load(name)
    with gr.Blocks() as demo:
        picker = gr.Dropdown(registry.names(), value=name, elem_id="model")
        bound = ModelBound(picker, loaded, distinct_examples(loaded.examples, 4))
        tab(bound)
    return bound, {fn.api_name: fn for fn in demo.fns.values()}


def test_the_layers_tab_traces_an_image_or_a_sample(use_tiny_registry):
    bound, found = build(use_tiny_registry, inside.layers_tab)
    event = found["layers"]
    assert event.fn is handlers.layers and event.api_visibility == "public" and event.inputs[0] is bound.picker
    assert len(event.inputs) == 7 and len(event.outputs) == 4  # image, class, invert, direction, temperature, seed
    check = found["check_layers"]
    assert event.trigger_after == check._id and event.trigger_only_on_success
    check.fn(None)  # decoding a sample needs no image
    assert bound.singles[0][1] == 2 and bound.singles[0][0].elem_id == "layers-image"


def test_the_directions_tab_moves_an_image_and_follows_the_models_classes(use_tiny_registry):
    bound, found = build(use_tiny_registry, inside.directions_tab)
    event, slider = found["direction"], found["direction_slider"]
    assert event.fn is slider.fn is directions.direction and event.api_visibility == "public"
    assert slider.api_visibility == "private" and slider.inputs == event.inputs and len(event.inputs) == 7
    source, target = (component for component, _ in bound.followers)
    assert (source.elem_id, target.elem_id) == ("direction-from", "direction-to")
    assert not source.visible and not target.visible  # the tiny model has no class means
    assert bound.singles[0][1] == 3
    with_means = types.SimpleNamespace(directory=MODELS_DIR / "mnist")  # the bundled class means
    digits = [(str(i), str(i)) for i in range(10)]
    assert [follow(with_means) for _, follow in bound.followers] == [
        gr.update(choices=digits, value="7", visible=True), gr.update(choices=digits, value="1", visible=True)]


def test_the_restyle_tab_needs_a_class_conditional_model_and_follows_the_picker(use_tiny_registry):
    bound, found = build(use_tiny_registry, inside.restyle_tab)
    event = found["restyle"]
    assert event.fn is restyle.restyle and event.api_visibility == "public" and event.inputs[0] is bound.picker
    assert len(event.inputs) == 4 and len(event.outputs) == 2  # image, class, invert
    assert event.trigger_after == found["check_restyle"]._id and event.trigger_only_on_success
    label, needs, button = (component for component, _ in bound.followers)
    assert not label.visible and needs.visible and not button.interactive  # the tiny grey model has no classes
    cond = use_tiny_registry.load("cond")
    assert [follow(cond) for _, follow in bound.followers] == [
        gr.update(choices=[restyle.CHOSEN, ("0", "0"), ("1", "1"), ("2", "2")], value="auto", visible=True),
        gr.update(visible=False), gr.update(interactive=True)]
    bound, _ = build(use_tiny_registry, inside.restyle_tab, name="cond")
    label, needs, button = (component for component, _ in bound.followers)
    assert label.visible and not needs.visible and button.interactive
