"""The Likelihood tab: per-pixel bits, bits/dim and its breakdown, the test set's histogram, and
what the bits mean in bytes beside PNG and WebP."""
from __future__ import annotations

import numpy as np
import torch

from realnvp import codecs, likelihood_maps

from .. import figures, validation
from ..images import to_uint8_image
from ..results import save_array, save_png
from ..runtime import compute
from ..validation import user_errors
from .common import NOISE_SEED, get_model, quantized_uint8, suggestion_note

SIZE_HEADERS = ["coding", "bytes", "bits/dim"]
# WebP at its best effort (method 6, realnvp.codecs' default) up to this many values; above, method 5:
# within 1% of method 6's size on photographs and several times faster
WEBP_BEST_EFFORT_VALUES = 4096


@user_errors
@compute
def likelihood(model_name, image, class_choice="auto", invert="auto", resolution="model"):
    """Per-pixel bits (heatmap), bits/dim, its breakdown, and where the image falls among the test images."""
    loaded = get_model(model_name)
    model = loaded.model
    x = validation.model_input(model, image, invert, resolution)
    with torch.inference_mode():
        xd, log_q = model.dequantize_with_log_q(x, generator=torch.Generator().manual_seed(NOISE_SEED))
    y, text = validation.class_label(model, class_choice, xd)
    with torch.inference_mode():
        bits, terms, bpd = likelihood_maps.likelihood_report(model, xd, y=y,
                                                             log_q=log_q if model.dequantizer is not None else None)
    bits = bits.float().cpu().numpy()
    heat = figures.heatmap(to_uint8_image(x), bits, f"bits per value (mean {bpd:.3f})")
    table = [[name, round(value, 6)] for name, value in terms.items()] + [["total (bits/dim)", round(bpd, 6)]]
    h, w = x.shape[2:]
    notes = [f"**{bpd:.4f} bits/dim** for this {w}×{h} image under {loaded.name}" + (f", {text}." if text else ".")]
    if resolution == "own" and model.fixed_image_size:
        notes.append(f"This model has a mean per class in latent space, of its {model.image_size}×{model.image_size} "
                     "latents: it works at that size only, so the image was resized to it.")
    histogram = None
    ref = loaded.reference
    if ref and ref.get("test_bpd"):
        test = np.asarray(ref["test_bpd"], dtype=np.float64)
        more_likely = float((test > bpd).mean()) * 100
        histogram = save_png(figures.histogram(test, bpd), "test-set")
        notes.append(f"It is more likely (fewer bits/dim) than {more_likely:.1f}% of the {len(test):,} "
                     f"`{ref.get('dataset', '?')}` test images (mean {test.mean():.3f}).")
        if resolution == "own" and (h, w) != (model.image_size, model.image_size):
            notes.append(f"The test images are {model.image_size}×{model.image_size}; bits/dim at another "
                         f"resolution compare only roughly.")
    else:
        notes.append("No test-set reference (reference.json) for this model.")
    if model.dequantizer is None:
        notes.append("Dequantization: uniform noise with a fixed seed, as for the test set; the breakdown's terms "
                     "sum to the total.")
    else:
        notes.append("Dequantization: one draw, with a fixed seed as for the test set, of this model's learned noise "
                     "q(u | image) (Flow++, section 3.1); the bits/dim is the bound -log p(x + u) + log q(u | x), "
                     "with log q in the breakdown and in each pixel's bits. The breakdown's terms sum to the total.")
    shown = round(bpd, 6)
    sizes, sizes_note = size_comparison(quantized_uint8(x, model.num_levels), shown)
    notes.append(sizes_note)
    record = codec_record_note(loaded.vs_codecs)
    if record:
        notes.append(record)
    note = "\n\n".join(notes) + suggestion_note(loaded, image)
    return (save_png(heat, "bits-heatmap"), shown, table, histogram, note, save_array(bits.astype(np.float32), "bits"),
            sizes)


