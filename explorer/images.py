"""Images in and out of the app: user uploads (any format, mode, bit depth, size) into model
input, and every conversion of model tensors into (H, W, 3) uint8 pictures for display.

An upload is decoded once, by Pillow, within bounds: only the raster formats of `FORMATS`, at most
`MAX_PIXELS` pixels (checked on the header, before any pixel is decoded), and reduced while it is
decoded to what the app needs (JPEG at 1/2 to 1/8 scale by the decoder itself, other formats by
averaging blocks strip by strip), so a small file that unpacks to 40 megapixels costs one decoded
copy, not several. Every failure is an ImageInputError whose message says what to do.
"""
from __future__ import annotations

import io
import math
import os
import struct
import warnings
from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torchvision.utils import make_grid

MAX_PIXELS = 40_000_000  # refuse decompression bombs and absurd uploads before decoding them
DISPLAY_SIDE = 256  # small results are enlarged (nearest neighbour) to at least this size
DECODE_SIDE = 1024  # uploads are reduced while decoded to a shorter side of no less than this (by default)
REDUCE_MARGIN = 3  # model input: reduced while decoded to no less than 3x its size, then resized (Lanczos)
STRIP_PIXELS = 1 << 22  # pixels converted at a time while reducing (bounds the extra memory)
# Pillow plugins an upload may use: common raster formats (JPEG includes MPO; an animation gives its first
# frame). Vector and document formats (EPS, PDF), which Pillow renders with outside programs, and rare
# formats are refused.
FORMATS = ("PNG", "JPEG", "WEBP", "AVIF", "GIF", "BMP", "DIB", "TIFF", "ICO", "PPM", "TGA", "QOI",
           "JPEG2000")
READABLE = "PNG, JPEG, WebP, AVIF, GIF, BMP, TIFF, ICO, PPM/PGM/PBM, TGA, QOI or JPEG 2000"
ORIENTATION = 0x0112  # the EXIF tag
TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
             5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
             8: Image.Transpose.ROTATE_90}
# what Pillow raises on a malformed file, besides OSError (truncated, broken stream) and SyntaxError (bad header)
DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError, ZeroDivisionError,
                 OverflowError, struct.error, AttributeError, NotImplementedError, RuntimeError)


class ImageInputError(ValueError):
    """An image that cannot be used; the message says what was wrong and what to do."""


# ----------------------------------------------------------------------------- uploads -> model input
def open_image(source, min_side: int = DECODE_SIDE) -> Image.Image:
    """A decoded PIL image from a path, bytes, numpy array or PIL image, with clear errors.

    Files are reduced while decoded by a whole factor as long as the shorter side stays at least
    `min_side` pixels (EXIF orientation is then applied here; an image not reduced keeps its EXIF).
    Arrays and PIL images are returned as they are."""
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
        raise ImageInputError(f"{name} is empty (0 bytes); upload an image file ({READABLE})")
    too_many = (f"it has too many pixels to open safely (more than {MAX_PIXELS // 1_000_000} megapixels); "
                f"use a smaller image")
    try:
        with warnings.catch_warnings():  # Pillow warns about odd files (EXIF, bombs): they are refused or read
            warnings.simplefilter("ignore")
            # Image.open reads only the header; the size is checked before any pixel is decoded
            # (no global PIL setting is changed, so this is thread-safe).
            Image.init()  # registers every plugin once (Image.open with `formats` looks only at registered ones)
            image = Image.open(io.BytesIO(data), formats=FORMATS)
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise ImageInputError(f"{name} is {width}x{height}: {too_many}")
            if width < 1 or height < 1:
                raise ImageInputError(f"{name} is {width}x{height}: it has no pixels; upload another image")
            factor = min(width, height) // max(1, min_side)
            if factor >= 2 and image.format in ("JPEG", "MPO"):
                image.draft(None, (math.ceil(width / factor), math.ceil(height / factor)))  # the decoder scales
            image.load()
            factor = min(image.size) // max(1, min_side)
            if factor >= 2:
                turn = TRANSPOSE.get(orientation(image))
                image = reduce_image(image, factor)
                if turn is not None:
                    image = image.transpose(turn)
    except ImageInputError:
        raise
    except Image.DecompressionBombError as error:
        raise ImageInputError(f"{name}: {too_many}") from error
    except UnidentifiedImageError as error:
        raise ImageInputError(f"{name} is not an image format this app can read; upload a {READABLE} "
                              f"file") from error
    except MemoryError as error:
        raise ImageInputError(f"{name} is too large to decode here; use a smaller image") from error
    except DECODE_ERRORS as error:
        detail = " ".join(str(error).split())[:200] or type(error).__name__
        raise ImageInputError(f"{name} is damaged or truncated ({detail}); upload the image again or another "
                              f"file") from error
    return image


def orientation(image: Image.Image) -> int:
    """The EXIF orientation (1-8; 1 when absent or unreadable)."""
    try:
        return int(image.getexif().get(ORIENTATION, 1))
    except Exception:  # noqa: BLE001 - a broken EXIF block must not lose the image
        return 1


