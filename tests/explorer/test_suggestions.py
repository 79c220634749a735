"""explorer.suggestions: what kind of image an upload is (colour, digit-like, grey) and which bundled
model suits it better than the selected one."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from PIL import Image, ImageOps

from explorer.registry import ModelRegistry
from explorer.suggestions import COLOUR, DIGIT, GREY, image_kind, suggest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "assets" / "examples"
DIGIT_FILE = EXAMPLES / "mnist" / "digit3_0.png"
PHOTO_FILE = EXAMPLES / "photos" / "test_03.png"


def photo() -> Image.Image:
    import skimage.data

    return Image.fromarray(skimage.data.astronaut()).resize((160, 160))


def saved(tmp_path, image: Image.Image, name: str, **options) -> Path:
    path = tmp_path / name
    image.save(path, **options)
    return path


def test_colour_images(tmp_path):
    assert image_kind(str(PHOTO_FILE)) == COLOUR
    assert image_kind(saved(tmp_path, photo(), "astronaut.jpg", quality=70)) == COLOUR
    digit = Image.open(DIGIT_FILE)
    black = Image.new("L", digit.size)
    assert image_kind(saved(tmp_path, Image.merge("RGB", [digit, black, black]), "red.png")) == COLOUR  # a red digit


def test_an_rgb_file_of_a_grey_image_is_not_colour(tmp_path):
    grey = photo().convert("L").convert("RGB")
    assert image_kind(saved(tmp_path, grey, "grey.png")) == GREY
    assert image_kind(saved(tmp_path, grey, "grey.jpg", quality=50)) == GREY  # JPEG noise in the chroma
    assert image_kind(saved(tmp_path, Image.open(DIGIT_FILE).convert("RGB"), "digit.jpg", quality=75)) == DIGIT


def test_digit_like_images(tmp_path):
    digit = Image.open(DIGIT_FILE)
    assert image_kind(str(DIGIT_FILE)) == DIGIT
    assert image_kind(saved(tmp_path, ImageOps.invert(digit).resize((280, 280)), "paper.png")) == DIGIT  # dark on light
    assert image_kind(saved(tmp_path, digit.resize((1000, 1000)), "large.png")) == GREY  # not small
    assert image_kind(saved(tmp_path, Image.new("L", (28, 28)), "blank.png")) == GREY  # no strokes
    assert image_kind(saved(tmp_path, photo().convert("L"), "portrait.png")) == GREY  # no plain background


def test_unreadable_or_missing_images_have_no_kind(tmp_path):
    fake = tmp_path / "fake.png"
    fake.write_text("not an image")
    assert image_kind(str(fake)) is None and image_kind(None) is None and image_kind("") is None


@pytest.fixture(scope="module")
def registry():
    return ModelRegistry(hub_ids=[], device="cpu")


def on(name: str) -> SimpleNamespace:
    """A stand-in for the loaded model `name` (only its name and in_channels are read)."""
    return SimpleNamespace(name=name, model=SimpleNamespace(in_channels=3 if name == "photos" else 1))


def test_suggest(registry, tmp_path):
    found = suggest(registry, on("mnist"), str(PHOTO_FILE))
    assert found.model == "photos" and found.kind == COLOUR and "`photos`" in found.note and "`mnist`" in found.note
    found = suggest(registry, on("photos"), str(DIGIT_FILE))
    assert found.model == "mnist" and found.kind == DIGIT  # the unconditional model before mnist-cond
    assert suggest(registry, on("photos"), str(DIGIT_FILE), need_classes=True).model == "mnist-cond"
    assert suggest(registry, on("mnist-cond"), str(PHOTO_FILE), need_classes=True) is None  # no such model
    assert suggest(registry, on("mnist"), str(DIGIT_FILE)) is None
    assert suggest(registry, on("photos"), str(PHOTO_FILE)) is None
    grey = saved(tmp_path, photo().convert("L").convert("RGB"), "grey.png")
    assert suggest(registry, on("mnist"), str(grey)) is None
    # several images: only when those that want another kind of model agree
    assert suggest(registry, on("mnist"), [str(DIGIT_FILE), str(PHOTO_FILE)]) is None
    assert suggest(registry, on("mnist"), [str(grey), str(PHOTO_FILE)]).model == "photos"
    assert suggest(registry, on("mnist"), [None, str(PHOTO_FILE)]).model == "photos"
