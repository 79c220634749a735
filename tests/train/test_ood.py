"""train.ood, the out-of-distribution figures behind the app's OOD tab: the bundled ood.json files
recomputed (their AUROCs and shares from their own bits/dim, their bits/dim and codec figures from
the models and the data where the data are offline), and the command on a tiny model whose every
figure is computed here independently."""
import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import TensorDataset

from helpers import tiny_model
from realnvp import RealNVP
from train import ood
from realnvp.codecs import codec_bits_per_dim
from train.evaluation import EVAL_NOISE_SEED, dequantization_note, per_image_bpd

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = sorted(path.parent for path in (ROOT / "assets" / "models").glob("*/ood.json"))


def pairwise_auroc(scores_in, scores_out) -> float:
    """P(out > in) + P(out = in) / 2 over all pairs, by brute force (not ood_scores.auroc's ranks)."""
    s_in, s_out = np.asarray(scores_in, np.float64), np.asarray(scores_out, np.float64)
    diff = s_out[:, None] - s_in[None, :]
    return float(((diff > 0) + 0.5 * (diff == 0)).mean())


def entry_scores(entry, codec):
    bpd = np.asarray(entry["bpd"], np.float64)
    return bpd if codec is None else bpd - np.asarray(entry["codec_bpd"][codec], np.float64)


def test_the_bundled_models_have_ood_figures():
    assert {path.name for path in BUNDLED} >= {"mnist", "mnist-cond", "photos"}


@pytest.mark.parametrize("directory", BUNDLED, ids=lambda path: path.name)
def test_bundled_figures_name_the_noise_their_model_dequantizes_with(directory):
    """A model with learned noise stores bounds (-log p + log q): its files must say so, and a
    uniform-noise model's must not (a file left from another model fails)."""
    config = json.loads((directory / "config.json").read_text())
    learned = SimpleNamespace(dequantizer=object() if config.get("dequantizer_hidden") else None)
    for name in ("ood.json", "reference.json"):
        assert json.loads((directory / name).read_text())["dequantization"] == dequantization_note(learned), name


@pytest.mark.parametrize("directory", BUNDLED, ids=lambda path: path.name)
def test_bundled_ood_figures_follow_from_their_bits_per_dim(directory):
    """Every AUROC and share in ood.json, recomputed from the file's own per-image figures (a file
    whose figures were edited or mixed from two runs fails); the in-distribution bits/dim are
    reference.json's test figures where the whole test split was scored."""
    data = json.loads((directory / "ood.json").read_text())
    reference = json.loads((directory / "reference.json").read_text())
    inside = data["in"]
    assert data["model_dataset"] == reference["dataset"] == inside["dataset"]
    for entry in [inside, *data["out"]]:
        assert entry["num_images"] == len(entry["bpd"]) == len(entry["codec_bpd"]["png"]) == \
            len(entry["codec_bpd"]["webp"]) > 0
        assert all(math.isfinite(v) and v > 0 for v in entry["bpd"])
    for entry in data["out"]:
        assert set(entry["auroc"]) == {"bpd", "png", "webp"}
        for key, codec in (("bpd", None), ("png", "png"), ("webp", "webp")):
            expected = pairwise_auroc(entry_scores(inside, codec), entry_scores(entry, codec))
            assert entry["auroc"][key] == pytest.approx(expected, abs=5e-5 + 1e-12), (entry["dataset"], key)
        share = float(np.mean(np.asarray(entry["bpd"]) < np.median(inside["bpd"])))
        assert entry["more_likely_than_median"] == pytest.approx(share, abs=5e-5 + 1e-12), entry["dataset"]
    model = json.loads((directory / "config.json").read_text())
    if inside["images"].startswith(f"{inside['dataset']} test split") and "all " in inside["images"]:
        assert inside["num_images"] == reference["num_images"]
        stored, exact = np.asarray(inside["bpd"]), np.asarray(reference["test_bpd"])
        if model.get("num_classes") is None:
            # the same images, the same dequantization noise: the same figures (rounded to 5 decimals)
            assert np.abs(stored - exact).max() <= 5e-6 + 1e-9
        else:
            # scored without the label: log mean_y p(x | y) >= log p(x | y_true) - log K, with equality
            # where the posterior is certain; beside the files' rounding (5e-6), float32 leaves up to
            # ~1e-3 nats (2e-6 bits/dim at D = 784) between a model's one-pass scores of every class
            # (conditioning "latent_means") and log_prob under one label
            d = model["in_channels"] * model["image_size"] ** 2
            assert (stored <= exact + math.log2(model["num_classes"]) / d + 5e-6 + 2e-6).all()
            assert np.abs(stored - exact).max() > 1e-3  # and it is not the labelled figure