def reduce_image(image: Image.Image, factor: int) -> Image.Image:
    """The image reduced `factor` times (each output pixel the mean of a factor x factor block), converted
    strip by strip so the extra memory stays small: palettes, 1-bit and transparent images are averaged
    as colours (transparency premultiplied), 16-bit images become 8-bit. Partial blocks at the
    edges are dropped (as much on each side)."""
    width, height = image.width // factor, image.height // factor
    left, top = (image.width - width * factor) // 2, (image.height - height * factor) // 2  # centred
    rows = max(1, STRIP_PIXELS // max(1, image.width * factor)) * factor
    parts = []
    for y in range(top, top + height * factor, rows):
        strip = image.crop((left, y, left + width * factor, min(y + rows, top + height * factor)))
        parts.append(reduce_strip(strip, factor))
    out = Image.new(parts[0].mode, (width, height))
    y = 0
    for part in parts:
        out.paste(part, (0, y))
        y += part.height
    return out.convert({"La": "LA", "RGBa": "RGBA"}.get(out.mode, out.mode))


def reduce_strip(strip: Image.Image, factor: int) -> Image.Image:
    if strip.mode.startswith("I;16"):
        reduced = strip.convert("I").reduce(factor)
        return Image.fromarray(to_uint8(np.asarray(reduced), high=65535))
    if strip.mode in ("P", "PA") or "transparency" in strip.info:
        strip = strip.convert("RGBA")
    if strip.mode == "1":
        strip = strip.convert("L")
    premultiplied = {"RGBA": "RGBa", "LA": "La"}.get(strip.mode)
    if premultiplied:
        strip = strip.convert(premultiplied)
    if strip.mode not in ("L", "La", "I", "F", "RGB", "RGBa", "RGBX", "CMYK", "YCbCr", "LAB", "HSV"):
        strip = strip.convert("RGB")
    return strip.reduce(factor)


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
    plain background; 16-bit and float images are rescaled, not clipped; CIE L*a*b* is converted to
    sRGB; EXIF rotation applied; an animation gives its first frame."""
    try:
        image = ImageOps.exif_transpose(image)
    except Exception:  # noqa: BLE001 - a broken EXIF block must not lose the image
        pass
    if getattr(image, "tell", lambda: 0)() != 0:
        image.seek(0)
        image.load()
    mode = image.mode
    try:
        if mode.startswith("I;16"):
            image = Image.fromarray(to_uint8(np.asarray(image), high=65535))
        elif mode in ("I", "F"):
            image = Image.fromarray(to_uint8(np.asarray(image)))
        elif mode == "LAB":
            image = lab_to_rgb(image)
        elif mode in ("La", "RGBa"):  # premultiplied alpha
            image = image.convert({"La": "LA", "RGBa": "RGBA"}[mode])
        if image.mode in ("P", "PA") or "transparency" in image.info:
            image = image.convert("RGBA")
        if image.mode in ("RGBA", "LA", "La", "RGBa"):
            rgba = image.convert("RGBA")
            canvas = Image.new("RGBA", rgba.size, (background,) * 3 + (255,))
            image = Image.alpha_composite(canvas, rgba).convert("RGB")
        return image.convert("L" if channels == 1 else "RGB")
    except ImageInputError:
        raise
    except (ValueError, OSError) as error:
        raise ImageInputError(f"images in the colour mode {mode} cannot be converted here ({error}); save it as "
                              f"RGB or greyscale and upload it again") from error


def lab_to_rgb(image: Image.Image) -> Image.Image:
    """CIE L*a*b* (D50) to sRGB through littleCMS (a transform per call: applying one is not thread-safe)."""
    from PIL import ImageCms

    transform = ImageCms.buildTransform(ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB"), "LAB", "RGB")
    return ImageCms.applyTransform(image, transform)


def center_crop_resize(image: Image.Image, size: int | tuple[int, int]) -> Image.Image:
    """Centre crop and resize (Lanczos) to `size` x `size`, or to (height, width)."""
    height, width = (size, size) if isinstance(size, int) else size
    return ImageOps.fit(image, (width, height), method=Image.Resampling.LANCZOS, centering=(0.5, 0.5))


def crop_to_multiple(image: Image.Image, multiple: int, max_side: int) -> Image.Image:
    """Downscale so the longer side is at most max_side, then centre-crop to multiples of `multiple`."""
    if max(image.size) > max_side:
        scale = max_side / max(image.size)
        image = image.resize((max(multiple, round(image.width * scale)), max(multiple, round(image.height * scale))),
                             Image.Resampling.LANCZOS)
    width, height = (image.width // multiple) * multiple, (image.height // multiple) * multiple
    if width == 0 or height == 0:
        raise ImageInputError(f"the image is {image.width}x{image.height}; it must be at least {multiple}x{multiple} "
                              f"pixels")
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


def prepare_image(source, channels: int, size: int | tuple[int, int] | None, num_levels: int = 256, *,
                  multiple: int = 1, max_side: int = 256, invert: bool | str = False) -> torch.Tensor:
    """User image -> model input (1, C, H, W) in [0, 1]: centre crop and resize to `size` (a side, or
    (height, width): the second image of a pair at the first's size), or, with size=None, kept at its own
    resolution (capped at max_side, cropped to a multiple).

    invert: True/False, or "auto" to invert greyscale images with a light background (colour
    images are never inverted automatically)."""
    if invert not in (True, False, "auto"):
        raise ValueError(f"invert must be True, False or 'auto', got {invert!r}")
    needed = max_side if size is None else size if isinstance(size, int) else max(size)  # the result's side (at most)
    image = normalize_mode(open_image(source, min_side=REDUCE_MARGIN * needed), channels)
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
