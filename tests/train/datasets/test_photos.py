"""train.datasets.photos: crops of whole photographs held out per split, at several scales; small
generated photographs stand in for the manifest's (conftest.fake_photos), and the always-available
real ones are checked too."""
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from train import photo_manifest
from train.datasets import DatasetInfo, PhotoChecksumError, build_datasets, photo_short_sides

from helpers import FAKE_CROP, assert_item, expected_crop


def test_photos_items(fake_photos):
    train, val, test, info = build_datasets("photos", image_size=FAKE_CROP, seed=0)
    assert info == DatasetInfo("photos", 3, FAKE_CROP, 256, None, natural_images=True)
    assert (len(train), len(val), len(test)) == (20_000, 1000, 1000)
    for dataset in (train, val, test):
        for i in range(5):
            x, _ = assert_item(dataset, i, (3, FAKE_CROP, FAKE_CROP), 256)
            assert torch.equal(x, expected_crop(dataset, i))


def test_photos_whole_photographs_held_out(fake_photos):
    train, val, test, _ = build_datasets("photos", image_size=FAKE_CROP)
    assert test.photo_names == {"t1", "t2", "t3"} and val.photo_names == {"v1"}
    assert train.photo_names == {"a", "b", "m1", "m2"}
    # every crop of each split comes from that split's photographs, at each of the scales
    assert {test.regions[test.crop_params(i).region].name for i in range(1000)} == {"t1", "t2", "t3"}
    assert {r.scale for r in test.regions} == {16, 32, 64}
    # each scale gets about a third of the crops
    scales = [test.regions[test.crop_params(i).region].scale for i in range(900)]
    assert all(250 < scales.count(s) < 350 for s in (16, 32, 64))


def test_photos_scales(fake_photos):
    train, _, _, _ = build_datasets("photos", image_size=FAKE_CROP)
    for region in train.regions:
        height, width = region.pixels.shape[1:]
        native = {"a": (75, 110), "b": (40, 60), "m1": (90, 130), "m2": (100, 70)}[region.name]
        assert region.rows == (0, height)  # whole photographs
        # shorter side = the scale, or the native size: photographs are never upscaled
        assert min(height, width) == min(region.scale, min(native))
        assert abs(width / height - native[1] / native[0]) < 0.05


def test_photo_short_sides():
    assert photo_short_sides(32) == (64, 128, 256)  # the test protocol
    assert photo_short_sides(32, 4) == (64, 76, 91, 108, 128, 152, 181, 215, 256)
    assert photo_short_sides(32, 2)[::2] == photo_short_sides(32)  # finer sets keep the protocol's sides
    with pytest.raises(ValueError, match="at least 1"):
        photo_short_sides(32, 0)
    # higher training resolutions: from 64 px up to max_short_side, the protocol's sides kept
    assert photo_short_sides(32, 2, 1024) == (64, 91, 128, 181, 256, 362, 512, 724, 1024)
    assert photo_short_sides(32, 1, 700) == (64, 128, 256, 512)  # never beyond the maximum
    with pytest.raises(ValueError, match="at least 64"):
        photo_short_sides(32, 1, 40)


def test_photos_max_side_train_only(fake_photos):
    """--photo-max-side adds larger training sides (down-scales only); validation and test unchanged."""
    train, val, test, _ = build_datasets("photos", image_size=FAKE_CROP, photo_max_side=128)
    _, val1, test1, _ = build_datasets("photos", image_size=FAKE_CROP)
    assert {r.scale for r in train.regions} == {16, 32, 64, 128}
    for region in train.regions:
        native = {"a": (75, 110), "b": (40, 60), "m1": (90, 130), "m2": (100, 70)}[region.name]
        assert min(region.pixels.shape[1:]) == min(region.scale, min(native))
    for a, b in ((val, val1), (test, test1)):
        assert [a.crop_params(i) for i in range(0, 1000, 37)] == [b.crop_params(i) for i in range(0, 1000, 37)]
    with pytest.raises(ValueError, match="photos data set"):
        build_datasets("digits", photo_max_side=128)


def test_photos_scales_per_octave_train_only(fake_photos):
    """More training scales: the training crops come from every side, equally; validation and
    test are the very same crops as without the option."""
    train, val, test, _ = build_datasets("photos", image_size=FAKE_CROP, photo_scales_per_octave=2)
    _, val1, test1, _ = build_datasets("photos", image_size=FAKE_CROP)
    sides = photo_short_sides(FAKE_CROP, 2)  # 16, 23, 32, 45, 64
    assert {r.scale for r in train.regions} == set(sides) and len(sides) == 5
    scales = [train.regions[train.crop_params(i).region].scale for i in range(1000)]
    assert all(150 < scales.count(s) < 250 for s in sides)
    for a, b in ((val, val1), (test, test1)):
        assert {r.scale for r in a.regions} == {16, 32, 64}
        assert [a.crop_params(i) for i in range(0, 1000, 37)] == [b.crop_params(i) for i in range(0, 1000, 37)]
    for region in train.regions:  # each side is a downscale of the whole photograph, never an enlargement
        native = {"a": (75, 110), "b": (40, 60), "m1": (90, 130), "m2": (100, 70)}[region.name]
        assert min(region.pixels.shape[1:]) == min(region.scale, min(native))
    with pytest.raises(ValueError, match="photos data set"):
        build_datasets("digits", photo_scales_per_octave=2)


