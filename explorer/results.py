"""Result files: every image and array the app returns is written here, once, to a file of its own.

Gradio serves each result by streaming its file. A file that is rewritten or deleted while a
response streams it sends fewer bytes than the Content-Length already declared (issue #11:
`h11 LocalProtocolError: Too little data for declared Content-Length`). So each result gets a
new, unique name, is written under a temporary name and renamed into place (nobody sees half a
file), and is never touched again by the app. The directory lies inside Gradio's cache folder, so
Gradio serves the files without copying them and `delete_cache` (set on the Blocks) removes them
by age.
"""
from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path

import numpy as np
from gradio.utils import get_upload_folder
from PIL import Image


@functools.cache
def output_dir() -> Path:
    """This process's result directory inside Gradio's cache folder (GRADIO_TEMP_DIR or <tmp>/gradio)."""
    cache = Path(get_upload_folder())
    cache.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="realnvp-results-", dir=cache))


def write_once(stem: str, suffix: str, write, directory: Path | None = None) -> str:
    """A new file `<stem>-<8 random characters><suffix>` holding what `write(binary file)` writes; its path.

    The name is reserved first (created exclusively, so no other result can have it), the content
    is written to a temporary file and renamed onto the reserved name: the file appears whole."""
    directory = output_dir() if directory is None else Path(directory)
    fd, path = tempfile.mkstemp(dir=directory, prefix=f"{stem}-", suffix=suffix)
    os.close(fd)
    fd, staging = tempfile.mkstemp(dir=directory, prefix=f".{stem}-", suffix=suffix + ".part")
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
        os.replace(staging, path)  # replaces only the empty placeholder reserved above
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        Path(path).unlink(missing_ok=True)
        raise
    return path


def save_png(image: np.ndarray, stem: str = "image", directory: Path | None = None) -> str:
    """An (H, W, 3) uint8 picture as a new PNG file (lossless, 8-bit RGB); its path."""
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) uint8 picture, got {image.dtype} {image.shape}")
    return write_once(stem, ".png", lambda file: Image.fromarray(image).save(file, format="PNG"), directory)


def save_array(array: np.ndarray, stem: str, directory: Path | None = None) -> str:
    """A NumPy array as a new .npy file; its path."""
    return write_once(stem, ".npy", lambda file: np.save(file, array), directory)
