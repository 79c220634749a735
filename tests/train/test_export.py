"""train.export: a checkpoint bundled for the app, with the test set's per-image bits/dim and examples."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from helpers import tiny_model
from train.datasets import build_datasets
from train.export import export, main, per_image_bpd


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A tiny class-conditional model of sklearn's 8x8 digits (17 grey levels), saved like a training run."""
    directory = tmp_path_factory.mktemp("run") / "best"
    model = tiny_model(size=8, dtype=torch.float32, num_classes=10, num_levels=17)
    model.save_pretrained(directory)
    (directory / "README.md").write_text("# a model card\n")
    (directory / "training_state.json").write_text("{}")  # not part of the bundle
    return directory


def test_export_bundles_model_reference_and_examples(checkpoint, tmp_path):
    assets = tmp_path / "assets"
    reference = export(checkpoint, "digits", "toy", examples=12, assets=assets, device="cpu")
    bundle = assets / "models" / "toy"
    assert sorted(p.name for p in bundle.iterdir()) == ["README.md", "config.json", "model.safetensors",
                                                        "reference.json"]
    assert reference.pop("left_out") == []
    assert json.loads((bundle / "reference.json").read_text()) == reference
    _, _, test, _ = build_datasets("digits")
    assert reference["dataset"] == "digits" and reference["split"] == "test"
    assert reference["num_images"] == len(test) == len(reference["test_bpd"])
    assert reference["mean_test_bpd"] == pytest.approx(np.mean(reference["test_bpd"]), abs=1e-6)

    # the numbers are the model's exact bits/dim with true labels and the fixed dequantization noise
    from realnvp import RealNVP

    model = RealNVP.from_pretrained(bundle)
    again = per_image_bpd(model, test, torch.device("cpu"))
    assert again == pytest.approx(reference["test_bpd"], abs=1e-5)
    x, y = test[0]
    noise = torch.Generator().manual_seed(1234)
    first = model.bits_per_dim(model.dequantize(x[None].double(), generator=noise).float(), y[None]).item()
    assert reference["test_bpd"][0] == pytest.approx(first, rel=1e-6)  # float32: batch of 1 vs 200

    examples = {p.name for p in (assets / "examples" / "toy").iterdir()}
    assert examples == {f"digit{d}_0.png" for d in range(10)} | {"digit0_1.png", "digit1_1.png"}  # spread
    with Image.open(assets / "examples" / "toy" / "digit0_0.png") as image:
        assert image.size == (8, 8) and image.mode == "L"
        first_zero = next(x for x, y in test if y == 0)
        assert np.array_equal(np.asarray(image), (first_zero[0] * 255).round().byte().numpy())

    # exporting again replaces the bundle (no stale examples left behind)
    export(checkpoint, "digits", "toy", examples=3, assets=assets, device="cpu")
    assert len(list((assets / "examples" / "toy").iterdir())) == 3


def test_export_again_carries_over_only_what_is_kept_and_says_what_it_left_out(checkpoint, tmp_path, capsys):
    assets = tmp_path / "assets"
    export(checkpoint, "digits", "toy", examples=2, assets=assets, device="cpu")
    bundle = assets / "models" / "toy"
    (bundle / "ood.json").write_text("{}")  # computed from the old weights by other commands
    (bundle / "curves-stage1.png").write_bytes(b"history")
    assert main(["--checkpoint", str(checkpoint), "--dataset", "digits", "--name", "toy", "--examples", "2",
                 "--assets", str(assets), "--device", "cpu", "--keep", "curves-stage1.png"]) == 0
    out = capsys.readouterr().out
    assert (bundle / "curves-stage1.png").read_bytes() == b"history" and not (bundle / "ood.json").exists()
    assert f"left out ood.json of the previous bundle (it described the old weights): make it again with " \
           f"`python -m train.ood --model {bundle}`" in out
    with pytest.raises(FileNotFoundError, match="--keep samples.png: not in"):
        export(checkpoint, "digits", "toy", examples=2, assets=assets, device="cpu", keep=("samples.png",))


def test_export_refuses_mismatches_and_broken_checkpoints(checkpoint, tmp_path, capsys):
    assets = tmp_path / "assets"
    assert main(["--checkpoint", str(checkpoint), "--dataset", "mnist5k", "--name", "x", "--assets", str(assets)]) == 2
    assert "mnist5k images are 1x28x28 but the model expects 1x8x8" in capsys.readouterr().err
    assert main(["--checkpoint", str(tmp_path / "missing"), "--dataset", "digits", "--name", "x",
                 "--assets", str(assets)]) == 2
    assert "missing: not a checkpoint directory" in capsys.readouterr().err
    assert main(["--checkpoint", str(checkpoint), "--dataset", "digits", "--name", "../x",
                 "--assets", str(assets)]) == 2
    assert not assets.exists()  # nothing written when refused
