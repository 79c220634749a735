"""explorer.animations (GIF/WebP writing, caps) and explorer.ood (ood.json, codec bits of an upload)."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from explorer import animations
from explorer import ood as ood_lab
from realnvp.codecs import CODECS, codec_bits_per_dim


def frames(count, side=20, colour=False):
    rng = np.random.default_rng(0)
    out = []
    for _ in range(count):
        grey = rng.integers(0, 256, (side, side, 1), dtype=np.uint8)
        out.append(rng.integers(0, 256, (side, side, 3), dtype=np.uint8) if colour else np.repeat(grey, 3, 2))
    return out


def read_back(path):
    with Image.open(path) as image:
        durations = []
        for i in range(image.n_frames):
            image.seek(i)
            image.load()
            durations.append(image.info["duration"])
        return image.format, image.n_frames, durations, image.info.get("loop")


@pytest.mark.parametrize("fmt, fps, duration", [("gif", 12, 80), ("gif", 10, 100), ("webp", 12, 83),
                                                ("webp", 25, 40)])
def test_animation_has_the_requested_frames_and_duration(tmp_path, fmt, fps, duration):
    path = animations.save_animation(frames(9, colour=fmt == "webp"), fps, fmt, directory=tmp_path)
    kind, count, durations, loop = read_back(path)
    assert kind == fmt.upper() and count == 9 and durations == [duration] * 9 and loop == 0
    assert animations.frame_duration(fps, fmt) == duration


def test_greyscale_gif_keeps_its_levels(tmp_path):
    pictures = frames(5)
    path = animations.save_animation(pictures, 5, "gif", directory=tmp_path)
    with Image.open(path) as image:
        for i, expected in enumerate(pictures):
            image.seek(i)
            assert np.array_equal(np.asarray(image.convert("L")), expected[..., 0])  # lossless for grey


def test_animation_caps(tmp_path):
    with pytest.raises(ValueError, match="4 to 120 frames"):
        animations.save_animation(frames(2), 10, "gif", directory=tmp_path)
    with pytest.raises(ValueError, match="frames per second"):
        animations.save_animation(frames(5), 60, "gif", directory=tmp_path)
    with pytest.raises(ValueError, match="format"):
        animations.save_animation(frames(5), 10, "mp4", directory=tmp_path)
    with pytest.raises(ValueError, match="same size"):
        animations.save_animation(frames(4) + frames(1, side=10), 10, "gif", directory=tmp_path)
    with pytest.raises(ValueError, match="exceed the cap"):
        animations.check(120, 400, 400, 10, "gif")
    # enlargement: towards 256 px, within the pixel budget
    assert animations.enlargement(48, 28, 28) == 10
    assert animations.enlargement(120, 128, 128) == 2
    assert 120 * (28 * animations.enlargement(120, 28, 28)) ** 2 <= animations.MAX_PIXELS


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
