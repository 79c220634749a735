"""train.class_means: a model's class-mean latents written beside it (class_means.safetensors), from
the labelled test split of the data set its reference.json names; here tiny random models and a
fake labelled data set stand in for the bundled ones."""
import json

import pytest
import torch
from safetensors import safe_open

from train import class_means
from train.datasets import DatasetInfo

from helpers import grey_images, tiny_model

LABELS = [0, 1, 2, 0, 1, 2, 2, 1, 0, 2]


@pytest.fixture
def fake_data(monkeypatch):
    """build_datasets gives a labelled test split of ten 8x8 images in three classes (and records its calls)."""
    images = grey_images(len(LABELS), seed=1).float()
    test = [(images[i], torch.tensor(label)) for i, label in enumerate(LABELS)]
    calls = []

    def build_datasets(name, download=True):
        calls.append((name, download))
        classes = None if name == "unlabelled" else 3
        return [], [], test, DatasetInfo(name, 1, 8, 256, classes, natural_images=False)

    monkeypatch.setattr(class_means, "build_datasets", build_datasets)
    return images, torch.tensor(LABELS), calls


def saved_model(directory, reference=True, **kwargs):
    model = tiny_model(1, 8, 2, dtype=torch.float32, **kwargs)
    model.save_pretrained(directory)
    if reference:
        (directory / "reference.json").write_text(json.dumps({"dataset": "fake-digits", "test_bpd": [1.0]}))
    return model


def read(path):
    with safe_open(str(path), "pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, f.metadata()


@pytest.mark.parametrize("num_classes", [None, 3])
def test_the_means_of_each_classs_latents_are_written_beside_the_model(tmp_path, fake_data, num_classes):
    images, labels, calls = fake_data
    model = saved_model(tmp_path, num_classes=num_classes)
    path = class_means.write_class_means(tmp_path)
    assert path == tmp_path / class_means.FILE and calls == [("fake-digits", False)]  # reference.json's, offline
    tensors, metadata = read(path)
    assert tensors["counts"].tolist() == [3, 3, 4]
    with torch.no_grad():  # an unconditional model encodes every image alike, a conditional one under its label
        latents = model.encode(images, None if num_classes is None else labels)
    assert set(tensors) == {"counts", "scale_0", "scale_1"}
    for scale, z in enumerate(latents):
        mean = tensors[f"scale_{scale}"]
        assert mean.shape == (3, *z.shape[1:]) and mean.dtype == torch.float32
        for c in range(3):
            assert torch.allclose(mean[c], z[labels == c].double().mean(0).float(), atol=1e-6)
    assert metadata == {"dataset": "fake-digits", "split": "test", "num_images": "10",
                        "class_names": json.dumps(["0", "1", "2"])}


def test_the_data_set_and_a_limit_may_be_given(tmp_path, fake_data, capsys):
    _, _, calls = fake_data
    saved_model(tmp_path, reference=False)
    class_means.main(["--model", str(tmp_path), "--dataset", "fashion-mnist", "--limit", "6"])
    assert capsys.readouterr().out.strip() == f"wrote {tmp_path / class_means.FILE}"
    tensors, metadata = read(tmp_path / class_means.FILE)
    assert calls == [("fashion-mnist", False)]
    assert tensors["counts"].tolist() == [2, 2, 2] and metadata["num_images"] == "6"  # the first six images
    assert json.loads(metadata["class_names"])[:3] == ["T-shirt/top", "trouser", "pullover"]


def test_refusals_without_a_data_set_or_without_labels(tmp_path, fake_data):
    saved_model(tmp_path, reference=False)
    with pytest.raises(SystemExit, match="no reference.json naming the data set; pass --dataset"):
        class_means.write_class_means(tmp_path)
    with pytest.raises(SystemExit, match="unlabelled has no labels"):
        class_means.write_class_means(tmp_path, "unlabelled")
    assert not (tmp_path / class_means.FILE).exists()
