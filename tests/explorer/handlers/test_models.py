"""explorer.handlers.models: `/model_info` (defaulting to the app's default model) and a model's
description with its classifier figures."""
from explorer.handlers.models import describe, model_info_endpoint

from tiny_registry import CLASSIFIER


def test_model_info_describes_the_default_model_unless_told_otherwise(use_tiny_registry):
    model_info = model_info_endpoint("grey")
    info = model_info()
    assert (info["name"], info["requested"], info["message"], info["source"]) == ("grey", "grey", "", "bundled")
    assert (info["channels"], info["image_size"], info["num_scales"], info["num_classes"]) == (1, 8, 2, None)
    assert info["size_multiple"] == 2 and info["dataset"] == "toy" and info["mean_test_bpd"] == 6.0
    assert info["examples"] == ["digit0_0.png", "digit0_1.png", "digit1_0.png", "digit1_1.png"]
    assert info["classifier"] is None and info["ood_datasets"] == ["other"]
    assert info["description"] == describe(use_tiny_registry.load("grey"))
    rgb = model_info("rgb")
    assert (rgb["channels"], rgb["dataset"], rgb["examples"], rgb["ood_datasets"]) == (3, None, [], [])
    missing = model_info("nope")
    assert missing["name"] == "grey" and missing["requested"] == "nope" and "unknown model 'nope'" in missing["message"]


def test_a_classifiers_figures_join_its_description(use_tiny_registry):
    cond = use_tiny_registry.load("cond")
    text = describe(cond)
    assert text.startswith(use_tiny_registry.describe(cond))
    assert ("As a classifier (Bayes' rule over its exact likelihoods, uniform prior): **accuracy 75.0%**, "
            "expected calibration error 0.050 (15 bins) on the 12 test images.") in text
    assert model_info_endpoint("grey")("cond")["classifier"] == CLASSIFIER
    grey = use_tiny_registry.load("grey")
    assert describe(grey) == use_tiny_registry.describe(grey)  # no classifier, nothing added
