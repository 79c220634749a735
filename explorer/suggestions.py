"""Which model (bundled, or a Hub model whose config.json is already on this machine) suits an
image better than the selected one: a colour photo on a greyscale
model (it would be seen in grey) is offered the colour model, a digit-like greyscale image on a
colour model is offered the greyscale one. A suggestion never changes what an event computes: the
page shows it beside the image with a button that switches the model picker, and the events' notes
name the model in words.

What an image is, from a copy reduced to at most `ANALYSIS_SIDE` pixels a side (averaging blocks,
so JPEG noise and chroma subsampling average out):
- colour: at least `COLOUR_SHARE` of its pixels have channels `CHROMA` or more levels apart (an RGB
  file of a grey image has none; a grey JPEG's noise stays a few levels);
- digit-like: not colour, its border mostly near black or near white, at least `BACKGROUND_SHARE`
  of its pixels close to that background and at least `INK_SHARE` far from it (strokes), and no
  side longer than `DIGIT_MAX_SIDE` (MNIST-style images are small);
- grey: anything else.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .images import ImageInputError, normalize_mode, open_image

ANALYSIS_SIDE = 64
CHROMA = 24  # levels between a pixel's largest and smallest channel for it to count as coloured
COLOUR_SHARE = 0.05
BORDER = 0.1  # the outer tenth of each side is the border
DARK, LIGHT = 64, 191  # a border median at or below DARK is a dark background, at or above LIGHT a light one
NEAR, FAR = 48, 128  # background pixels lie within NEAR levels of the border's median, strokes FAR or more away
BACKGROUND_SHARE = 0.5
INK_SHARE = 0.02
DIGIT_MAX_SIDE = 512

COLOUR, DIGIT, GREY = "colour", "digit", "grey"


def image_kind(source) -> str | None:
    """COLOUR, DIGIT or GREY (see the module docstring); None when the file cannot be read."""
    if isinstance(source, dict):
        source = source.get("path")
    if source is None or source == "":
        return None
    try:
        picture = normalize_mode(open_image(source, min_side=ANALYSIS_SIDE), 3)
    except (ImageInputError, OSError, ValueError):
        return None
    width, height = picture.size
    side = max(original_size(source) or (width, height))
    if max(width, height) > ANALYSIS_SIDE:
        factor = max(width, height) / ANALYSIS_SIDE
        picture = picture.resize((max(1, round(width / factor)), max(1, round(height / factor))),
                                 Image.Resampling.BOX)
    rgb = np.asarray(picture, dtype=np.int16)
    chroma = rgb.max(axis=2) - rgb.min(axis=2)
    if float((chroma >= CHROMA).mean()) >= COLOUR_SHARE:
        return COLOUR
    grey = rgb.mean(axis=2)
    return DIGIT if side <= DIGIT_MAX_SIDE and digit_like(grey) else GREY


def original_size(source) -> tuple[int, int] | None:
    """The (width, height) in a file's header (open_image may have reduced the image while decoding it)."""
    if not isinstance(source, (str, Path)):
        return None
    try:
        with Image.open(source) as image:
            return image.size
    except Exception:  # noqa: BLE001 - the header was read once already; any failure: no size
        return None


def digit_like(grey: np.ndarray) -> bool:
    """A (H, W) greyscale array with a plain dark or light background and some strokes on it."""
    h, w = grey.shape
    bh, bw = max(1, round(h * BORDER)), max(1, round(w * BORDER))
    edge = np.concatenate([grey[:bh].ravel(), grey[-bh:].ravel(), grey[:, :bw].ravel(), grey[:, -bw:].ravel()])
    background = float(np.median(edge))
    if DARK < background < LIGHT:
        return False
    distance = np.abs(grey - background)
    return float((distance <= NEAR).mean()) >= BACKGROUND_SHARE and float((distance >= FAR).mean()) >= INK_SHARE


@dataclass(frozen=True)
class Spec:
    """What a bundled model takes, from its config.json (read without loading the model)."""

    in_channels: int
    image_size: int
    num_classes: int | None

    def describe(self) -> str:
        colour = "greyscale" if self.in_channels == 1 else "RGB" if self.in_channels == 3 else \
            f"{self.in_channels}-channel"
        kind = f", {self.num_classes} classes" if self.num_classes else ""
        return f"{colour} {self.image_size}×{self.image_size}{kind}"


@functools.lru_cache(maxsize=64)
def _read_spec(path: str, mtime: int) -> Spec | None:
    try:
        config = json.loads(Path(path).read_text(encoding="utf-8"))
        return Spec(int(config["in_channels"]), int(config["image_size"]), config.get("num_classes"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def bundled_spec(registry, name: str) -> Spec | None:
    """The Spec of model `name` from a config.json already on this machine (a bundled model, a Hub
    model in the local cache or its bundled copy: nothing is downloaded); None without one."""
    path = registry.local_config(name)
    if path is None:
        return None
    try:
        return _read_spec(str(path), path.stat().st_mtime_ns)
    except OSError:
        return None


@dataclass(frozen=True)
class Suggestion:
    """A better-suited model for an image: its name, why (in Markdown, for the page and the notes)."""

    model: str
    kind: str
    current: str
    spec: Spec

    @property
    def reason(self) -> str:
        if self.kind == COLOUR:
            return (f"This is a colour image, and `{self.current}` is a greyscale model: it sees the image "
                    f"converted to grey.")
        return (f"This looks like a digit (greyscale strokes on a plain background), and `{self.current}` is a "
                f"colour (RGB) model.")

    @property
    def note(self) -> str:
        """For an event's note (the API's words)."""
        return (f"**Better suited: the `{self.model}` model** ({self.spec.describe()}). {self.reason} "
                f"This result is from `{self.current}`; pick `{self.model}` in the model menu for the other.")

    @property
    def hint(self) -> str:
        """For the page, beside the image and its button."""
        return f"**Better suited: `{self.model}`** ({self.spec.describe()}). {self.reason}"

    @property
    def button(self) -> str:
        return f"Switch to {self.model} (keeps this image)"


WANTS = {COLOUR: 3, DIGIT: 1}  # the input channels of a model suited to each kind of image


def suggest(registry, loaded, images, need_classes: bool = False) -> Suggestion | None:
    """The model (see bundled_spec) that suits `images` (one image or several, e.g. the two of Mix scales)
    better than `loaded` (see the module docstring), or None. Colour images want a colour model,
    digits a greyscale one, other images (grey, empty, unreadable) either: a model is suggested
    only when the images that want one all want the same kind, and `loaded` is not of that kind.
    need_classes: only class-conditional models (the Classify tab). Among candidates, unconditional
    models come first (unless classes are needed), then the registry's order (the default first)."""
    if isinstance(images, (str, Path, dict)) or images is None:
        images = [images]
    kinds = [kind for kind in map(image_kind, images) if kind in WANTS]
    wants = {WANTS[kind] for kind in kinds}
    if len(wants) != 1 or loaded.model.in_channels in wants:
        return None
    wanted, kind = wants.pop(), kinds[0]
    candidates = []
    for order, name in enumerate(registry.names()):
        spec = bundled_spec(registry, name)
        if spec is None or spec.in_channels != wanted or name == loaded.name:
            continue
        if need_classes and not spec.num_classes:
            continue
        candidates.append((bool(spec.num_classes) and not need_classes, order, name, spec))
    if not candidates:
        return None
    _, _, name, spec = min(candidates)
    return Suggestion(name, kind, loaded.name, spec)