def codec_record_note(record: dict | None) -> str:
    """The model's record against WebP on photographs it never saw, by kind, and where it loses
    (from vs_codecs.json); empty without a record."""
    kinds = (record or {}).get("kinds") or {}
    if "all" not in kinds:
        return ""
    parts = [f"{name} {value['ratio']:.2f}x" for name, value in kinds.items() if name != "all"]
    losing = [f"{name} ({value['ratio']:.2f}x)" for name, value in kinds.items() if name != "all" and value["ratio"] > 1]
    count = len(record.get("photographs", []))
    text = (f"**Against WebP on photographs it never saw** ({count} test photographs, every 32×32 crop at two "
            f"scales): this model spends **{kinds['all']['ratio']:.2f}x** WebP's bits overall; by kind: "
            f"{', '.join(parts)}.")
    if losing:
        text += f" It still loses to WebP lossless on {' and '.join(losing)} photographs."
    worst = [f"{name} {ratio:.2f}x" for name, ratio in (record.get("photographs_losing_to_webp") or {}).items()]
    if worst:
        text += f" Test photographs where it loses: {', '.join(worst)}."
    validation = record.get("validation") or {}
    val_kinds = validation.get("kinds") or {}
    val_losing = [f"{name} ({value['ratio']:.2f}x)" for name, value in val_kinds.items()
                  if name != "all" and value["ratio"] > 1]
    if val_losing:
        val_worst = [f"{name} {ratio:.2f}x" for name, ratio in
                     list((validation.get("photographs_losing_to_webp") or {}).items())[:4]]
        text += (f" On the {len(validation.get('photographs', []))} validation photographs (which chose this "
                 f"checkpoint) it loses on {', '.join(val_losing)}"
                 + (f"; worst: {', '.join(val_worst)}" if val_worst else "") + ".")
    return text


def lossless_bytes(pixels: np.ndarray) -> dict[str, tuple[int, str]]:
    """PNG and WebP bytes of a uint8 (C, H, W) image, each with how it was encoded."""
    sizes = {"png": (len(codecs.encode(pixels, "png")), "lossless")}
    if pixels.size <= WEBP_BEST_EFFORT_VALUES:
        sizes["webp"] = (len(codecs.encode(pixels, "webp")), "lossless")
    else:
        sizes["webp"] = (len(codecs.encode(pixels, "webp", webp_method=5)), "lossless, method 5")
    return sizes


def size_comparison(pixels: np.ndarray, bpd: float) -> tuple[list[list], str]:
    """What the bits mean: the image's cost under the flow, bpd × D / 8 bytes (D = C·H·W values of the
    uint8 (C, H, W) image the model scored), beside the same image compressed losslessly as PNG and as
    WebP by Pillow (realnvp.codecs, the trainer's settings; WebP method 5 above
    WEBP_BEST_EFFORT_VALUES values). Rows of SIZE_HEADERS, and a sentence for the note."""
    d = pixels.size
    flow = round(bpd * d / 8, 3)
    rows = [["flow (bits/dim × D / 8)", flow, bpd]]
    sizes = {}
    for codec, (size, how) in lossless_bytes(pixels).items():
        sizes[codec] = size
        rows.append([f"{codecs.CODEC_NAMES[codec]} ({how})", size, round(8 * size / d, 6)])
    c, h, w = pixels.shape
    note = (f"**What the bits mean:** under this flow the image costs **{flow:,.1f} bytes** ({bpd:.4f} bits/dim × "
            f"{d:,} values ({c}×{h}×{w}) / 8), the length of an ideal code driven by the model, with nothing for "
            f"the model itself. The same {w}×{h} image, 8 bits a value, losslessly compressed: **PNG "
            f"{sizes['png']:,} bytes**, **WebP {sizes['webp']:,} bytes** (their file headers included).")
    return rows, note
