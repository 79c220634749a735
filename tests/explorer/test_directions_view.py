"""The Directions tab through its API (`/direction`, gradio_client), and its class-mean files."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from app_env import import_app

pytestmark = [pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")]

app = import_app()
from gradio_client import handle_file  # noqa: E402

from explorer.handlers import directions as handler  # noqa: E402
from explorer.images import to_uint8_image  # noqa: E402
from explorer.registry import app_registry  # noqa: E402

ROOT = Path(app.__file__).parent
DIGIT7 = ROOT / "assets" / "examples" / "mnist" / "digit7_0.png"


def read(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def tiles(strip: np.ndarray, size: int = 28, pad: int = 2) -> list[np.ndarray]:
    """The STEPS tiles of an enlarged one-row grid_image, shrunk back to size x size (greyscale)."""
    factor = strip.shape[0] // (size + 2 * pad)
    return [strip[pad * factor: (pad + size) * factor: factor,
                  (pad + k * (size + pad)) * factor: (pad + k * (size + pad) + size) * factor: factor, 0]
            for k in range(handler.STEPS)]


def move(client, image=DIGIT7, model="mnist", source="7", target="1", amount=1.0, scales="all"):
    return client.predict(model, handle_file(str(image)), "auto", source, target, amount, scales,
                          api_name="/direction")


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_bundled_class_means_are_one_mean_per_class_and_scale(name):
    loaded = app_registry().load(name)
    found = handler.class_means(loaded)
    assert found is not None and len(found.names) == 10 and found.num_images >= 1000
    shapes = loaded.model.latent_shapes()
    assert [tuple(m.shape) for m in found.means] == [(10, *s) for s in shapes]
    assert all(torch.isfinite(m).all() for m in found.means)
    # different classes have different means, and each mean is far from a typical latent's size
    assert (found.means[-1][0] - found.means[-1][1]).norm() > 1.0
    choices, first, second = handler.class_options(loaded)
    expected = ("pullover", "coat") if name == "fashion-mnist" else ("7", "1")
    assert (found.names[int(first)], found.names[int(second)]) == expected


@pytest.mark.slow
def test_direction_moves_the_image_along_the_difference_of_means(client):
    strip, note = move(client)
    assert "t = +0.00, +0.17, +0.33, +0.50, +0.67, +0.83, +1.00 (left to right)" in note
    pictures = tiles(read(strip))
    # t = 0 is the image itself
    loaded = app_registry().load("mnist")
    from explorer import validation
    x = validation.model_input(loaded.model, str(DIGIT7))
    assert np.abs(pictures[0].astype(int) - to_uint8_image(x)[..., 0]).max() <= 1
    assert np.abs(pictures[0].astype(int) - pictures[-1]).mean() > 5  # t = 1 moved it
    assert "mean[1] − mean[7]" in note and "1000 labelled mnist5k test images" in note
    coarse, _ = move(client, scales="coarse")
    assert not np.array_equal(tiles(read(coarse))[-1], pictures[-1])
    _, note = move(client, amount=-1.0)
    assert "+0.00, -0.17" in note and "-1.00 (left" in note
    with pytest.raises(Exception, match="no class-mean latents"):
        move(client, model="photos")
    with pytest.raises(Exception, match="From must lie between 0 and 9"):
        move(client, source="12")
    with pytest.raises(Exception, match="greater than maximum"):  # refused by the slider
        move(client, amount=5)


def test_moving_by_one_shifts_the_latents_by_exactly_the_difference_of_means():
    from realnvp import directions

    loaded = app_registry().load("mnist")
    found = handler.class_means(loaded)
    model = loaded.model
    from explorer import validation
    x = validation.model_input(model, str(DIGIT7))
    step = directions.class_direction(found.means, 7, 1)
    with torch.inference_mode():
        z = model.encode(x)
        moved = directions.move_along(z, step, 1.0)
        again = model.encode(model.decode(moved))
        same = model.decode(directions.move_along(z, step, 0.0))
    for a, b, m in zip(moved, z, found.means):
        assert torch.equal(a, b + (m[1] - m[7])[None])
    for a, b in zip(again, moved):  # the decoded image encodes back to the moved latents (float32)
        assert (a - b).abs().max() < 1e-2
    assert (same - x).abs().max() < 1e-5  # by 0: the image
