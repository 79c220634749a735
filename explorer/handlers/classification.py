"""The Classify tab: a class-conditional model as a classifier, by Bayes' rule over its exact likelihoods."""
from __future__ import annotations

import gradio as gr
import torch

from realnvp import classes
from realnvp.preprocess import bits_per_dim

from .. import figures, validation
from ..results import save_png
from ..runtime import compute
from ..validation import user_errors
from .common import NOISE_SEED, get_model, suggestion_note

NEEDS_CLASSES = ("Classification needs a class-conditional model: pick one with classes (e.g. mnist-cond) in "
                 "the model menu.")


@user_errors
@compute
def classify(model_name, image, invert="auto"):
    """The class-conditional model as a classifier: p(y | x) by Bayes' rule over its exact likelihoods."""
    loaded = get_model(model_name)
    model = loaded.model
    if model.num_classes is None:
        raise gr.Error(NEEDS_CLASSES)
    x = validation.model_input(model, image, invert)
    xd = model.dequantize(x, generator=torch.Generator().manual_seed(NOISE_SEED))
    with torch.inference_mode():
        log_p = classes.class_log_likelihoods(model, xd).double().cpu()
    posterior = torch.softmax(log_p, 0)
    labels = [str(i) for i in range(model.num_classes)]
    order = torch.argsort(posterior, descending=True).tolist()
    best, second = order[0], order[1] if len(order) > 1 else order[0]
    d = x[0].numel()
    bpd = bits_per_dim(log_p[best].item(), d, model.num_levels)
    chart = figures.class_bars(posterior.tolist(), log_p.tolist(), labels,
                               title=f"p(class | image): {best} ({posterior[best]:.3f})")
    notes = [f"**Class {best}**, p = {posterior[best]:.4f} (Bayes' rule over the exact likelihoods "
             f"log p(x | y), uniform prior over the {model.num_classes} classes). The image is "
             f"{(log_p[best] - log_p[second]).item():.2f} nats more likely under class {best} than under "
             f"class {second}, the runner-up; {bpd:.4f} bits/dim under class {best}."]
    clf = (loaded.reference or {}).get("classifier")
    if isinstance(clf, dict) and "accuracy" in clf:
        notes.append(f"On the {clf.get('num_images', 0):,} test images this classifier is "
                     f"{clf['accuracy'] * 100:.1f}% accurate, with an expected calibration error of "
                     f"{clf['ece']:.3f} ({clf.get('ece_bins', 15)} confidence bins).")
    notes.append("A likelihood ratio of a few nats already gives a posterior near 1: a generative classifier "
                 "is often very sure, right or wrong.")
    confidences = {label: round(float(p), 6) for label, p in zip(labels, posterior)}
    return (save_png(chart, "class-posterior"), confidences,
            "\n\n".join(notes) + suggestion_note(loaded, image, need_classes=True))
