import os

# Tests never touch the network: set before huggingface_hub is imported anywhere.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import hashlib  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

import helpers  # noqa: E402
from train import photo_manifest  # noqa: E402


@pytest.fixture
def make_tiny_model():
    return helpers.tiny_model


@pytest.fixture(autouse=True)
def _seeded_torch():
    """Every test starts from the same global torch seed, so its unseeded draws do not depend on
    the tests run before it (the library itself never reseeds the global generator)."""
    import torch

    torch.manual_seed(0)


# ----------------------------------------------------------------------------- photographs


def fake_photo(rng, height, width):
    """A smooth gradient with a few solid rectangles: edges and flat areas, like a photo."""
    yy, xx = np.mgrid[0:height, 0:width]
    image = np.stack([xx * 255 // width, yy * 255 // height, (xx + yy) * 127 // (height + width)], -1)
    for _ in range(4):
        top, left = rng.integers(0, height - 8), rng.integers(0, width - 8)
        image[top : top + rng.integers(4, 30), left : left + rng.integers(4, 30)] = rng.integers(0, 256, 3)
    return image.astype(np.uint8)


@pytest.fixture
def fake_photos(tmp_path, monkeypatch):
    """A manifest of generated PNGs: 3 test and 1 validation photographs (required sources),
    2 training ones from a required source and 2 from the optional one. Returns the optional
    source's directory (delete it to simulate a machine without mate-backgrounds)."""
    rng = np.random.default_rng(0)
    dirs = {s: tmp_path / s for s in (photo_manifest.SKIMAGE, photo_manifest.SKLEARN, photo_manifest.MATE)}
    layout = [("t1", "skimage", "test", 70, 90), ("t2", "sklearn", "test", 80, 80), ("t3", "skimage", "test", 66, 100),
              ("v1", "sklearn", "val", 72, 96), ("a", "skimage", "train", 75, 110), ("b", "skimage", "train", 40, 60),
              ("m1", "mate-backgrounds", "train", 90, 130), ("m2", "mate-backgrounds", "train", 100, 70)]
    photos = []
    for name, source, split, height, width in layout:
        dirs[source].mkdir(exist_ok=True)
        path = dirs[source] / f"{name}.png"
        Image.fromarray(fake_photo(rng, height, width)).save(path)
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        photos.append(photo_manifest.Photo(name, source, path.name, sha, split, "generated", "CC0"))
    monkeypatch.setattr(photo_manifest, "PHOTOS", tuple(photos))
    monkeypatch.setattr(photo_manifest, "source_dir", dirs.__getitem__)
    return dirs[photo_manifest.MATE]
