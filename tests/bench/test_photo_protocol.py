"""bench/photo_protocol.py: the crops it scores, how it pools them, and the checkpoint rule."""
import json

import numpy as np
import pytest
import torch

from helpers import load_bench

@pytest.fixture(scope="module")
def protocol():
    return load_bench("photo_protocol")


def test_grid_crops_are_every_whole_tile_in_reading_order(protocol):
    pixels = torch.arange(3 * 70 * 100, dtype=torch.int64).reshape(3, 70, 100)
    crops = protocol.grid_crops(pixels, 32)
    assert crops.shape == (2 * 3, 3, 32, 32)  # partial tiles at the right and bottom edges are left out
    for index, crop in enumerate(crops):
        row, col = divmod(index, 3)
        assert torch.equal(crop, pixels[:, row * 32:(row + 1) * 32, col * 32:(col + 1) * 32])


def test_pooling_weighs_crops_and_the_rule_weighs_kinds_equally(protocol):
    rows = [  # one big smooth photograph the model is bad at, two small textured ones it is good at
        {"photo": "a", "category": "smooth", "side": 128, "crops": 90, "model": 2.0, "webp": 1.0, "png": 1.5},
        {"photo": "b", "category": "textured", "side": 128, "crops": 5, "model": 3.0, "webp": 4.0, "png": 5.0},
        {"photo": "c", "category": "textured", "side": 256, "crops": 5, "model": 3.0, "webp": 6.0, "png": 7.0},
    ]
    kinds = protocol.by_category(rows)
    assert kinds["textured"]["crops"] == 10 and kinds["textured"]["webp"] == pytest.approx(5.0)
    assert kinds["textured"]["ratio"] == pytest.approx(3.0 / 5.0)
    assert kinds["smooth"]["ratio"] == pytest.approx(2.0)
    assert kinds["all"]["model"] == pytest.approx((90 * 2 + 10 * 3) / 100)  # crop-weighted
    assert kinds["all"]["ratio"] == pytest.approx(kinds["all"]["model"] / ((90 * 1 + 5 * 4 + 5 * 6) / 100))
    assert "people" not in kinds  # kinds without crops are left out, not zero
    assert protocol.selection_score(kinds) == pytest.approx((2.0 + 0.6) / 2)


def test_scoring_a_model_on_fake_photographs(protocol, fake_photos, tmp_path):
    from realnvp.checks import random_model

    from train import photo_manifest

    model = random_model(channels=3, size=8, num_scales=1, dtype=torch.float32)
    photos = [p for p in photo_manifest.PHOTOS if p.split == "test"]
    crops_of = {p.name: protocol.photo_crops(p, (32, 64)) for p in photos}
    rows = protocol.score(model, photos, crops_of, protocol.CodecCache())
    assert {(r["photo"], r["side"]) for r in rows} == {(p.name, s) for p in photos for s in (32, 64)}
    for r in rows:  # each row is the mean over that photograph's crops at that side
        crops = crops_of[r["photo"]][r["side"]]
        assert r["crops"] == len(crops)
        from realnvp.codecs import codec_bits_per_dim
        assert r["webp"] == pytest.approx(float(np.mean(codec_bits_per_dim(crops, "webp"))))
    assert all(np.isfinite(r["model"]) and r["model"] > 0 for r in rows)
    json.dumps(protocol.by_category(rows))  # what --json and --write-model-figures store
