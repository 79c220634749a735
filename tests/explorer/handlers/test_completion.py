"""explorer.handlers.completion: the Complete tab's options, grouped and checked before any work."""
import gradio as gr
import pytest
import torch

from explorer.handlers.completion import (MAX_COMPLETIONS, CompletionSettings, Erasure, brush_mask)


def test_settings_are_checked_in_the_order_of_the_controls():
    settings = CompletionSettings.checked("sample", 3, 40, 10, 0.8, 0.2, 5)
    assert settings == CompletionSettings("sample", 3, 40, 10, 0.8, 0.2, 5)
    with pytest.raises(gr.Error, match="method"):
        CompletionSettings.checked("guess", 3, 40, 10, 0.8, 0.2, 5)
    with pytest.raises(gr.Error, match="Number of completions"):
        CompletionSettings.checked("sample", MAX_COMPLETIONS + 1, 40, 10, 0.8, 0.2, 5)
    with pytest.raises(gr.Error, match="Temperature"):
        CompletionSettings.checked("maximize", 1, 40, 10, 0.0, 0.2, 5)


def test_erasure_of_a_rectangle_or_a_brush():
    x = torch.zeros(1, 1, 8, 8)
    mask = Erasure("rectangle", 0.5, 1.0, 0.0, 1.0, None).mask(x)
    assert mask.shape == (1, 1, 8, 8) and mask[..., 4:, :].all() and not mask[..., :4, :].any()
    with pytest.raises(gr.Error, match="region"):
        Erasure("lasso", 0, 1, 0, 1, None)
    with pytest.raises(gr.Error, match="Nothing is painted"):
        Erasure("brush", 0, 1, 0, 1, {"layers": []}).mask(x)
    layer = torch.zeros(16, 16, 4, dtype=torch.uint8).numpy()
    layer[:8, :8, 3] = 255  # the top-left quarter painted
    painted = brush_mask({"layers": [layer]}, 8, 8)
    assert painted[..., :4, :4].all() and painted.sum() == 16
