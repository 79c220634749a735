"""Images in and out of the app: user uploads (any format, mode, bit depth, size) into model
input, and every conversion of model tensors into (H, W, 3) uint8 pictures for display."""
from __future__ import annotations

import io
import os
from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torchvision.utils import make_grid

MAX_PIXELS = 40_000_000  # refuse decompression bombs and absurd uploads before decoding them
DISPLAY_SIDE = 256  # small results are enlarged (nearest neighbour) to at least this size


class ImageInputError(ValueError):
    """An image that cannot be used; the message says what was wrong and what to do."""


# ----------------------------------------------------------------------------- uploads -> model input
def open_image(source) -> Image.Image:
    """A PIL image from a path, bytes, numpy array or PIL image, with clear errors."""
    if isinstance(source, Image.Image):
        return source
    if isinstance(source, np.ndarray):
        return array_to_pil(source)
    if isinstance(source, (bytes, bytearray)):
        data, name = bytes(source), "the upload"
    else:
        path = os.fspath(source)
        name = os.path.basename(path)
        if not os.path.isfile(path):
            raise ImageInputError(f"{name}: file not found")
        with open(path, "rb") as f:
            data = f.read()
    if not data:
        raise ImageInputError(f"{name} is empty (0 bytes); upload an image file (PNG, JPEG, WebP, BMP, GIF, TIFF)")
    try:
        # Image.open reads only the header; the size is checked before any pixel is decoded
        # (no global PIL setting or warning filter is changed, so this is thread-safe).
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > MAX_PIXELS:
            raise ImageInputError(f"{name} is {image.width}x{image.height}: it has too many pixels to open safely "
                                  f"(more than {MAX_PIXELS // 1_000_000} megapixels); use a smaller image")
        image.load()
    except ImageInputError:
        raise
    except Image.DecompressionBombError as error:
        raise ImageInputError(f"{name} has too many pixels to open safely (more than {MAX_PIXELS // 1_000_000} "
                              f"megapixels); use a smaller image") from error
    except UnidentifiedImageError as error:
        raise ImageInputError(f"{name} is not an image format this app can read; upload a PNG, JPEG, WebP, BMP, GIF or TIFF") from error
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageInputError(f"{name} is damaged or truncated ({error}); upload the image again or another file") from error
    return image


def array_to_pil(array: np.ndarray) -> Image.Image:
    array = np.asarray(array)
    if array.size == 0:
        raise ImageInputError("the image is empty (0 pixels)")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ImageInputError(f"expected an image array of shape (H, W), (H, W, 3) or (H, W, 4), got {array.shape}")
    if array.dtype != np.uint8:
        array = to_uint8(array)
    return Image.fromarray(array)


def to_uint8(array: np.ndarray, high: float | None = None) -> np.ndarray:
    """Scale images of any bit depth to 8 bits: floats in [0, 1] (or [0, 255]), integers by
    `high` (the format's maximum, e.g. 65535 for 16-bit), guessed from the values if not given."""
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * 255
    if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
        raise ImageInputError("the image contains NaN or infinite values")
    if high is None:
        top = float(array.max(initial=0))
        if np.issubdtype(array.dtype, np.floating):
            high = 1.0 if top <= 1.0 else 255.0 if top <= 255.0 else top
        else:
            high = 255 if top <= 255 else 65535 if top <= 65535 else top
    scaled = np.round(array.astype(np.float64) / high * 255)
    return np.clip(scaled, 0, 255).astype(np.uint8)


def normalize_mode(image: Image.Image, channels: int, background: int = 255) -> Image.Image:
    """Any PIL mode -> 'L' (channels=1) or 'RGB' (channels=3). Transparency is composited on a
    plain background; 16-bit and float images are rescaled, not clipped; EXIF rotation applied."""
    try:
        image = ImageOps.exif_transpose(image)
    except Exception:  # noqa: BLE001 - a broken EXIF block must not lose the image
        pass
    if getattr(image, "n_frames", 1) > 1:
        image.seek(0)
    if image.mode.startswith("I;16"):
        image = Image.fromarray(to_uint8(np.asarray(image), high=65535))
    elif image.mode in ("I", "F"):
        image = Image.fromarray(to_uint8(np.asarray(image)))
    if image.mode in ("P", "PA") or "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "La", "RGBa"):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (background,) * 3 + (255,))
        image = Image.alpha_composite(canvas, rgba).convert("RGB")
    target = "L" if channels == 1 else "RGB"
    return image.convert(target)


def center_crop_resize(image: Image.Image, size: int) -> Image.Image:
    return ImageOps.fit(image, (size, size), method=Image.Resampling.LANCZOS, centering=(0.5, 0.5))


