"""explorer.layout.page: the whole page builds over any registry (here of tiny models) with every
event under its api_name, and picking a model updates what follows the picker."""
import gradio as gr
import pytest

from explorer import handlers
from explorer.layout import page
from explorer.widgets import ALL_CLASSES, AUTO_CLASS, class_choices

# Every api_name of the page as it is (public: the API; private: the page's own events). New
# events may join; none of these may go.
PUBLIC = {"sample", "manifold", "interpolate", "animate", "per_scale", "mix_scales", "likelihood", "erase_preview",
          "complete", "completions", "classify", "ood", "layers", "direction", "restyle", "model_info"}
OFFERED = ("per_scale", "mix", "likelihood", "complete", "classify", "ood", "layers", "direction", "restyle")
PRIVATE = {
    *(f"check_{name}" for name in ("manifold", "interpolate", "animate", "per_scale", "mix_scales", "likelihood",
                                   "complete", "completions", "classify", "ood", "layers", "direction", "restyle")),
    *(f"pick_{name}_image" for name in ("per_scale", "likelihood", "complete", "classify", "ood", "layers",
                                        "direction", "restyle")),
    "pick_corner", "pick_mix", "complete_region", "direction_slider", "select_model", "select_model_offers",
    *(f"erase_preview_on_{name}" for name in ("invert", "top", "bottom", "left", "right", "load", "model")),
    *(f"brush_canvas_on_{name}" for name in ("image", "invert", "load", "model")),
    *(f"select_model_offer_on_{name}" for name in ("per_scale_image", "mix_a", "mix_b", "likelihood_image",
                                                   "complete_image", "classify_image", "ood_image", "layers_image",
                                                   "direction_image", "restyle_image")),
    *(f"select_model_{name}_suggestion_button" for name in OFFERED),
    *(f"select_model_offers_{name}_suggestion_button" for name in OFFERED),
}


@pytest.fixture(scope="module")
def built(tiny_registry):
    with pytest.MonkeyPatch.context() as patch:
        from tiny_registry import use_registry

        use_registry(patch, tiny_registry)
        demo = page.build_page()
        yield demo, {fn.api_name: fn for fn in demo.fns.values()}, patch


def test_the_page_builds_with_every_event_under_its_api_name(built):
    demo, found, _ = built
    public = {name for name, fn in found.items() if fn.api_visibility == "public"}
    assert all(fn.api_name for fn in demo.fns.values()) and len(found) == len(demo.fns)  # each named, once
    assert PUBLIC <= public and PRIVATE <= set(found) and not PRIVATE & public
    assert demo.title == page.TITLE and demo.delete_cache == page.DELETE_CACHE


def test_picking_a_model_updates_what_follows_the_picker(built, tiny_registry):
    demo, found, _ = built
    switch = found["select_model"]
    assert switch.inputs[0].elem_id == "model" and switch.inputs[0].choices == [(n, n) for n in tiny_registry.names()]
    updates = switch.fn("cond")
    by_id = {getattr(component, "elem_id", None): value for component, value in updates.items()}
    assert by_id["model-description"] == handlers.describe(tiny_registry.load("cond"))
    assert by_id["sample-class"] == gr.update(choices=class_choices(tiny_registry.load("cond").model, ALL_CLASSES),
                                              value="all", visible=True)
    classes = [value for component, value in updates.items() if isinstance(component, gr.Dropdown)
               and value.get("choices") == class_choices(tiny_registry.load("cond").model, AUTO_CLASS)]
    assert len(classes) >= 5  # every one-image tab's class menu, shown for a class-conditional model
    assert by_id["classify-needs"] == gr.update(visible=False)
    assert by_id["corner1"] is None  # the tiny cond model has no examples: the corners empty
    back = {getattr(c, "elem_id", None): v for c, v in switch.fn("grey").items()}
    assert back["corner1"].endswith("digit0_0.png") and back["corner3"].endswith("digit0_1.png")
    assert back["sample-class"]["visible"] is False
