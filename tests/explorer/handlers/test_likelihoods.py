"""explorer.handlers.likelihoods: the Likelihood tab (per-pixel bits, bits/dim and its breakdown,
the test set's histogram), the image in bytes beside PNG and WebP, and the model's record against
WebP by kind of photograph (vs_codecs.json)."""
import re

import numpy as np
import pytest
import torch
from PIL import Image

from explorer import validation
from explorer.handlers.common import NOISE_SEED, quantized_uint8
from explorer.handlers.likelihoods import (SIZE_HEADERS, WEBP_BEST_EFFORT_VALUES, codec_record_note, likelihood,
                                           lossless_bytes, size_comparison)
from explorer.model_files import read_vs_codecs
from realnvp import codecs

from helpers import noise
from tiny_registry import TEST_BPD, example


def record(**ratios):
    kinds = {name: {"crops": 10, "model": r, "webp": 1.0, "png": 1.2, "ratio": r} for name, r in ratios.items()}
    return {"protocol": "p", "split": "test", "photographs": ["a", "b", "c"], "kinds": kinds}


def test_the_note_gives_every_kind_and_names_the_kinds_it_loses_on():
    note = codec_record_note(record(smooth=1.25, textured=0.81, people=0.97, **{"all": 0.93}))
    assert "3 test photographs" in note and "**0.93x** WebP's bits overall" in note
    assert "smooth 1.25x, textured 0.81x, people 0.97x" in note
    assert note.endswith("It still loses to WebP lossless on smooth (1.25x) photographs.")
    winning = codec_record_note(record(smooth=0.9, textured=0.8, **{"all": 0.85}))
    assert "loses" not in winning
    assert codec_record_note(None) == "" and codec_record_note({"kinds": {}}) == ""


def test_the_note_names_the_photographs_and_the_validation_kinds_it_loses_on():
    test = record(smooth=0.9, **{"all": 0.9})
    test["photographs_losing_to_webp"] = {"smarties": 1.117, "home": 1.037}
    test["validation"] = record(smooth=1.15, people=1.25, textured=0.88, **{"all": 1.01})
    test["validation"]["photographs_losing_to_webp"] = {"fog": 2.06, "facade": 1.75, "group": 1.67, "lake": 1.11,
                                                        "kite": 1.01}
    note = codec_record_note(test)
    assert "Test photographs where it loses: smarties 1.12x, home 1.04x." in note
    assert ("On the 3 validation photographs (which chose this checkpoint) it loses on smooth (1.15x), people (1.25x);"
            " worst: fog 2.06x, facade 1.75x, group 1.67x, lake 1.11x.") in note


def test_the_bundled_photos_model_carries_its_record_from_load():
    from explorer.registry import ModelRegistry

    loaded = ModelRegistry().load("photos")
    assert loaded.vs_codecs == read_vs_codecs(loaded.directory)  # read once, when the model loads
    note = codec_record_note(loaded.vs_codecs)
    assert set(loaded.vs_codecs["kinds"]) >= {"smooth", "textured", "people", "man-made", "all"}
    assert f"**{loaded.vs_codecs['kinds']['all']['ratio']:.2f}x** WebP's bits overall" in note


# ----------------------------------------------------------------------------- the tab's handler
def test_the_bits_the_breakdown_and_the_place_among_the_test_images(use_tiny_registry, tmp_path):
    image = str(example(tmp_path / "image.png", seed=3))
    heat, bpd, table, histogram, note, bits_file, sizes = likelihood("grey", image)
    model = use_tiny_registry.load("grey").model
    x = validation.model_input(model, image, "auto")
    xd = model.dequantize(x, generator=torch.Generator().manual_seed(NOISE_SEED))
    with torch.inference_mode():
        assert bpd == pytest.approx(model.bits_per_dim(xd).item(), abs=1e-5)  # the fixed noise: the test set's way
    bits = np.load(bits_file)
    assert bits.shape == (8, 8) and bits.mean() == pytest.approx(bpd, abs=1e-4)
    rows = dict(table)
    assert rows.pop("total (bits/dim)") == bpd and sum(rows.values()) == pytest.approx(bpd, abs=1e-5)
    share = float(re.search(r"more likely \(fewer bits/dim\) than ([0-9.]+)% of the 3 `toy` test images", note)[1])
    assert share == pytest.approx(100 * np.mean(np.asarray(TEST_BPD) > bpd), abs=0.1)
    assert f"**{bpd:.4f} bits/dim** for this 8×8 image under grey." in note
    for picture in (heat, histogram):
        with Image.open(picture) as shown:
            assert shown.format == "PNG"
    assert sizes == size_comparison(quantized_uint8(x, 256), bpd)[0]
    assert likelihood("grey", image)[1] == bpd  # the same image, the same number


