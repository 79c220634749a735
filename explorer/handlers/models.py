"""The model picker's handlers: a model's description and the `/model_info` endpoint."""
from __future__ import annotations

from ..registry import LoadedModel, app_registry
from .out_of_distribution import ood_choices


def model_info_endpoint(default_model: str):
    """The `/model_info` function, its `model_name` defaulting to the app's default model."""

    def model_info(model_name: str = default_model) -> dict:
        """What a model is: description, where its files came from ("bundled" or "hub"), shape, classes,
        scales, reference test bits/dim, example names, classifier figures (class-conditional models) and
        the data sets of its out-of-distribution figures."""
        loaded = app_registry().load(model_name)
        model = loaded.model
        ref = loaded.reference or {}
        return {"name": loaded.name, "requested": model_name, "message": loaded.message, "source": loaded.source,
                "description": describe(loaded), "channels": model.in_channels,
                "image_size": model.image_size, "num_scales": model.num_scales, "num_classes": model.num_classes,
                "size_multiple": model.size_multiple, "dataset": ref.get("dataset"),
                "mean_test_bpd": ref.get("mean_test_bpd"), "examples": [p.name for p in loaded.examples],
                "classifier": ref.get("classifier"), "ood_datasets": ood_choices(loaded)}

    return model_info


def describe(loaded: LoadedModel) -> str:
    """The registry's description of a model, plus its classifier figures where reference.json has them."""
    text = app_registry().describe(loaded)
    clf = (loaded.reference or {}).get("classifier")
    if isinstance(clf, dict) and {"accuracy", "ece"} <= set(clf):
        text += (f" As a classifier (Bayes' rule over its exact likelihoods, uniform prior): **accuracy "
                 f"{clf['accuracy'] * 100:.1f}%**, expected calibration error {clf['ece']:.3f} "
                 f"({clf.get('ece_bins', 15)} bins) on the {clf.get('num_images', 0):,} test images.")
    return text
