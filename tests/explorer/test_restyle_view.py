"""The Restyle tab through its API (`/restyle`, gradio_client): one digit decoded under every class."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app_env import import_app

pytestmark = [pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")]

app = import_app()
from gradio_client import handle_file  # noqa: E402

from explorer import validation  # noqa: E402
from explorer.handlers import restyle as handler  # noqa: E402
from explorer.images import to_uint8_image  # noqa: E402
from explorer.registry import app_registry  # noqa: E402

ROOT = Path(app.__file__).parent
DIGIT = ROOT / "assets" / "examples" / "mnist-cond" / "digit3_0.png"


def read(path) -> np.ndarray:
    with Image.open(path) as image:
        assert image.format == "PNG" and image.mode == "RGB"
        array = np.asarray(image)
    assert array.dtype == np.uint8
    return array


def tiles(strip: np.ndarray, count: int = 10, size: int = 28) -> list[np.ndarray]:
    """Each class's tile of the strip, shrunk back to size x size (greyscale)."""
    factor = handler.tile_factor(size, size)
    out = []
    for y in range(count):
        top, left, bottom, right = handler.tile_box(y, size, size)
        out.append(strip[top:bottom:factor, left:right:factor, 0])
    return out


def bits_per_dim(note: str) -> list[float]:
    listed = re.search(r"bits/dim of each decoding under its class: ([^\n]*)\.", note).group(1)
    return [float(item.split(": ")[1]) for item in listed.split(", ")]


def restyle(client, image=DIGIT, model="mnist-cond", label="auto", invert="auto"):
    return client.predict(model, handle_file(str(image)), label, invert, api_name="/restyle")


@pytest.mark.slow
def test_restyle_decodes_the_digit_under_every_class(client):
    strip, note = restyle(client)
    source = int(re.search(r"\*\*Encoded as (\d)\*\*, the model's Bayes classifier's choice", note).group(1))
    picture = read(strip)
    assert picture.shape == (2 * (140 + handler.LABEL_HEIGHT + 2 * handler.PAD), 5 * (140 + 2 * handler.PAD), 3)
    pictures = tiles(picture)
    x = validation.model_input(app_registry().load("mnist-cond").model, str(DIGIT))
    image = to_uint8_image(x)[..., 0].astype(int)
    assert np.abs(pictures[source].astype(int) - image).max() <= 1  # under its own class: the image
    assert all(np.abs(p.astype(int) - image).mean() > 2 for y, p in enumerate(pictures) if y != source)
    # the tile of the image's own class is framed, the others not
    top, left, _, _ = handler.tile_box(source, 28, 28)
    assert tuple(picture[top - 2, left + 10]) == handler.SOURCE_FRAME
    top, left, _, _ = handler.tile_box((source + 1) % 10, 28, 28)
    assert tuple(picture[top - 2, left + 10]) == (255, 255, 255)
    # the same choice, posterior and bits/dim as the Classify and Likelihood tabs
    _, label, _ = client.predict("mnist-cond", handle_file(str(DIGIT)), "auto", api_name="/classify")
    assert label["label"] == str(source)
    best = max(label["confidences"], key=lambda c: c["confidence"])
    assert f"p({source} | x) = {best['confidence']:.3f}" in note
    _, bpd, *_ = client.predict("mnist-cond", handle_file(str(DIGIT)), str(source), "auto", "model",
                                api_name="/likelihood")
    bits = bits_per_dim(note)
    assert len(bits) == 10 and bits[source] == pytest.approx(bpd, abs=1e-3)
    error = float(re.search(r"largest difference ([0-9.e+-]+), float32", note).group(1))
    assert error < 1e-4


@pytest.mark.slow
def test_a_picked_label_and_refusals(client, tmp_path):
    strip, note = restyle(client, label="5")
    assert "**Encoded as 5**, the class picked" in note
    x = validation.model_input(app_registry().load("mnist-cond").model, str(DIGIT))
    assert np.abs(tiles(read(strip))[5].astype(int) - to_uint8_image(x)[..., 0]).max() <= 1
    with pytest.raises(Exception, match="Restyle needs a class-conditional model"):
        restyle(client, model="mnist")
    with pytest.raises(Exception, match="class must lie between 0 and 9"):
        restyle(client, label="12")
    text = tmp_path / "digit.png"
    text.write_text("not an image")
    with pytest.raises(Exception, match="is not an image format this app can read"):
        restyle(client, image=text)