def test_a_model_with_learned_noise_reports_the_bound_with_log_q(use_tiny_registry, tmp_path):
    image = str(example(tmp_path / "rgb.png", 5, channels=3))
    _, bpd, table, _, note, bits_file, _ = likelihood("rgb", image)
    model = use_tiny_registry.load("rgb").model
    x = validation.model_input(model, image, "auto")
    with torch.inference_mode():
        figure = model.discrete_bits_per_dim(x, generator=torch.Generator().manual_seed(NOISE_SEED)).item()
        flow_only = model.bits_per_dim(model.dequantize(x, generator=torch.Generator().manual_seed(NOISE_SEED))).item()
    assert bpd == pytest.approx(figure, abs=1e-5) and abs(figure - flow_only) > 1e-3
    rows = dict(table)
    assert rows["learned dequantization noise (log q)"] != 0
    assert rows.pop("total (bits/dim)") == bpd and sum(rows.values()) == pytest.approx(bpd, abs=1e-5)
    assert np.load(bits_file).mean() == pytest.approx(bpd, abs=1e-4)
    assert "learned noise q(u | image)" in note


def test_without_a_reference_there_is_no_histogram_and_other_sizes_are_flagged(use_tiny_registry, tmp_path):
    _, _, _, histogram, note, bits_file, _ = likelihood("rgb", str(example(tmp_path / "a.png", 1, channels=3)))
    assert histogram is None and "No test-set reference (reference.json) for this model." in note
    assert np.load(bits_file).shape == (8, 8)
    wide = tmp_path / "wide.png"
    Image.fromarray(noise((6, 12))).save(wide)
    _, _, _, _, note, bits_file, _ = likelihood("grey", str(wide), resolution="own")
    assert np.load(bits_file).shape == (6, 12) and "for this 12×6 image" in note
    assert "The test images are 8×8; bits/dim at another resolution compare only roughly." in note
    _, _, _, _, note, _, _ = likelihood("cond", str(wide), class_choice="2")
    assert "under cond, class 2." in note


def test_the_bits_in_bytes_beside_png_and_webp():
    pixels = noise((1, 8, 8))
    rows, note = size_comparison(pixels, 7.5)
    assert len(SIZE_HEADERS) == 3 and all(len(row) == 3 for row in rows)
    (name, flow, flow_bpd), png, webp = rows
    assert (flow, flow_bpd) == (7.5 * 64 / 8, 7.5) and name.startswith("flow")
    assert png[1] == len(codecs.encode(pixels, "png")) and png[2] == pytest.approx(8 * png[1] / 64, abs=1e-6)
    assert webp[1] == len(codecs.encode(pixels, "webp")) and webp[0] == "WebP (lossless)"
    assert f"**PNG {png[1]:,} bytes**, **WebP {webp[1]:,} bytes**" in note and "(1×8×8)" in note


def test_large_images_use_webps_faster_method():
    small, large = noise((1, 8, 8)), noise((3, 48, 48))
    assert large.size > WEBP_BEST_EFFORT_VALUES >= small.size
    assert lossless_bytes(small)["webp"] == (len(codecs.encode(small, "webp")), "lossless")
    assert lossless_bytes(large)["webp"] == (len(codecs.encode(large, "webp", webp_method=5)), "lossless, method 5")
    assert lossless_bytes(large)["png"] == (len(codecs.encode(large, "png")), "lossless")
