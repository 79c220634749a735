"""The Layer by layer tab through its API (`/layers`, gradio_client); its pictures alone: test_layer_pictures.py."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app_env import RGB_REPO, import_app

pytestmark = [pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")]

app = import_app()
from gradio_client import handle_file  # noqa: E402

from explorer import layer_pictures  # noqa: E402

EXAMPLES = Path(app.__file__).parent / "assets" / "examples"
DIGIT = EXAMPLES / "mnist" / "digit4_0.png"


def read(path) -> np.ndarray:
    with Image.open(path) as image:
        assert image.format == "PNG" and image.mode == "RGB"
        return np.asarray(image)


def layers(client, image=DIGIT, model="mnist", label="auto", direction="encode", temperature=0.8, seed=0):
    return client.predict(model, None if image is None else handle_file(str(image)), label, "auto", direction,
                          temperature, seed, api_name="/layers")


@pytest.mark.slow
def test_layers_encode(client):
    items, table, curve, note = layers(client)
    rows = table["data"]
    assert table["headers"][-1] == "bits/dim if the flow stopped here"
    assert len(items) == len(rows) + 1 == 27  # the image, then every step of the 2-scale model
    assert [r[2] for r in rows][:3] == ["logit", "checkerboard coupling", "batch norm"]
    assert sum(r[2].endswith("coupling") for r in rows) == 10 and sum(r[2] == "factor-out" for r in rows) == 1
    # the log-dets shown add up to the running total and to log p(x) with the prior
    assert sum(r[4] for r in rows) == pytest.approx(rows[-1][5], abs=1e-2)
    logdet, prior, log_prob, reference = log_prob_check(note)
    assert logdet + prior == pytest.approx(log_prob, abs=2e-4)
    assert log_prob == pytest.approx(reference, rel=1e-6)
    # the last bits/dim is the Likelihood tab's figure for the same image
    _, bpd, *_ = client.predict("mnist", handle_file(str(DIGIT)), "auto", "auto", "model", api_name="/likelihood")
    assert rows[-1][6] == pytest.approx(bpd, abs=1e-4)
    pictures = [read(item["image"]) for item in items]
    assert len({p.shape for p in pictures}) == 1
    assert read(curve).shape == (300, 600, 3)
    # a coupling's right panel shows orange (changed) and slate (conditioning) in equal parts
    coupling = pictures[2]
    right = coupling[:, coupling.shape[1] // 2 + 2:]
    orange = np.all(right == layer_pictures.CHANGED, axis=2).mean()
    slate = np.all(right == layer_pictures.CONDITIONS, axis=2).mean()
    assert orange == pytest.approx(slate, abs=0.02) and orange > 0.4
    # after the factor-out, teal (set aside) covers half of the state
    left = pictures[17][:, : pictures[17].shape[1] // 2 - 1]
    assert np.all(left == layer_pictures.OUTSIDE, axis=2).mean() == pytest.approx(0.5, abs=0.02)


def log_prob_check(note: str) -> list[float]:
    match = re.search(r"log-dets ([+-][0-9.]+) nats \+ prior log N\(z\) ([+-][0-9.]+) = log p\(x\) = ([+-][0-9.]+) "
                      r"nats; `model.log_prob` gives ([+-][0-9.]+)", note)
    assert match, note
    return [float(v) for v in match.groups()]


@pytest.mark.slow
def test_layers_decode_a_sample_and_refusals(client):
    items, table, _, note = layers(client, image=None, direction="decode", seed=3)
    rows = table["data"]
    # backwards: the last layer first (the unsqueeze ending the model's walk, undone), the logit last
    assert [r[2] for r in rows[:3]] == ["unsqueeze", "batch norm", "checkerboard coupling"] and rows[-1][2] == "logit"
    assert sum(r[2] == "factor-in" for r in rows) == 1
    assert items[0]["caption"].startswith("0. the latents z")
    again, _, _, _ = layers(client, image=None, direction="decode", seed=3)
    assert np.array_equal(read(items[-1]["image"]), read(again[-1]["image"]))  # the seed decides the sample
    other, _, _, _ = layers(client, image=None, direction="decode", seed=4)
    assert not np.array_equal(read(items[-1]["image"]), read(other[-1]["image"]))
    # colour, from the Hub cache
    items, table, _, _ = layers(client, image=None, model=RGB_REPO, direction="decode")
    assert len(items) == len(table["data"]) + 1
    # a class-conditional model needs a class to decode under, and an image to encode
    with pytest.raises(Exception, match="pick the class"):
        layers(client, image=None, model="mnist-cond", direction="decode")
    _, _, _, note = layers(client, image=None, model="mnist-cond", label="7", direction="decode")
    assert "Conditioned on class 7" in note
    with pytest.raises(Exception, match="Upload an image"):
        layers(client, image=None, direction="encode")
    with pytest.raises(Exception, match="sideways"):  # refused by the radio, before the handler
        layers(client, direction="sideways")