@pytest.fixture(scope="module")
def mnist_test_images():
    images, what = ood.test_images("mnist5k", 28, "data")
    assert images.shape == (1000, 1, 28, 28) and images.dtype == torch.uint8 and what == "mnist5k test split"
    return images


@pytest.mark.parametrize("name, count", [("mnist", 40), ("mnist-cond", 5)])
def test_bundled_mnist_figures_are_the_models(mnist_test_images, name, count):
    """The stored in-distribution figures of the digit models, recomputed from the model and the
    offline test images (the first `count`: the evaluation noise is drawn in order, so a prefix of
    the first batch gets the same noise): a stale file, left from an earlier model, fails."""
    directory = ROOT / "assets" / "models" / name
    data = json.loads((directory / "ood.json").read_text())
    model = RealNVP.from_pretrained(directory).eval()
    images = mnist_test_images[:count]
    bpd = ood.model_bpd(model, images, batch_size=200)
    assert np.abs(np.asarray(bpd) - data["in"]["bpd"][:count]).max() <= 5e-6 + 1e-6  # rounding, float32
    for codec in ("png", "webp"):
        figures = [round(float(v), 5) for v in codec_bits_per_dim(images, codec)]
        assert figures == data["in"]["codec_bpd"][codec][:count], codec


# ----------------------------------------------------------------------------- the command's parts
def test_to_model_shape_converts_channels_and_pads_or_crops():
    g = torch.Generator().manual_seed(0)
    grey = torch.randint(0, 256, (2, 1, 5, 6), generator=g, dtype=torch.uint8)
    out, steps = ood.to_model_shape(grey, 3, 8)
    assert out.shape == (2, 3, 8, 8) and out.dtype == torch.uint8
    assert steps == ["grey repeated to RGB", "padded with black from 6x5 to 8x8"]
    assert torch.equal(out[:, 0, 1:6, 1:7], grey[:, 0]) and torch.equal(out[:, 2], out[:, 0])  # centred, repeated
    assert out.sum() == 3 * grey.sum().item()  # black around it
    rgb = torch.randint(0, 256, (2, 3, 12, 10), generator=g, dtype=torch.uint8)
    out, steps = ood.to_model_shape(rgb, 1, 8)
    assert steps == ["RGB to luma (Pillow 'L')", "centre-cropped from 10x12 to 8x8"]
    luma = np.asarray(Image.fromarray(rgb[1].permute(1, 2, 0).numpy()).convert("L"))
    assert np.array_equal(out[1, 0].numpy(), luma[2:10, 1:9])
    same, steps = ood.to_model_shape(grey[:, :, :4, :4], 1, 4)
    assert steps == [] and torch.equal(same, grey[:, :, :4, :4])
    with pytest.raises(ValueError, match="cannot bring 6x12"):
        ood.to_model_shape(torch.zeros(1, 1, 12, 6, dtype=torch.uint8), 1, 8)
    with pytest.raises(ValueError, match="cannot convert 2 channels"):
        ood.to_model_shape(torch.zeros(1, 2, 8, 8, dtype=torch.uint8), 1, 8)


def test_evenly_and_default_against():
    images = torch.arange(25)
    subset, what = ood.evenly(images, 10)
    assert subset.tolist() == list(range(0, 20, 2)) and what == "every 2th of 25 (10)"
    assert ood.evenly(images, 30)[0].tolist() == list(range(25)) and ood.evenly(images, 30)[1] == "all 25"
    assert ood.default_against(tiny_model(1, 4), "mnist5k") == ["fashion-mnist", "photos-v1"]
    assert ood.default_against(tiny_model(3, 4), "photos") == ["mnist5k", "fashion-mnist"]
    assert ood.default_against(tiny_model(1, 4), "fashion-mnist") == ["photos-v1", "mnist5k"]


