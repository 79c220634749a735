"""explorer.ood: the ood.json files and the codec bits of an upload."""
import json

import pytest
import torch

from explorer import ood as ood_lab
from realnvp.codecs import CODECS, codec_bits_per_dim


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("channels", [1, 3])
def test_upload_codec_bits_match_the_test_sets(codec, channels):
    images = torch.randint(0, 256, (3, channels, 28, 28), generator=torch.Generator().manual_seed(channels),
                           dtype=torch.uint8)
    images[:, :, :10] = 0  # some structure, as in real images
    expected = codec_bits_per_dim(images, codec)
    mine = [ood_lab.codec_bits_per_dim(image.numpy(), codec) for image in images]
    assert mine == pytest.approx(expected.tolist(), rel=0, abs=0)


def test_read_ood_and_scores(tmp_path):
    assert ood_lab.read_ood(tmp_path) is None and ood_lab.read_ood(None) is None
    entry = {"dataset": "x", "bpd": [1.0, 2.0], "codec_bpd": {"png": [0.5, 0.5], "webp": [1.0, 3.0]}}
    data = {"in": entry, "out": [dict(entry, dataset="y"), dict(entry, dataset="z")]}
    (tmp_path / "ood.json").write_text(json.dumps(data))
    loaded = ood_lab.read_ood(tmp_path)
    assert ood_lab.others(loaded) == ["y", "z"]
    assert ood_lab.other_entry(loaded, "auto")["dataset"] == "y" and ood_lab.other_entry(loaded, "z")["dataset"] == "z"
    with pytest.raises(ValueError, match="choose one of y, z"):
        ood_lab.other_entry(loaded, "w")
    assert ood_lab.scores(entry, None).tolist() == [1.0, 2.0]
    assert ood_lab.scores(entry, "webp").tolist() == [0.0, -1.0]
    (tmp_path / "ood.json").write_text('{"in": {}, "out": []}')  # a new version of the file is read again
    assert ood_lab.read_ood(tmp_path) is None


def test_bundled_ood_files_are_complete():
    from explorer.registry import MODELS_DIR

    for name in ("mnist", "mnist-cond", "photos"):
        data = ood_lab.read_ood(MODELS_DIR / name)
        assert data is not None, name
        assert data["in"]["num_images"] == len(data["in"]["bpd"]) == 1000
        for entry in data["out"]:
            assert len(entry["bpd"]) == len(entry["codec_bpd"]["webp"]) == entry["num_images"] == 1000
            assert set(entry["auroc"]) == {"bpd", "png", "webp"}
