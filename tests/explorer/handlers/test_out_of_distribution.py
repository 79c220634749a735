"""explorer.handlers.out_of_distribution: the Out-of-distribution tab over a model's ood.json (the
AUROC table, the two histograms, an uploaded image placed on both) and its refusals."""
import re

import gradio as gr
import numpy as np
import pytest
from PIL import Image

from explorer.handlers.likelihoods import likelihood
from explorer.handlers.out_of_distribution import ood, ood_choices, ood_note_for_value, ood_table

from tiny_registry import OOD, example


def test_the_table_has_one_row_per_score_and_data_set():
    assert ood_table(OOD) == [["other", "bits/dim (likelihood)", 1.0], ["other", "bits/dim − PNG bits/dim", 0.875],
                              ["other", "bits/dim − WebP bits/dim", 0.75]]
    assert ood_table({"out": [{"dataset": "x"}]})[0] == ["x", "bits/dim (likelihood)", None]  # no AUROC yet


def test_a_value_is_placed_among_both_data_sets():
    inside, outside = np.array([4.0, 4.5, 5.0, 5.5]), np.array([6.0, 7.0, 8.0, 9.0])
    assert ood_note_for_value("It", 5.0, inside, outside, "own", "other") == (
        "It 5.000: 50.0% of the `own` test images score as high or higher (more out of distribution), and 0.0% of "
        "the `other` images as low or lower.")
    assert "100.0% of the `other` images" in ood_note_for_value("It", 9.0, inside, outside, "own", "other")


def test_the_figures_alone_and_with_an_image(use_tiny_registry, tmp_path):
    assert ood_choices(use_tiny_registry.load("grey")) == ["other"] and ood_choices(use_tiny_registry.load("rgb")) == []
    chart, table, note = ood("grey", None, other="auto", codec="webp")
    assert table == ood_table(OOD) and "This image" not in note
    assert "**1.000** by bits/dim, **0.750** by bits/dim minus the WebP bits/dim" in note
    with Image.open(chart) as picture:
        assert picture.format == "PNG" and np.asarray(picture.convert("RGB")).std() > 5
    image = str(example(tmp_path / "image.png", seed=5))
    _, _, note = ood("grey", image, other="other", codec="png")
    value = float(re.search(r"This image's bits/dim ([0-9.]+)", note)[1])
    assert value == pytest.approx(likelihood("grey", image)[1], abs=1e-3)  # the Likelihood tab's image and noise
    png = float(re.search(r"Its PNG size: ([0-9.]+) bits/dim", note)[1])
    corrected = float(re.search(r"so its corrected score is (-?[0-9]+\.[0-9]+)", note)[1])
    assert corrected == pytest.approx(value - png, abs=2e-3)
    _, _, cond_note = ood("cond", None)
    assert "No precomputed out-of-distribution figures for cond" in cond_note  # figures are per model


def test_refusals_and_models_without_figures(use_tiny_registry, tmp_path):
    chart, table, note = ood("rgb", None)
    assert chart is None and table == [] and "`python -m train.ood --model DIRECTORY`" in note
    with pytest.raises(gr.Error, match="no precomputed figures for 'cifar10'; choose one of other"):
        ood("grey", None, other="cifar10")
    with pytest.raises(gr.Error, match="codec"):
        ood("grey", None, codec="gif")