def test_photos_grey_fraction_train_only(fake_photos):
    """--photo-grey-fraction: that share of training crops has three equal channels (the crop's
    luma); the other crops, validation and test are exactly what they are without the option."""
    train, val, test, _ = build_datasets("photos", image_size=FAKE_CROP, photo_grey_fraction=0.25)
    plain, val1, test1, _ = build_datasets("photos", image_size=FAKE_CROP)
    greys = 0
    for i in range(400):
        params, x = train.crop_params(i), train[i][0]
        assert params[:4] == plain.crop_params(i)[:4]  # same place and flip
        if params.grey:
            greys += 1
            assert torch.equal(x[0], x[1]) and torch.equal(x[1], x[2])
            colour = plain[i][0]
            luma = 0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2]
            assert (x[0] - luma).abs().max() <= 1.5 / 255
        else:
            assert torch.equal(x, plain[i][0])
    assert 60 < greys < 140
    for a, b in ((val, val1), (test, test1)):
        assert not any(a.crop_params(i).grey for i in range(200))
        assert all(torch.equal(a[i][0], b[i][0]) for i in range(0, 200, 13))
    with pytest.raises(ValueError, match="photos data set"):
        build_datasets("digits", photo_grey_fraction=0.1)


def test_photos_flips_in_train_only(fake_photos):
    train, val, test, _ = build_datasets("photos", image_size=FAKE_CROP)
    train_flips = [train.crop_params(i).flip for i in range(100)]
    assert any(train_flips) and not all(train_flips)
    assert not any(d.crop_params(i).flip for d in (val, test) for i in range(300))


def test_photos_reproducible(fake_photos):
    train, val, test, _ = build_datasets("photos", image_size=FAKE_CROP, seed=0)
    train2, val2, test2, _ = build_datasets("photos", image_size=FAKE_CROP, seed=0)
    train3, val3, test3, _ = build_datasets("photos", image_size=FAKE_CROP, seed=1)
    indices = range(0, 1000, 97)
    params = [train.crop_params(i) for i in indices]
    assert params == [train2.crop_params(i) for i in indices]
    assert params != [train3.crop_params(i) for i in indices]
    # validation and test crops are fixed whatever the seed
    for a, b in ((test, test3), (val, val3)):
        assert [a.crop_params(i) for i in indices] == [b.crop_params(i) for i in indices]
        assert torch.equal(a[5][0], b[5][0])
    train2.set_epoch(1)
    assert params != [train2.crop_params(i) for i in indices]


def test_photos_without_optional_source(fake_photos, capsys):
    _, _, test, _ = build_datasets("photos", image_size=FAKE_CROP)
    assert "mate-backgrounds" not in capsys.readouterr().err
    shutil.rmtree(fake_photos)
    train, val, test2, _ = build_datasets("photos", image_size=FAKE_CROP)
    note = capsys.readouterr().err
    assert "mate-backgrounds (2 train; apt-get install mate-backgrounds)" in note
    assert train.photo_names == {"a", "b"} and val.photo_names == {"v1"}
    # the test split does not depend on the optional package
    assert [test.crop_params(i) for i in range(50)] == [test2.crop_params(i) for i in range(50)]
    assert all(torch.equal(test[i][0], test2[i][0]) for i in range(50))


def test_photos_no_validation(fake_photos):
    train, val, _, _ = build_datasets("photos", image_size=FAKE_CROP, val_fraction=0.0)
    assert len(val) == 0 and "v1" in train.photo_names


def test_photos_checksum_mismatch(fake_photos):
    path = fake_photos / "m1.png"
    Image.fromarray(np.zeros((90, 130, 3), np.uint8)).save(path)
    with pytest.raises(PhotoChecksumError, match="m1") as err:
        build_datasets("photos", image_size=FAKE_CROP)
    assert str(path) in str(err.value) and "SHA-256" in str(err.value)


def test_photos_missing_required_photo(fake_photos):
    (photo_manifest.source_dir(photo_manifest.SKIMAGE) / "t1.png").unlink()
    with pytest.raises(FileNotFoundError, match="t1"):
        build_datasets("photos", image_size=FAKE_CROP)


def test_real_photos_without_system_packages(capsys):
    # the scikit-image, scikit-learn and Matplotlib photographs are always there: check their hashes and split
    train, val, test, info = build_datasets("photos")
    note = capsys.readouterr().err
    for source, hint in photo_manifest.INSTALL_HINTS.items():
        assert f"{source} (" in note and hint in note
    assert test.photo_names == {"astronaut", "chelsea", "china", "coffee"}
    assert val.photo_names == {"flower", "grace_hopper"}
    assert train.photo_names == {"rocket", "motorcycle", "hubble_deep_field", "immunohistochemistry", "retina"}
    assert {r.scale for r in test.regions} == {64, 128, 256}
    assert_item(test, 0, (3, 32, 32), 256)
