"""python -m train.pack_photos OUT [--splits train val test]

Copy the manifest's photographs of Debian packages (train/photo_manifest.py) into OUT, one
subfolder per package, each file checked against its recorded SHA-256, so that a machine which
cannot install the packages (a lent GPU machine) can build the `photos` splits:

    REALNVP_PHOTO_SOURCES=OUT python -m train --dataset photos ...

The photographs of Python packages (scikit-image, scikit-learn, Matplotlib) are not copied: they
come with those packages.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import photo_manifest
from .datasets.photos import PhotoChecksumError, _read_photo_file, missing_photos_note, photo_path

SPLITS = ("train", "val", "test")


def pack(out: Path, splits: tuple[str, ...] = SPLITS) -> tuple[list[photo_manifest.Photo], list[photo_manifest.Photo]]:
    """Copy the present photographs of the Debian sources in `splits` to out/SOURCE/FILE; return
    (copied, missing). A file whose SHA-256 differs from the manifest's raises PhotoChecksumError."""
    copied, missing = [], []
    for photo in photo_manifest.PHOTOS:
        if photo.split not in splits or photo.source not in photo_manifest.SYSTEM_DIRS:
            continue
        source = photo_path(photo)
        if not source.is_file():
            missing.append(photo)
            continue
        data = _read_photo_file(source, photo.sha256, photo.name)  # the split is defined for these bytes only
        target = out / photo.source / photo.file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)  # the bytes checked, read once
        copied.append(photo)
    return copied, missing


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m train.pack_photos", description=__doc__.split("\n\n")[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", type=Path, help="the folder to fill (made if absent)")
    p.add_argument("--splits", nargs="+", choices=SPLITS, default=list(SPLITS))
    args = p.parse_args(argv)
    if photo_manifest.PACKED_SOURCES_ENV in os.environ:
        print(f"error: unset {photo_manifest.PACKED_SOURCES_ENV} first: the packages' own folders are packed",
              file=sys.stderr)
        return 2
    try:
        copied, missing = pack(args.out, tuple(args.splits))
    except PhotoChecksumError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    size = sum((args.out / p.source / p.file).stat().st_size for p in copied)
    print(f"packed {len(copied)} photographs ({size / 2**20:.1f} MiB) into {args.out}; "
          f"use them with {photo_manifest.PACKED_SOURCES_ENV}={args.out}")
    if missing:
        print(missing_photos_note(missing), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
