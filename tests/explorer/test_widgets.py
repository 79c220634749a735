"""explorer.widgets: the image inputs (uploads reach the app undecoded, only from Gradio's upload
folder), the class and invert controls (shown only where they apply), result images, example
galleries and the better-model suggestion box."""
import types
from pathlib import Path

import gradio as gr
import pytest
from gradio.data_classes import FileData
from gradio.utils import get_upload_folder

from explorer import widgets
from explorer.widgets import ALL_CLASSES, AUTO_CLASS

from helpers import tiny_model


def test_class_choices_and_controls_follow_the_model():
    plain, conditional, colour = tiny_model(1, 8), tiny_model(1, 8, num_classes=3), tiny_model(3, 8)
    assert widgets.class_choices(plain, AUTO_CLASS) == [AUTO_CLASS]
    assert widgets.class_choices(conditional, ALL_CLASSES) == [ALL_CLASSES, ("0", "0"), ("1", "1"), ("2", "2")]
    with gr.Blocks():
        hidden, shown = widgets.class_dropdown(plain, AUTO_CLASS), widgets.class_dropdown(conditional, ALL_CLASSES)
        grey, rgb = widgets.invert_radio(plain), widgets.invert_radio(colour)
    assert not hidden.visible and shown.visible and shown.value == "all" and hidden.value == "auto"
    assert shown.allow_custom_value  # the choices change with the model; the handlers check the value
    assert grey.visible and not rgb.visible and grey.value == "auto"  # inverting is for greyscale models


def test_an_upload_reaches_the_app_as_its_path_from_the_upload_folder_only(tmp_path):
    with gr.Blocks():
        image = widgets.image_input("Image", None, "some-image")
    assert image.type == "filepath" and image.elem_id == "some-image"
    assert "pixelated" in image.elem_classes and "image-input" in image.elem_classes
    uploads = Path(get_upload_folder())
    uploads.mkdir(parents=True, exist_ok=True)
    inside = uploads / "widgets-test-not-an-image.png"
    inside.write_bytes(b"not decoded here")  # explorer.images opens it later, with its own messages
    try:
        assert image.preprocess(FileData(path=str(inside))) == str(inside)
    finally:
        inside.unlink()
    elsewhere = tmp_path / "secret.png"
    elsewhere.write_bytes(b"x")
    with pytest.raises(gr.Error, match="files on the server cannot be named"):
        image.preprocess(FileData(path=str(elsewhere)))
    assert image.preprocess(None) is None


def test_result_images_and_example_galleries(tmp_path):
    examples = [tmp_path / "digit1_0.png", tmp_path / "digit2_0.png"]
    loaded = types.SimpleNamespace(examples=examples)
    assert widgets.example_items(loaded) == [str(p) for p in examples]
    with gr.Blocks():
        result = widgets.output_image("Result", "a-result", height=100)
        gallery = widgets.example_gallery(loaded, "some-examples")
    assert result.type == "numpy" and not result.interactive and result.format == "png"
    assert result.elem_id == "a-result" and "result" in result.elem_classes
    assert gallery.elem_id == "some-examples" and gallery.format == "png" and not gallery.allow_preview
    assert gallery.label == widgets.EXAMPLES_LABEL and len(gallery.value) == 2


def test_the_suggestion_box_is_hidden_until_there_is_a_suggestion():
    with gr.Blocks():
        box = widgets.suggestion_box("likelihood-suggestion")
    assert not box.group.visible and "model-suggestion" in box.group.elem_classes
    assert (box.text.elem_id, box.button.elem_id) == ("likelihood-suggestion-text", "likelihood-suggestion-button")
    assert widgets.suggestion_updates(box, None) == {box.group: gr.update(visible=False)}
    found = types.SimpleNamespace(hint="Better suited: `photos`.", button="Switch to photos")
    assert widgets.suggestion_updates(box, found) == {box.group: gr.update(visible=True),
                                                      box.text: "Better suited: `photos`.",
                                                      box.button: gr.update(value="Switch to photos")}
