"""explorer.handlers.interpolation: the latent walk's note names the noise the model dequantizes with."""
import pytest

from explorer import animations
from explorer.handlers.interpolation import animate

from tiny_registry import example


@pytest.mark.parametrize("name, channels, noise", [("grey", 1, "uniform noise"),
                                                    ("rgb", 3, "the model's learned noise q(u | image)")])
def test_the_walk_note_names_the_models_dequantization_noise(use_tiny_registry, tmp_path, name, channels, noise):
    a, b = (str(example(tmp_path / f"{i}.png", i, channels=channels)) for i in (1, 2))
    *_, note = animate(name, a, b, None, None, walk="pair", frames=animations.MIN_FRAMES, fps=12, fmt="gif")
    assert f"images are dequantized ({noise}, fixed seed)" in note
