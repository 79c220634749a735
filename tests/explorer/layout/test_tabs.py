"""explorer.layout.tabs: each tab built on its own over tiny models, its button wired to its handler
under its api_name (after the quick image check), with the API's parameters in order; the tabs that
open with results, and the controls that follow the model picker."""
import gradio as gr
import pytest

from explorer import first_visit, handlers
from explorer.layout import tabs
from explorer.layout.controls import ModelBound
from explorer.model_files import distinct_examples

# api_name: (tab, handler, number of inputs (the model picker first), of outputs); the input counts are
# the API's parameters (tests/explorer/test_app_client.py)
WIRING = {
    "sample": (tabs.sample_tab, handlers.sample, 9, 3),
    "manifold": (tabs.interpolate_tab, handlers.manifold, 8, 2),
    "interpolate": (tabs.interpolate_tab, handlers.interpolate, 6, 2),
    "animate": (tabs.interpolate_tab, handlers.animate, 11, 3),
    "per_scale": (tabs.per_scale_tab, handlers.per_scale, 8, 2),
    "mix_scales": (tabs.mix_scales_tab, handlers.mix_scales, 6, 2),
    "likelihood": (tabs.likelihood_tab, handlers.likelihood, 5, 7),
    "complete": (tabs.complete_tab, handlers.complete, 11, 3),
    "completions": (tabs.complete_tab, handlers.completions, 17, 2),
    "classify": (tabs.classify_tab, handlers.classify, 3, 3),
    "ood": (tabs.ood_tab, handlers.ood, 5, 3),
}


def build(registry, tab, name="grey"):
    """`tab` alone on a page, over `registry`'s model `name`; returns (demo, bound, events by api_name)."""
    loaded = registry.load(name)
    with gr.Blocks() as demo:
        picker = gr.Dropdown(registry.names(), value=name, elem_id="model")
        bound = ModelBound(picker, loaded, distinct_examples(loaded.examples, 4))
        tab(bound, demo) if tab is tabs.complete_tab else tab(bound)
    return demo, bound, {fn.api_name: fn for fn in demo.fns.values()}


@pytest.mark.parametrize("api_name", sorted(WIRING))
def test_each_button_runs_its_handler_after_the_image_check(use_tiny_registry, api_name):
    tab, handler, inputs, outputs = WIRING[api_name]
    demo, bound, found = build(use_tiny_registry, tab)
    event = found[api_name]
    assert event.fn is handler and event.api_visibility == "public"
    assert len(event.inputs) == inputs and len(event.outputs) == outputs and event.inputs[0] is bound.picker
    if api_name != "sample":  # the image check first; the handler only when it passes
        check = found[f"check_{api_name}"]
        assert check.outputs == [] and event.trigger_after == check._id and event.trigger_only_on_success


def test_the_sample_and_likelihood_tabs_open_with_results(use_tiny_registry):
    _, _, found = build(use_tiny_registry, tabs.sample_tab)
    grid, note = found["sample"].outputs[0], found["sample"].outputs[2]
    assert grid.value is not None and note.value == first_visit.sample_grid(use_tiny_registry.load("grey"))[1]
    _, bound, found = build(use_tiny_registry, tabs.likelihood_tab)
    heatmap, bpd, *_ = found["likelihood"].outputs
    assert heatmap.value is not None
    assert bpd.value == handlers.likelihood("grey", bound.picks[1], "auto", "auto", "model")[1]  # the button's number
    assert bound.singles[0][1] == 1  # the image that follows the picker: the second pick


def test_the_classify_tab_says_what_it_needs_and_follows_the_model(use_tiny_registry):
    _, bound, found = build(use_tiny_registry, tabs.classify_tab)
    needs, button = (component for component, _ in bound.followers)
    assert needs.visible and not button.interactive  # an unconditional model cannot classify
    cond = use_tiny_registry.load("cond")
    assert [follow(cond) for _, follow in bound.followers] == [gr.update(visible=False), gr.update(interactive=True)]
    _, bound, _ = build(use_tiny_registry, tabs.classify_tab, name="cond")
    needs, button = (component for component, _ in bound.followers)
    assert not needs.visible and button.interactive


def test_the_ood_tab_compares_with_the_models_other_data_sets(use_tiny_registry):
    _, bound, found = build(use_tiny_registry, tabs.ood_tab)
    (other, follow), = bound.followers
    assert other.choices == [("other", "other")] and other.value == "other"
    assert follow(use_tiny_registry.load("rgb")) == gr.update(choices=["auto"], value="auto")
    check = found["check_ood"]
    check.fn(None)  # the image is optional: the figures alone


def test_the_complete_tab_shows_the_rectangle_or_the_brush(use_tiny_registry):
    _, bound, found = build(use_tiny_registry, tabs.complete_tab)
    toggle = found["complete_region"].fn
    assert toggle("brush") == (gr.update(visible=False), gr.update(visible=True))
    assert toggle("rectangle") == (gr.update(visible=True), gr.update(visible=False))
    assert found["complete"].concurrency_limit == found["completions"].concurrency_limit == 1  # long requests
    assert found["erase_preview"].api_visibility == "public"
    assert {f"erase_preview_on_{name}" for name in ("invert", "top", "bottom", "left", "right", "load", "model")} <= set(found)


def test_the_interpolate_tab_has_four_corners_that_follow_the_picker(use_tiny_registry):
    _, bound, found = build(use_tiny_registry, tabs.interpolate_tab)
    assert len(bound.corners) == 4 and [c.elem_id for c in bound.corners] == ["corner1", "corner2", "corner3", "corner4"]
    pick = found["pick_corner"]
    assert pick.fn is handlers.fill_corner and pick.outputs[:4] == bound.corners and pick.api_visibility == "private"
