"""The out-of-distribution lab's data: a bundled model's precomputed ood.json (written by
`python -m train.ood`), and the lossless-codec bits/dim of an uploaded image, computed exactly
by realnvp.codecs, as the trainer computes them for the test sets."""
from __future__ import annotations

import functools
import json
import logging
from pathlib import Path

import numpy as np

from realnvp import codecs

log = logging.getLogger(__name__)

OOD_FILE = "ood.json"


def read_ood(directory: Path | str | None) -> dict | None:
    """The model's ood.json, or None when it has none (or it cannot be read). Cached per file
    version (path, modification time, size)."""
    if directory is None:
        return None
    path = Path(directory) / OOD_FILE
    try:
        stat = path.stat()
    except OSError:
        return None
    return _read(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=16)
def _read(path: str, mtime: int, size: int) -> dict | None:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("in"), dict) or not isinstance(data.get("out"), list):
            raise ValueError("expected {'in': {...}, 'out': [...]}")
        for entry in [data["in"], *data["out"]]:
            if len(entry["bpd"]) != len(entry["codec_bpd"]["png"]) or not entry["bpd"]:
                raise ValueError(f"{entry.get('dataset')}: bits/dim and codec figures differ in length")
    except (OSError, ValueError, KeyError, TypeError) as error:
        log.warning("%s: unusable (%s); ignoring it", path, error)
        return None
    return data


def others(data: dict | None) -> list[str]:
    """The names of the other data sets an ood.json compares with."""
    return [entry["dataset"] for entry in data["out"]] if data else []


def other_entry(data: dict, name: str | None) -> dict:
    """The entry of data set `name` ("auto" or None: the first)."""
    if name in (None, "", "auto"):
        return data["out"][0]
    for entry in data["out"]:
        if entry["dataset"] == name:
            return entry
    raise ValueError(f"no precomputed figures for {name!r}; choose one of {', '.join(others(data))}")


def scores(entry: dict, codec: str | None) -> np.ndarray:
    """Each image's score (higher = more out of distribution): its bits/dim, or with a codec the
    input-complexity-corrected bits/dim minus the codec's bits/dim (Serra et al., 2020)."""
    bpd = np.asarray(entry["bpd"], dtype=np.float64)
    return bpd if codec is None else bpd - np.asarray(entry["codec_bpd"][codec], dtype=np.float64)


def codec_bits_per_dim(image: np.ndarray, codec: str) -> float:
    """Bits/dim of one uint8 (C, H, W) image encoded on its own: 8 * len(file) / (C H W)."""
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[0] not in (1, 3):
        raise ValueError(f"expected a uint8 (C, H, W) image with C = 1 or 3, got {image.dtype} {image.shape}")
    return float(codecs.codec_bits_per_dim(image[None], codec)[0])
