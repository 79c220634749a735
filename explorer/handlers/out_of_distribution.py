"""The Out-of-distribution tab: likelihood and input-complexity-corrected scores against another
data set's (the model's ood.json), an uploaded image placed on both."""
from __future__ import annotations

import gradio as gr
import numpy as np
import torch

from realnvp import ood_scores
from realnvp.codecs import CODEC_NAMES, CODECS

from .. import figures, validation
from .. import ood as ood_lab
from ..registry import LoadedModel
from ..results import save_png
from ..runtime import compute
from ..validation import user_errors
from .common import NOISE_SEED, get_model, quantized_uint8, suggestion_note


def ood_table(data: dict) -> list[list]:
    rows = []
    for entry in data["out"]:
        auc = entry.get("auroc", {})
        rows.append([entry["dataset"], "bits/dim (likelihood)", auc.get("bpd")])
        for codec in CODECS:
            rows.append([entry["dataset"], f"bits/dim − {CODEC_NAMES[codec]} bits/dim", auc.get(codec)])
    return rows


def ood_note_for_value(name: str, value: float, inside: np.ndarray, outside: np.ndarray, own: str, other: str
                       ) -> str:
    share_in = float((inside >= value).mean()) * 100
    share_out = float((outside <= value).mean()) * 100
    return (f"{name} {value:.3f}: {share_in:.1f}% of the `{own}` test images score as high or higher (more "
            f"out of distribution), and {share_out:.1f}% of the `{other}` images as low or lower.")


@user_errors
@compute
def ood(model_name, image=None, invert="auto", other="auto", codec="png"):
    """Bits/dim and the input-complexity-corrected score on the model's test set and another data set's,
    their AUROCs, and an uploaded image placed on both."""
    loaded = get_model(model_name)
    model = loaded.model
    validation.one_of(codec, "codec", CODECS)
    data = ood_lab.read_ood(loaded.directory)
    if data is None:
        note = (f"No precomputed out-of-distribution figures for {loaded.name} (ood.json beside its "
                f"reference.json). For a local model directory: `python -m train.ood --model DIRECTORY`.")
        return None, [], note
    try:
        entry = ood_lab.other_entry(data, other)
    except ValueError as error:
        raise gr.Error(str(error)) from None
    own, other_name = data["in"]["dataset"], entry["dataset"]
    value = corrected = upload_codec = None
    if image not in (None, ""):
        x = validation.model_input(model, image, invert)
        with torch.inference_mode():
            xd, log_q = model.dequantize_with_log_q(x, generator=torch.Generator().manual_seed(NOISE_SEED))
            value = float(ood_scores.marginal_bits_per_dim(model, xd, log_q)[0])
        pixels = quantized_uint8(x, model.num_levels)
        upload_codec = ood_lab.codec_bits_per_dim(pixels, codec)
        corrected = value - upload_codec
    name = CODEC_NAMES[codec]
    auc = entry.get("auroc", {})
    panels = [
        {"title": f"bits/dim: AUROC {auc.get('bpd', float('nan')):.3f}", "xlabel": "bits/dim (model)",
         "inside": ood_lab.scores(data["in"], None), "outside": ood_lab.scores(entry, None),
         "inside_label": f"{own} test ({data['in']['num_images']:,})",
         "outside_label": f"{other_name} ({entry['num_images']:,})", "value": value},
        {"title": f"bits/dim − {name} bits/dim: AUROC {auc.get(codec, float('nan')):.3f}",
         "xlabel": f"model bits/dim − {name} bits/dim", "inside": ood_lab.scores(data["in"], codec),
         "outside": ood_lab.scores(entry, codec), "inside_label": f"{own} test",
         "outside_label": other_name, "value": corrected},
    ]
    chart = figures.ood_histograms(panels)
    notes = [f"`{loaded.name}` on its own `{own}` test images (grey) and on `{other_name}` (orange; "
             f"{entry.get('images', '')}" + (f"; {', '.join(entry['conversion'])}" if entry.get("conversion") else "")
             + f"). AUROC of telling them apart (1 = perfectly, 0.5 = chance, below 0.5 = the wrong way round): "
             f"**{auc.get('bpd', float('nan')):.3f}** by bits/dim, **{auc.get(codec, float('nan')):.3f}** by bits/dim "
             f"minus the {name} bits/dim of the same image."]
    if value is not None:
        notes.append(ood_note_for_value("This image's bits/dim", value, ood_lab.scores(data["in"], None),
                                        ood_lab.scores(entry, None), own, other_name)
                     + f" Its {name} size: {upload_codec:.3f} bits/dim, so its corrected score is "
                       f"{corrected:.3f}. " + ood_note_for_value(
                           "Corrected", corrected, ood_lab.scores(data["in"], codec), ood_lab.scores(entry, codec),
                           own, other_name))
    notes.append("Likelihoods rank simple, smooth images high whatever a model was trained on (Nalisnick et al., "
                 "2019). Subtracting what a general-purpose lossless codec needs for the same image removes "
                 "that input complexity: the rest is what this model knows beyond generic image statistics "
                 "(Serrà et al., 2020). "
                 + ("The conditional model is scored by its mixture over the classes, p(x) = mean_y p(x | y)."
                    if model.num_classes is not None else ""))
    extra = suggestion_note(loaded, image) if value is not None else ""
    return save_png(chart, "ood"), ood_table(data), "\n\n".join(notes) + extra


def ood_choices(loaded: LoadedModel) -> list[str]:
    return ood_lab.others(ood_lab.read_ood(loaded.directory))
