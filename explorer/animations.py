"""Latent walks as animated GIF or WebP files (Pillow writes both), written once under unique
names like every other result (explorer.results), with a cap on their size."""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image

from .results import write_once

FORMATS = ("gif", "webp")
MAX_FRAMES = 120
MIN_FRAMES = 4
MAX_FPS = 30
MAX_PIXELS = 12_000_000  # all frames together, after enlargement
TARGET_SIDE = 256  # small frames are enlarged (nearest neighbour) towards this side


def frame_duration(fps: float, fmt: str) -> int:
    """Milliseconds per frame: 1000 / fps, rounded to GIF's unit of 10 ms for GIF."""
    ms = 1000.0 / fps
    return max(10, int(round(ms / 10.0)) * 10) if fmt == "gif" else max(1, int(round(ms)))


def enlargement(count: int, height: int, width: int, target: int = TARGET_SIDE, budget: int = MAX_PIXELS) -> int:
    """The whole enlargement factor of the frames: towards `target` pixels on the longer side,
    at most what keeps count x (factor H) x (factor W) within `budget` (at least 1)."""
    wanted = max(1, -(-target // max(height, width)))
    allowed = int(math.floor(math.sqrt(budget / max(1, count * height * width))))
    return max(1, min(wanted, allowed))


def check(count: int, height: int, width: int, fps: float, fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"format must be {' or '.join(FORMATS)}, got {fmt!r}")
    if not MIN_FRAMES <= count <= MAX_FRAMES:
        raise ValueError(f"an animation has {MIN_FRAMES} to {MAX_FRAMES} frames, got {count}")
    if not (math.isfinite(fps) and 0 < fps <= MAX_FPS):
        raise ValueError(f"frames per second must lie in (0, {MAX_FPS}], got {fps!r}")
    if count * height * width > MAX_PIXELS:
        raise ValueError(f"{count} frames of {width}x{height} exceed the cap of {MAX_PIXELS:,} pixels; use fewer "
                         f"frames or smaller images")


def save_animation(frames: Sequence[np.ndarray], fps: float, fmt: str = "gif", stem: str = "walk",
                   directory=None) -> str:
    """Frames ((H, W, 3) uint8, all the same size) as a looping animated GIF or lossless WebP,
    `fps` frames per second; a new file, its path. Greyscale frames are stored as greyscale GIF."""
    frames = [np.asarray(f) for f in frames]
    if not frames or any(f.dtype != np.uint8 or f.ndim != 3 or f.shape[2] != 3 for f in frames):
        raise ValueError("expected (H, W, 3) uint8 frames")
    if any(f.shape != frames[0].shape for f in frames):
        raise ValueError("all frames must have the same size")
    height, width = frames[0].shape[:2]
    check(len(frames), height, width, fps, fmt)
    grey = all(np.array_equal(f[..., 0], f[..., 1]) and np.array_equal(f[..., 0], f[..., 2]) for f in frames)
    pictures = [Image.fromarray(f[..., 0] if grey and fmt == "gif" else f) for f in frames]
    duration = frame_duration(fps, fmt)

    def write(file):
        options = dict(save_all=True, append_images=pictures[1:], duration=duration, loop=0)
        if fmt == "gif":
            # no frame optimisation: every frame is stored whole, so readers count them all
            pictures[0].save(file, format="GIF", optimize=False, disposal=1, **options)
        else:
            pictures[0].save(file, format="WEBP", lossless=True, quality=80, method=4, **options)

    return write_once(stem, f".{fmt}", write, directory)
