"""Through the HTTP API (gradio_client): the better-suited model named in the notes (a colour photo
on the greyscale `mnist`, a digit on the colour `photos`), never in place of the selected model's
result; and the Likelihood tab's byte counts (flow, PNG, WebP) against Pillow on the same 8-bit image.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app_env import import_app

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")]

app = import_app()
from gradio_client import handle_file  # noqa: E402

from explorer.registry import app_registry  # noqa: E402
from explorer.validation import MAX_SIDE, model_input  # noqa: E402

EXAMPLES = Path(app.__file__).parent / "assets" / "examples"
DIGIT = EXAMPLES / "mnist" / "digit3_0.png"
PHOTO = EXAMPLES / "photos" / "test_03.png"
TO_PHOTOS = "Better suited: the `photos` model"
TO_MNIST = "Better suited: the `mnist` model"


def likelihood(client, image, model, resolution="model"):
    return client.predict(model, handle_file(str(image)), "auto", "auto", resolution, api_name="/likelihood")


def astronaut(tmp_path, size=(64, 48), grey=False) -> Path:
    import skimage.data

    picture = Image.fromarray(skimage.data.astronaut()).resize(size)
    if grey:
        picture = picture.convert("L").convert("RGB")  # an RGB file of a grey image
    path = tmp_path / f"astronaut{'-grey' if grey else ''}.jpg"
    picture.save(path, quality=85)
    return path


# ----------------------------------------------------------------------------- suggestions
def test_colour_photo_on_mnist_names_photos(client, tmp_path):
    for image in (PHOTO, astronaut(tmp_path)):
        heat, bpd, table, hist, note, bits, sizes = likelihood(client, image, "mnist")
        assert TO_PHOTOS in note and "under mnist" in note  # suggested, and still scored by mnist
        assert np.load(bits).shape == (28, 28)
    items, note = client.predict("mnist", handle_file(str(PHOTO)), "auto", "auto", "model", "zero", 1.0, 0,
                                 api_name="/per_scale")
    assert TO_PHOTOS in note and len(items) == 4
    _, _, note = client.predict("mnist", handle_file(str(PHOTO)), "auto", "auto", "png", api_name="/ood")
    assert TO_PHOTOS in note
    _, note = client.predict("mnist", handle_file(str(PHOTO)), handle_file(str(DIGIT)), "auto", "auto", "model",
                             api_name="/mix_scales")
    assert "Better suited" not in note  # A wants a colour model, B a greyscale one: no suggestion
    # Classify offers class-conditional models only, and there is no colour one
    _, _, note = client.predict("mnist-cond", handle_file(str(PHOTO)), "auto", api_name="/classify")
    assert "Better suited" not in note


def test_digit_on_photos_names_mnist(client):
    heat, bpd, table, hist, note, bits, sizes = likelihood(client, DIGIT, "photos")
    assert TO_MNIST in note and "under photos" in note and "32×32 image" in note
    _, note = client.predict("photos", handle_file(str(PHOTO)), handle_file(str(DIGIT)), "auto", "auto", "model",
                             api_name="/mix_scales")
    assert "Better suited" not in note
    _, note = client.predict("photos", handle_file(str(DIGIT)), handle_file(str(DIGIT)), "auto", "auto", "model",
                             api_name="/mix_scales")
    assert TO_MNIST in note
    _, _, note = client.predict("photos", handle_file(str(DIGIT)), "auto", "auto", "png", api_name="/ood")
    assert TO_MNIST in note


def test_no_suggestion_when_the_model_suits(client, tmp_path):
    for image, model in ((DIGIT, "mnist"), (PHOTO, "photos"), (astronaut(tmp_path, grey=True), "mnist")):
        note = likelihood(client, image, model)[4]
        assert "Better suited" not in note, (image, model)


# ----------------------------------------------------------------------------- what the bits mean
def encoded_sizes(pixels: np.ndarray, webp_method: int = 6) -> tuple[int, int]:
    """PNG and WebP bytes of a uint8 (H, W) or (H, W, 3) image, Pillow at its best lossless effort (WebP
    method 6; the app uses 5 above 4,096 values)."""
    png, webp = io.BytesIO(), io.BytesIO()
    Image.fromarray(pixels).save(png, format="PNG", optimize=True, compress_level=9)
    Image.fromarray(pixels).save(webp, format="WEBP", lossless=True, quality=100, method=webp_method, exact=True)
    return len(png.getvalue()), len(webp.getvalue())


def check_sizes(result, pixels: np.ndarray) -> None:
    _, bpd, _, _, note, _, sizes = result
    rows = {row[0].split(" ")[0]: row[1:] for row in sizes["data"]}
    values = pixels.size
    method = 6 if values <= 4096 else 5
    assert ("method 5" in sizes["data"][2][0]) == (method == 5)
    png, webp = encoded_sizes(pixels, method)
    assert rows["PNG"] == [png, pytest.approx(8 * png / values, abs=1e-6)]
    assert rows["WebP"] == [webp, pytest.approx(8 * webp / values, abs=1e-6)]
    flow, flow_bpd = rows["flow"]
    assert flow_bpd == bpd and flow == pytest.approx(bpd * values / 8, abs=5e-4)  # from the bits/dim shown
    assert f"{flow:,.1f} bytes" in note and f"PNG {png:,} bytes" in note and f"WebP {webp:,} bytes" in note


def test_likelihood_bytes_match_pillow(client, tmp_path):
    digit = np.asarray(Image.open(DIGIT))  # 28×28 grey, white on black: scored as it is
    check_sizes(likelihood(client, DIGIT, "mnist"), digit)
    photo = np.asarray(Image.open(PHOTO).convert("RGB"))  # 32×32 RGB: 3,072 values
    result = likelihood(client, PHOTO, "photos")
    check_sizes(result, photo)
    assert result[6]["data"][0][1] == pytest.approx(result[1] * 3 * 32 * 32 / 8, abs=5e-4)
    # resized and converted to grey at its own resolution: the codecs get the 8-bit image the model scored
    path = astronaut(tmp_path, (64, 48))
    x = model_input(app_registry().load("mnist").model, str(path), "auto", "own")
    scored = np.round(x[0, 0].cpu().numpy() * 255).astype(np.uint8)
    assert scored.shape == (48, 64)
    check_sizes(likelihood(client, path, "mnist", resolution="own"), scored)
    # RGB at its own resolution (128×128 on a CPU: 49,152 values): WebP method 5
    path = astronaut(tmp_path, (300, 300))
    x = model_input(app_registry().load("photos").model, str(path), "auto", "own")
    scored = np.round(x[0].cpu().numpy() * 255).astype(np.uint8).transpose(1, 2, 0)
    assert scored.shape == (MAX_SIDE, MAX_SIDE, 3)
    check_sizes(likelihood(client, path, "photos", resolution="own"), scored)
