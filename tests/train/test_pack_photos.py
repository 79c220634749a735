"""train.pack_photos: the Debian packages' photographs copied (checked) into one folder, which
REALNVP_PHOTO_SOURCES then reads in the packages' place, byte for byte the same photographs."""
import hashlib

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import fake_photo
from train import pack_photos, photo_manifest
from train.datasets.photos import PhotoChecksumError, available_photos, load_photo


@pytest.fixture
def debian_photos(tmp_path, monkeypatch):
    """Two generated photographs in a fake mate-backgrounds folder (one in a subfolder), and one of a
    Python package's, which is not packed."""
    rng = np.random.default_rng(1)
    mate = tmp_path / "system" / "mate"
    (mate / "sub").mkdir(parents=True)
    photos = []
    for name, file in (("m1", "m1.png"), ("m2", "sub/m2.png")):
        Image.fromarray(fake_photo(rng, 40, 50)).save(mate / file)
        sha = hashlib.sha256((mate / file).read_bytes()).hexdigest()
        photos.append(photo_manifest.Photo(name, photo_manifest.MATE, file, sha, "train", "generated", "CC0"))
    skimage = next(p for p in photo_manifest.PHOTOS if p.source == photo_manifest.SKIMAGE)
    monkeypatch.setattr(photo_manifest, "PHOTOS", (*photos, skimage))
    monkeypatch.setitem(photo_manifest.SYSTEM_DIRS, photo_manifest.MATE, mate)
    monkeypatch.delenv(photo_manifest.PACKED_SOURCES_ENV, raising=False)
    return mate


def test_packed_photographs_are_read_in_the_packages_place(debian_photos, tmp_path, monkeypatch, capsys):
    before = {p.name: load_photo(p) for p in photo_manifest.PHOTOS}
    out = tmp_path / "pack"
    assert pack_photos.main([str(out)]) == 0
    assert sorted(f.relative_to(out).as_posix() for f in out.rglob("*.png")) == [
        "mate-backgrounds/m1.png", "mate-backgrounds/sub/m2.png"]
    assert "packed 2 photographs" in capsys.readouterr().out

    for file in debian_photos.rglob("*.png"):  # the package is gone: only the pack has them
        file.unlink()
    assert available_photos()[1] != [], "without the pack the photographs are missing"
    monkeypatch.setenv(photo_manifest.PACKED_SOURCES_ENV, str(out))
    present, missing = available_photos()
    assert missing == [] and sorted(p.name for split in present.values() for p in split) == sorted(before)
    assert all(torch.equal(load_photo(p), before[p.name]) for p in photo_manifest.PHOTOS)


def test_a_changed_file_is_refused_and_the_pack_is_not_made_from_the_pack(debian_photos, tmp_path, monkeypatch, capsys):
    Image.fromarray(np.zeros((40, 50, 3), np.uint8)).save(debian_photos / "m1.png")
    assert pack_photos.main([str(tmp_path / "pack")]) == 2
    assert "SHA-256" in capsys.readouterr().err
    with pytest.raises(PhotoChecksumError):
        pack_photos.pack(tmp_path / "pack")
    monkeypatch.setenv(photo_manifest.PACKED_SOURCES_ENV, str(tmp_path / "pack"))
    assert pack_photos.main([str(tmp_path / "again")]) == 2
    assert "unset REALNVP_PHOTO_SOURCES" in capsys.readouterr().err
