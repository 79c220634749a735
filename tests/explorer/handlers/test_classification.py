"""explorer.handlers.classification: the Classify tab, Bayes' rule over a class-conditional
model's exact likelihoods, and its refusal of unconditional models."""
import re

import gradio as gr
import numpy as np
import pytest
import torch
from PIL import Image

from explorer import validation
from explorer.handlers.classification import NEEDS_CLASSES, classify
from explorer.handlers.common import NOISE_SEED
from realnvp import classes

from tiny_registry import example


def test_the_posterior_is_bayes_rule_over_the_class_likelihoods(use_tiny_registry, tmp_path):
    image = str(example(tmp_path / "image.png", seed=7))
    chart, confidences, note = classify("cond", image)
    model = use_tiny_registry.load("cond").model
    x = validation.model_input(model, image, "auto")
    with torch.inference_mode():
        log_p = classes.class_log_likelihoods(
            model, model.dequantize(x, generator=torch.Generator().manual_seed(NOISE_SEED))).double()
    posterior = torch.softmax(log_p, 0)
    assert confidences == {str(i): pytest.approx(float(p), abs=1e-6) for i, p in enumerate(posterior)}
    assert sum(confidences.values()) == pytest.approx(1.0, abs=1e-5)
    best = int(posterior.argmax())
    assert re.match(rf"\*\*Class {best}\*\*, p = {posterior[best]:.4f}", note)
    assert "this classifier is 75.0% accurate, with an expected calibration error of 0.050 (15 confidence bins)" in note
    with Image.open(chart) as picture:
        assert picture.format == "PNG" and np.asarray(picture.convert("RGB")).std() > 5
    again = classify("cond", image)[1]
    assert again == confidences  # the dequantization noise is fixed


def test_an_unconditional_model_cannot_classify(use_tiny_registry, tmp_path):
    with pytest.raises(gr.Error, match=re.escape(NEEDS_CLASSES)):
        classify("grey", str(example(tmp_path / "image.png", seed=7)))
    with pytest.raises(gr.Error, match=re.escape(validation.NO_IMAGE)):
        classify("cond", None)
