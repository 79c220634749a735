"""explorer.animations: GIF and WebP writing, frame durations and caps."""

import numpy as np
import pytest
from PIL import Image

from explorer import animations


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