def test_the_command_on_a_tiny_model(tmp_path, monkeypatch, capsys):
    """python -m train.ood end to end, its test sets replaced by generated ones: every figure in the
    written ood.json is recomputed here by other means (the evaluation's per-image bits/dim, the
    codecs, brute-force AUROCs, the conversions by hand)."""
    directory = tmp_path / "model"
    tiny_model(1, 8, 2, dtype=torch.float32, seed=1).save_pretrained(directory)
    (directory / "reference.json").write_text(json.dumps({"dataset": "mnist5k"}))
    rng = np.random.default_rng(0)
    own = torch.from_numpy(rng.integers(0, 256, (9, 1, 8, 8), dtype=np.uint8))
    own[:, :, :3] = 0  # some structure
    clothes = torch.from_numpy(rng.integers(0, 256, (6, 3, 6, 6), dtype=np.uint8))  # colour, smaller: luma, padded
    photos = torch.from_numpy(rng.integers(0, 256, (7, 1, 10, 10), dtype=np.uint8))  # larger: cropped
    photos[:, :, :4] = 0  # like the model's own once cropped: the two sets overlap
    sets = {"mnist5k": own, "fashion-mnist": clothes, "photos-v1": photos}
    monkeypatch.setattr(ood, "test_images", lambda name, size, root: (sets[name], f"{name} test split"))
    assert ood.main(["--model", str(directory), "--against", "fashion-mnist", "photos-v1", "--num-images", "8",
                     "--batch-size", "4"]) == 0
    assert "wrote" in capsys.readouterr().out
    data = json.loads((directory / "ood.json").read_text())
    model = RealNVP.from_pretrained(directory)

    def expected_bpd(images):
        # the evaluation's figures: fixed noise (EVAL_NOISE_SEED) drawn in order, float32
        dataset = TensorDataset(images.double() / 255, torch.zeros(len(images), dtype=torch.long))
        return per_image_bpd(model, dataset, torch.device("cpu"), batch_size=4, seed=EVAL_NOISE_SEED)

    luma = torch.from_numpy(np.stack([np.asarray(Image.fromarray(a.permute(1, 2, 0).numpy()).convert("L"))
                                      for a in clothes]))[:, None]
    converted = {"mnist5k": own[:8], "fashion-mnist": torch.nn.functional.pad(luma, (1, 1, 1, 1)),
                 "photos-v1": photos[:, :, 1:9, 1:9]}
    assert data["in"]["images"] == "mnist5k test split, every 1th of 9 (8)" and data["in"]["num_images"] == 8
    assert [e["dataset"] for e in data["out"]] == ["fashion-mnist", "photos-v1"]
    assert data["out"][0]["conversion"] == ["RGB to luma (Pillow 'L')", "padded with black from 6x6 to 8x8"]
    assert data["out"][1]["conversion"] == ["centre-cropped from 10x10 to 8x8"]
    for entry in [data["in"], *data["out"]]:
        images = converted[entry["dataset"]]
        # rounded to 5 decimals; float32 log-densities summed in another order: a few 1e-6 apart
        assert entry["bpd"] == pytest.approx(expected_bpd(images), abs=1e-5), entry["dataset"]
        for codec in ("png", "webp"):
            assert entry["codec_bpd"][codec] == [round(float(v), 5) for v in codec_bits_per_dim(images, codec)]
    for entry in data["out"]:
        for key, codec in (("bpd", None), ("png", "png"), ("webp", "webp")):
            expected = pairwise_auroc(entry_scores(data["in"], codec), entry_scores(entry, codec))
            assert entry["auroc"][key] == pytest.approx(expected, abs=5e-5 + 1e-12), (entry["dataset"], key)
        share = float(np.mean(np.asarray(entry["bpd"]) < np.median(data["in"]["bpd"])))
        assert entry["more_likely_than_median"] == pytest.approx(share, abs=5e-5 + 1e-12)
    overlapping = data["out"][1]
    assert 0 < overlapping["more_likely_than_median"] < 1 and 0 < overlapping["auroc"]["bpd"] < 1  # not trivial
    assert data["likelihood"] == "log p(x)" and data["command"].startswith("python -m train.ood --model")
    # no reference.json data set and none given: refused clearly
    (directory / "reference.json").unlink()
    assert ood.main(["--model", str(directory)]) == 2
    assert "pass --dataset" in capsys.readouterr().err
