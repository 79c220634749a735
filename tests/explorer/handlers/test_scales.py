"""explorer.handlers.scales: the Per-scale reconstruction and Mix scales tabs (captions, the exact
columns, the latent sizes in the note) and the example that fills image A or B."""
import types

import gradio as gr
import numpy as np
import pytest
from PIL import Image

from explorer.handlers.scales import fill_pair, latent_sizes, mix_scales, per_scale

from helpers import tiny_model
from tiny_registry import example


def pixels(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB")).astype(int)


def test_latent_sizes_name_the_finest_and_the_coarsest_scale():
    assert latent_sizes(tiny_model(1, 8, 2), 8, 8) == "scale 0 (finest): 2×4×4; scale 1 (coarsest): 2×4×4"
    assert latent_sizes(tiny_model(1, 8, 3), 8, 8) == ("scale 0 (finest): 2×4×4; scale 1: 4×2×2; "
                                                       "scale 2 (coarsest): 4×2×2")


def test_per_scale_keeps_the_coarse_scales_and_resamples_or_zeroes_the_rest(use_tiny_registry, tmp_path):
    image = str(example(tmp_path / "image.png", seed=2))
    items, note = per_scale("grey", image, mode="resample", temperature=1.0, seed=0)
    assert [caption for _, caption in items] == ["input (8×8)", "all scales (exact)", "1 coarsest scale",
                                                 "no scale kept"]
    shown = [pixels(path) for path, _ in items]
    assert np.abs(shown[0] - shown[1]).max() <= 1  # keeping every scale is the input again
    error = float(note.split("= ")[1].split(" ")[0])
    assert 0 <= error < 1e-4 and "resampled at temperature 1.00" in note and "the model has 2 scales" in note
    zero, note = per_scale("grey", image, mode="zero")
    assert "set to zero" in note and np.array_equal(pixels(zero[1][0]), shown[1])
    assert not np.array_equal(pixels(zero[3][0]), shown[3])  # nothing kept: zeros, not the resampled latents
    _, note = per_scale("cond", image, class_choice="1")
    assert note.split(" Conditioned on ")[1].startswith("class 1.")
    with pytest.raises(gr.Error, match="mode"):
        per_scale("grey", image, mode="blur")
    with pytest.raises(gr.Error, match="Temperature must lie between 0 and 1.5"):
        per_scale("grey", image, temperature=2.0)


def test_mixing_scales_goes_from_a_to_b(use_tiny_registry, tmp_path):
    a, b = (str(example(tmp_path / f"{name}.png", seed)) for name, seed in (("a", 4), ("b", 5)))
    items, note = mix_scales("grey", a, b)
    assert [caption for _, caption in items] == ["A (8×8)", "B", "k = 2: all from A", "k = 1: 1 coarse A + 1 fine B",
                                                 "k = 0: all from B"]
    image_a, image_b, all_a, middle, all_b = (pixels(path) for path, _ in items)
    assert np.abs(all_a - image_a).max() <= 1 and np.abs(all_b - image_b).max() <= 1
    assert np.abs(middle - image_a).max() > 0 and np.abs(middle - image_b).max() > 0
    assert "scale 0 (finest): 2×4×4; scale 1 (coarsest): 2×4×4" in note
    wide = tmp_path / "wide.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (6, 10), dtype=np.uint8)).save(wide)
    items, _ = mix_scales("grey", str(wide), b, resolution="own")
    assert items[0][1] == "A (10×6)" and all(pixels(path).shape == pixels(items[0][0]).shape for path, _ in items)
    _, note = mix_scales("cond", a, b, class_choice="2")
    assert "Both decoded as class 2." in note
    with pytest.raises(gr.Error, match="Image B is empty"):
        mix_scales("grey", a, None)


def test_an_example_fills_the_target_image_and_the_other_becomes_the_target(use_tiny_registry):
    examples = [str(p) for p in use_tiny_registry.load("grey").examples]
    a, b, target = fill_pair("grey", "A", types.SimpleNamespace(index=1))
    assert a == examples[1] and b == gr.update() and target == "B"
    a, b, target = fill_pair("grey", "B", types.SimpleNamespace(index=2))
    assert a == gr.update() and b == examples[2] and target == "A"