def crop_to_multiple(image: Image.Image, multiple: int, max_side: int) -> Image.Image:
    """Downscale so the longer side is at most max_side, then centre-crop to multiples of `multiple`."""
    if max(image.size) > max_side:
        scale = max_side / max(image.size)
        image = image.resize((max(multiple, round(image.width * scale)), max(multiple, round(image.height * scale))),
                             Image.Resampling.LANCZOS)
    width, height = (image.width // multiple) * multiple, (image.height // multiple) * multiple
    if width == 0 or height == 0:
        raise ImageInputError(f"the image is {image.width}x{image.height}; it must be at least {multiple}x{multiple} pixels")
    left, top = (image.width - width) // 2, (image.height - height) // 2
    return image.crop((left, top, left + width, top + height))


def pil_to_tensor(image: Image.Image, num_levels: int = 256) -> torch.Tensor:
    """(C, H, W) float32 with the data convention k/(L-1)."""
    array = np.asarray(image, dtype=np.float64) / 255.0
    if array.ndim == 2:
        array = array[:, :, None]
    levels = np.round(array * (num_levels - 1)) / (num_levels - 1)
    return torch.from_numpy(levels.transpose(2, 0, 1).copy()).float()


def has_light_background(image: Image.Image, border: float = 0.1) -> bool:
    """True when the outer `border` fraction of a greyscale image is mostly light (dark strokes
    on white paper), the opposite of MNIST's white strokes on black."""
    array = np.asarray(image.convert("L"), dtype=np.float64)
    h, w = array.shape
    bh, bw = max(1, round(h * border)), max(1, round(w * border))
    edge = np.concatenate([array[:bh].ravel(), array[-bh:].ravel(), array[:, :bw].ravel(), array[:, -bw:].ravel()])
    return float(np.median(edge)) > 127.5


def prepare_image(source, channels: int, size: int | None, num_levels: int = 256, *, multiple: int = 1,
                  max_side: int = 256, invert: bool | str = False) -> torch.Tensor:
    """User image -> model input (1, C, H, W) in [0, 1]: centre crop and resize to `size`, or,
    with size=None, kept at its own resolution (capped at max_side, cropped to a multiple).

    invert: True/False, or "auto" to invert greyscale images with a light background (colour
    images are never inverted automatically)."""
    if invert not in (True, False, "auto"):
        raise ValueError(f"invert must be True, False or 'auto', got {invert!r}")
    image = normalize_mode(open_image(source), channels)
    image = center_crop_resize(image, size) if size is not None else crop_to_multiple(image, multiple, max_side)
    if invert == "auto":
        invert = channels == 1 and has_light_background(image)
    if invert:
        image = ImageOps.invert(image)
    return pil_to_tensor(image, num_levels)[None]


# ----------------------------------------------------------------------------- tensors -> pictures
def to_uint8_image(x: torch.Tensor) -> np.ndarray:
    """(C, H, W) or (1, C, H, W) in [0, 1] -> (H, W, 3) uint8 RGB for display."""
    if x.dim() == 4:
        x = x[0]
    array = (x.detach().float().clamp(0, 1) * 255).round().byte().cpu().numpy().transpose(1, 2, 0)
    return np.repeat(array, 3, axis=2) if array.shape[2] == 1 else array


def enlarge(image: np.ndarray, min_side: int = 256, max_factor: int = 16) -> np.ndarray:
    """Nearest-neighbour upscaling by a whole factor so that the longer side reaches `min_side`
    (small images stay crisp in a browser and in downloads); larger images are unchanged."""
    longest = max(image.shape[0], image.shape[1])
    factor = max(1, min(max_factor, -(-min_side // max(longest, 1))))
    if factor == 1:
        return image
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def for_display(image: np.ndarray) -> np.ndarray:
    """A result as the page shows it: enlarged to at least DISPLAY_SIDE pixels, crisp."""
    return enlarge(image, DISPLAY_SIDE)


def grid_image(images: torch.Tensor, nrow: int, padding: int = 2) -> np.ndarray:
    """(N, C, H, W) in [0, 1] -> one (H', W', 3) uint8 picture, `nrow` images per row, white padding."""
    grid = make_grid(images.detach().float().cpu().clamp(0, 1), nrow=max(1, nrow), padding=padding, pad_value=1.0)
    return (grid * 255).round().byte().numpy().transpose(1, 2, 0)


def overlay(image: np.ndarray, tint: np.ndarray, alpha: float = 0.6) -> np.ndarray:
    """alpha * tint + (1 - alpha) * image, both (H, W, 3) uint8."""
    return (alpha * tint.astype(np.float64) + (1 - alpha) * image.astype(np.float64)).round().astype(np.uint8)


def mask_preview(x: torch.Tensor, mask: torch.Tensor, color: Sequence[int] = (230, 60, 60),
                 alpha: float = 0.65) -> np.ndarray:
    """(H, W, 3) uint8: the image (1, C, H, W) with the pixels where mask (1, 1, H, W) is True tinted."""
    image = to_uint8_image(x)
    tint = np.empty_like(image)
    tint[...] = np.asarray(color, dtype=np.uint8)
    where = mask[0, 0].cpu().numpy()[:, :, None]
    return np.where(where, overlay(image, tint, alpha), image)
