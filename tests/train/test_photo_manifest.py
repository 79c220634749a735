"""train.photo_manifest: the photographs of the `photos` data set, their sources, hashes, licences,
kinds and splits (the split is part of the table, so it never drifts)."""
import hashlib
import string
from pathlib import Path

import pytest

from train import photo_manifest
from train.datasets import available_photos, missing_photos_note


def test_manifest():
    photos = photo_manifest.PHOTOS
    assert len({p.name for p in photos}) == len(photos)
    assert all(len(p.sha256) == 64 and p.licence and p.kind for p in photos)
    assert all(p.category in photo_manifest.CATEGORIES and p.split in ("train", "val", "test") for p in photos)
    # the three splits come from disjoint sources, except scikit-image / scikit-learn, whose
    # photographs are spread over the splits since the first model (each held out whole)
    sources = {split: {p.source for p in photos if p.split == split} for split in ("train", "val", "test")}
    shared = {photo_manifest.SKIMAGE, photo_manifest.SKLEARN}
    assert not (sources["train"] & sources["val"]) - shared
    assert not (sources["train"] & sources["test"]) - shared
    assert not (sources["val"] & sources["test"]) - shared
    for split in ("val", "test"):  # every kind is measured on validation and test
        assert {p.category for p in photos if p.split == split} == set(photo_manifest.CATEGORIES)
    # a test set that is always there, whatever Debian packages are installed
    always = [p for p in photos if p.split == "test" and p.source not in photo_manifest.OPTIONAL_SOURCES]
    assert {p.name for p in always} == {"astronaut", "chelsea", "china", "coffee"}
    assert sum(p.source == photo_manifest.MATE for p in photos) == 12
    assert set(photo_manifest.INSTALL_HINTS) == set(photo_manifest.OPTIONAL_SOURCES)


def test_every_entry_names_a_known_source_a_hex_hash_and_one_file():
    photos = photo_manifest.PHOTOS
    known = {photo_manifest.SKIMAGE, photo_manifest.SKLEARN, photo_manifest.MATPLOTLIB, *photo_manifest.SYSTEM_DIRS}
    assert {p.source for p in photos} == known  # every source is used, none unknown
    assert all(set(p.sha256) <= set(string.hexdigits.lower()) for p in photos)
    assert len({(p.source, p.file) for p in photos}) == len(photos) and len({p.sha256 for p in photos}) == len(photos)
    assert all(p.licence.strip() and p.kind.strip() for p in photos)


def test_the_always_available_photographs_hash_to_the_table():
    """The scikit-image, scikit-learn and Matplotlib files are the ones recorded (pip packages, not Debian's)."""
    for photo in photo_manifest.PHOTOS:
        if photo.source in photo_manifest.OPTIONAL_SOURCES:
            continue
        path = photo_manifest.source_dir(photo.source) / photo.file
        assert hashlib.sha256(path.read_bytes()).hexdigest() == photo.sha256, photo.name


def test_sources_are_found_without_importing_them():
    assert photo_manifest.source_dir(photo_manifest.SKIMAGE).parts[-2:] == ("skimage", "data")
    assert photo_manifest.source_dir(photo_manifest.SKLEARN).parts[-3:] == ("sklearn", "datasets", "images")
    assert photo_manifest.source_dir(photo_manifest.MATE) == photo_manifest.SYSTEM_DIRS[photo_manifest.MATE]
    with pytest.raises(ValueError, match="unknown photo source 'flickr'"):
        photo_manifest.source_dir("flickr")
    with pytest.raises(FileNotFoundError, match="the no_such_package package is not installed"):
        photo_manifest._package_dir("no_such_package")


def test_missing_packages_are_left_out_with_the_command_that_installs_them(monkeypatch):
    monkeypatch.setattr(photo_manifest, "SYSTEM_DIRS", {s: Path("/nonexistent") / s for s in photo_manifest.SYSTEM_DIRS})
    present, missing = available_photos()
    assert {p.source for p in missing} == set(photo_manifest.OPTIONAL_SOURCES)
    assert {p.name for p in present["test"]} == {"astronaut", "chelsea", "china", "coffee"}
    note = missing_photos_note(missing)
    for source, hint in photo_manifest.INSTALL_HINTS.items():
        count = sum(p.source == source and p.split == "train" for p in missing)
        assert f"{source} (" in note and hint in note
        if count:
            assert f"{source} ({count} train" in note
    assert "mate-backgrounds (12 train; apt-get install mate-backgrounds)" in note
    assert note.startswith("note: photos: photographs of packages that are not installed are left out: ")
