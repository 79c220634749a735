"""explorer.layout.controls: what the tabs are built from (the components that follow the model
picker, one-image controls, the better-model offer, the quick image check before a handler, the
seed box), on a page of tiny models."""
import gradio as gr
import pytest

from explorer import handlers
from explorer.layout.controls import ModelBound, images_checked, offer_better_model, seed_box, single_image_controls
from explorer.model_files import distinct_examples
from explorer.validation import MAX_SEED, NO_IMAGE

from tiny_registry import example


def events(demo) -> dict:
    return {fn.api_name: fn for fn in demo.fns.values()}


def bound_over(registry, name="grey") -> ModelBound:
    loaded = registry.load(name)
    picker = gr.Dropdown(registry.names(), value=name, elem_id="model")
    return ModelBound(picker, loaded, distinct_examples(loaded.examples, 4))


def test_one_image_controls_follow_the_picker_and_fill_from_the_gallery(use_tiny_registry):
    with gr.Blocks() as demo:
        bound = bound_over(use_tiny_registry)
        image, class_choice, invert = single_image_controls(bound, 2, "thing")
    assert image.elem_id == "thing-image" and image.value["path"].endswith("digit0_1.png")  # picks[2]
    assert bound.singles == [(image, 2)] and bound.classes == [class_choice] and bound.inverts == [invert]
    assert len(bound.galleries) == 1 and bound.galleries[0].elem_id == "thing-examples"
    assert not class_choice.visible and invert.visible  # an unconditional greyscale model
    found = events(demo)
    pick = found["pick_thing_image"]
    assert pick.fn is handlers.picked_example and pick.inputs == [bound.picker] and pick.outputs == [image]
    assert pick.api_visibility == "private"
    offer = found["select_model_offer_on_thing_image"]  # the suggestion box follows the image
    assert offer.inputs == [bound.picker, image] and offer.api_visibility == "private"
    assert [o.box for o in bound.offers] == [bound.offers[0].box] and bound.offers[0].images == (image,)


def test_an_offer_shows_or_hides_its_box(use_tiny_registry, monkeypatch):
    with gr.Blocks():
        bound = bound_over(use_tiny_registry)
        image = gr.Image(elem_id="an-image")
        offer = offer_better_model(bound, (image,), "an-offer", need_classes=True)
    asked = []
    monkeypatch.setattr(handlers, "suggestion", lambda loaded, *images, need_classes: asked.append(
        (loaded.name, images, need_classes)))
    assert offer.updates("cond", "photo.png") == {offer.box.group: gr.update(visible=False)}
    assert asked == [("cond", ("photo.png",), True)]


def test_images_are_checked_before_the_handler_runs(tmp_path):
    with gr.Blocks() as demo:
        needed, optional = gr.Image(), gr.Image()
        button = gr.Button()
        images_checked(button.click, [(needed, "Image A"), (optional, "Image B")], "thing", optional=(optional,))
    check = events(demo)["check_thing"]
    assert check.inputs == [needed, optional] and check.outputs == [] and check.api_visibility == "private"
    picture = str(example(tmp_path / "a.png", 0))
    check.fn(picture, None)  # the optional one may be missing
    check.fn(picture, picture)
    with pytest.raises(gr.Error, match="Image A is empty: upload an image or pick an example."):
        check.fn(None, picture)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    with pytest.raises(gr.Error, match="Image B: "):
        check.fn(picture, str(broken))
    with gr.Blocks() as demo:
        image = gr.Image()
        images_checked(gr.Button().click, [(image, "image")], "other")
    with pytest.raises(gr.Error, match=NO_IMAGE):
        events(demo)["check_other"].fn(None)


def test_the_seed_box_takes_whole_numbers_in_range():
    with gr.Blocks():
        box = seed_box("Seed of the noise")
    assert (box.value, box.precision, box.minimum, box.maximum, box.label) == (0, 0, 0, MAX_SEED, "Seed of the noise")
