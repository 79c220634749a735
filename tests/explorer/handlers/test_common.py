"""explorer.handlers.common: the model by name (the default, with a warning, when it cannot be
had), result pictures, quantized pixels, the suggestion that never stops an event, and the example
picked from a gallery."""
import types

import numpy as np
import pytest
import torch
from PIL import Image

from explorer import suggestions
from explorer.handlers import common
from explorer.images import for_display


def test_a_model_by_name_or_the_default_with_a_warning(use_tiny_registry):
    assert common.get_model("cond").name == "cond"
    assert common.get_model(None).name == common.get_model("").name == "grey"  # the default
    with pytest.warns(UserWarning, match="unknown model 'nope'"):
        loaded = common.get_model("nope")
    assert loaded.name == "grey" and loaded.fell_back and loaded.requested == "nope"


def test_a_picture_is_a_new_png_enlarged_for_display():
    image = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    first, second = common.picture(image, "test"), common.picture(image, "test")
    assert first != second  # a file of its own each time
    with Image.open(first) as saved:
        assert saved.format == "PNG"
        assert np.array_equal(np.asarray(saved.convert("RGB")), for_display(image))


def test_model_inputs_back_to_their_levels():
    levels = torch.tensor([0, 1, 128, 255], dtype=torch.float32).reshape(1, 1, 2, 2)
    assert np.array_equal(common.quantized_uint8(levels / 255, 256), levels[0].numpy().astype(np.uint8))
    assert common.quantized_uint8(torch.tensor([[[[-0.5, 1.5]]]]), 256).tolist() == [[[0, 255]]]  # clamped
    sixteen = torch.arange(17, dtype=torch.float32)[None, None, None] / 16  # 17 grey levels
    assert common.quantized_uint8(sixteen, 17).tolist() == [[list(range(17))]]


def test_a_suggestion_never_stops_an_event(use_tiny_registry, monkeypatch, caplog):
    loaded = use_tiny_registry.load("grey")
    found = types.SimpleNamespace(note="Try another model.")
    asked = []
    monkeypatch.setattr(suggestions, "suggest",
                        lambda registry, model, images, need_classes: asked.append((model, images, need_classes))
                        or found)
    assert common.suggestion(loaded, "image.png", need_classes=True) is found
    assert asked == [(loaded, ("image.png",), True)]
    assert common.suggestion_note(loaded, "image.png") == "\n\nTry another model."

    def broken(*args, **kwargs):
        raise RuntimeError("no")

    monkeypatch.setattr(suggestions, "suggest", broken)
    assert common.suggestion(loaded, "image.png") is None and common.suggestion_note(loaded) == ""
    assert "could not work out a model suggestion" in caplog.text
    monkeypatch.setattr(suggestions, "suggest", lambda *args, **kwargs: None)
    assert common.suggestion_note(loaded, "image.png") == ""


def test_the_picked_example_is_the_models_example_at_the_index(use_tiny_registry):
    examples = use_tiny_registry.load("grey").examples
    assert common.picked_example("grey", types.SimpleNamespace(index=2)) == str(examples[2])
    assert common.picked_example("grey", types.SimpleNamespace(index=[3, 0])) == str(examples[3])  # (row, column)
