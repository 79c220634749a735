"""The page opens with results: the Sample tab's grid and the Likelihood tab's result for its first
image are in the page's configuration (what a browser gets on load), before any button is pressed."""
import httpx
import numpy as np
import pytest
from PIL import Image


@pytest.fixture(scope="module")
def page(client):
    config = httpx.get(client.src.rstrip("/") + "/config", timeout=60).raise_for_status().json()
    return client, {c["props"].get("elem_id"): c["props"] for c in config["components"] if "props" in c}


def fetch(client, value) -> bytes:
    assert value and value.get("url"), value
    response = httpx.get(value["url"], timeout=60).raise_for_status()
    return response.content


def picture(client, value, tmp_path) -> np.ndarray:
    path = tmp_path / "shown.png"
    path.write_bytes(fetch(client, value))
    return np.asarray(Image.open(path).convert("RGB"))


def test_the_sample_panel_shows_a_grid_on_load_equal_to_the_sample_button_at_its_settings(page, tmp_path):
    client, props = page
    shown = picture(client, props["sample-output"]["value"], tmp_path)
    assert shown.ndim == 3 and shown.std() > 10  # a grid of samples, not a blank
    assert "64 samples" in props["sample-note"]["value"]
    grid, seed, _ = client.predict("mnist", 64, 0.8, 0, False, "all", False, 1.0, 0.5, api_name="/sample")
    assert seed == 0
    assert np.array_equal(np.asarray(Image.open(grid).convert("RGB")), shown)  # the button's grid at seed 0


def test_the_likelihood_tab_shows_its_first_images_result_on_load(page, tmp_path):
    client, props = page
    assert picture(client, props["likelihood-heatmap"]["value"], tmp_path).std() > 10
    assert picture(client, props["likelihood-histogram"]["value"], tmp_path).std() > 1
    image = props["likelihood-image"]["value"]
    heat, bpd, *_ = client.predict("mnist", {"path": image["path"], "meta": {"_type": "gradio.FileData"}}, "auto",
                                   "auto", "model", api_name="/likelihood")
    assert props["likelihood-bpd"]["value"] == bpd and 0 < bpd < 8  # the Evaluate button's number, exactly
    assert "bits/dim" in props["likelihood-note"]["value"]
