"""Tests of the train/datasets package. Nothing here touches the network: the torchvision data sets are
read from tiny fake copies written in their on-disk formats."""

import gzip
import math
import pickle
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from train.datasets import fashion_mnist as fashion_mnist_module
from train import photo_manifest
from helpers import FAKE_CROP
from train.baselines import histogram_baseline_bpd
from train.datasets import (
    DATASET_NAMES,
    ArrayImages,
    DatasetInfo,
    ImageSubset,
    PhotoChecksumError,
    ToUnitInterval,
    build_datasets,
    photo_short_sides,
    read_idx,
)


@pytest.fixture(autouse=True)
def no_system_data(monkeypatch):
    """Tests never depend on Debian's data packages being installed (or not)."""
    monkeypatch.setattr(fashion_mnist_module, "FASHION_MNIST_SYSTEM_DIR", Path("/nonexistent/fashion-mnist"))
    monkeypatch.setattr(photo_manifest, "SYSTEM_DIRS", {s: Path("/nonexistent") / s for s in photo_manifest.SYSTEM_DIRS})


def assert_quantized(x: torch.Tensor, num_levels: int) -> None:
    """x is float32 in [0, 1] with values exactly k / (L - 1) for integers k."""
    assert x.dtype == torch.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    levels = torch.round(x * (num_levels - 1))
    assert torch.equal(x, levels / (num_levels - 1))


def assert_item(dataset, index, shape, num_levels, num_classes=None):
    x, y = dataset[index]
    assert x.shape == shape
    assert_quantized(x, num_levels)
    assert y.dtype == torch.int64 and y.ndim == 0
    if num_classes is None:
        assert y.item() == 0
    else:
        assert 0 <= y.item() < num_classes
    return x, y


# --------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError) as err:
        build_datasets("imagenet")
    for name in DATASET_NAMES:
        assert name in str(err.value)


@pytest.mark.parametrize("name", ["mnist5k", "digits"])
def test_non_native_image_size_is_rejected(name):
    with pytest.raises(ValueError, match="image_size"):
        build_datasets(name, image_size=32)


def test_bad_val_fraction_is_rejected():
    with pytest.raises(ValueError, match="val_fraction"):
        build_datasets("digits", val_fraction=1.0)


# --------------------------------------------------------------------------------------
# mnist5k
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mnist5k():
    return build_datasets("mnist5k", seed=0)


def test_mnist5k_split_sizes_and_disjointness(mnist5k):
    train, val, test, info = mnist5k
    assert info == DatasetInfo("mnist5k", 1, 28, 256, 10, natural_images=False)
    assert len(train) + len(val) == 4000 and len(val) == 400 and len(test) == 1000
    train_idx, val_idx, test_idx = set(train.indices), set(val.indices), set(test.indices)
    assert not train_idx & val_idx and not train_idx & test_idx and not val_idx & test_idx
    assert train_idx | val_idx | test_idx == set(range(5000))


def test_mnist5k_test_set_is_last_100_of_each_digit(mnist5k):
    _, _, test, _ = mnist5k
    labels = test.base.labels
    # the file holds 500 images per digit, sorted by digit
    assert torch.equal(labels, torch.arange(10).repeat_interleave(500))
    expected = [500 * digit + k for digit in range(10) for k in range(400, 500)]
    assert test.indices == expected
    assert torch.equal(torch.bincount(labels[test.indices]), torch.full((10,), 100))


def test_mnist5k_split_is_fixed(mnist5k):
    train, val, test, _ = mnist5k
    train2, val2, test2, _ = build_datasets("mnist5k", seed=0)
    assert (train2.indices, val2.indices, test2.indices) == (train.indices, val.indices, test.indices)
    train3, val3, test3, _ = build_datasets("mnist5k", seed=1)
    assert test3.indices == test.indices
    assert set(train3.indices) | set(val3.indices) == set(train.indices) | set(val.indices)
    assert val3.indices != val.indices


def test_mnist5k_items(mnist5k):
    train, _, test, _ = mnist5k
    for dataset in (train, test):
        for i in (0, len(dataset) - 1):
            x, y = assert_item(dataset, i, (1, 28, 28), 256, 10)
            j = dataset.indices[i]
            assert y.item() == dataset.base.labels[j]
            assert torch.equal(x * 255, dataset.base.images[j].float())
    assert len(torch.unique(train[0][0])) > 2  # real grey levels, not binarised


def test_mnist5k_histogram_baseline(mnist5k):
    train, _, test, info = mnist5k
    bpd = histogram_baseline_bpd(train, test, info)
    assert 1.6 < bpd < 1.95


# --------------------------------------------------------------------------------------
# digits
# --------------------------------------------------------------------------------------


def test_digits():
    train, val, test, info = build_datasets("digits", seed=0)
    assert info == DatasetInfo("digits", 1, 8, 17, 10, natural_images=False)
    assert len(train) + len(val) + len(test) == 1797
    assert len(test) == 360
    assert not set(train.indices) & set(val.indices)
    assert not set(test.indices) & (set(train.indices) | set(val.indices))
    # stratified test split: every digit has 35 or 36 test images
    counts = torch.bincount(test.base.labels[test.indices])
    assert counts.min() >= 35 and counts.max() <= 37
    x, y = assert_item(train, 0, (1, 8, 8), 17, 10)
    assert torch.equal(x * 16, train.base.images[train.indices[0]].float())
    i = next(i for i, j in enumerate(train.indices) if train.base.images[j].max() == 16)
    assert train[i][0].max() == 1.0  # the top level, 16, maps to exactly 1
    _, val1, test1, _ = build_datasets("digits", seed=1)
    assert test1.indices == test.indices and val1.indices != val.indices


# --------------------------------------------------------------------------------------
# photos: small generated photographs stand in for the manifest's (monkeypatched sources)
# --------------------------------------------------------------------------------------

def expected_crop(dataset, index):
    region, top, left, flip, _ = dataset.crop_params(index)  # grey crops: test_photos_grey_fraction_train_only
    size = dataset.crop_size
    crop = dataset.regions[region].pixels[:, top : top + size, left : left + size].float() / 255
    return crop.flip(-1) if flip else crop


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


def test_photos_v1_unchanged():
    """photos-v1 is the split of the bundled `photos` model: coffee held out, the bottom strip
    of each training photograph for validation."""
    train, val, test, info = build_datasets("photos-v1", seed=0)
    assert info == DatasetInfo("photos-v1", 3, 32, 256, None, natural_images=True)
    assert (len(train), len(val), len(test)) == (20_000, 1000, 1000)
    assert test.photo_names == {"coffee"} and train.photo_names == {"astronaut", "chelsea", "rocket", "motorcycle"}
    train_rows = {(r.name, r.scale): r.rows for r in train.regions}
    for r in val.regions:
        start, stop = train_rows[(r.name, r.scale)]
        assert r.rows[0] >= stop or r.rows[1] <= start
    assert {r.scale for r in train.regions} == {r.scale for r in test.regions} == {1.0, 0.5, 0.25}
    # pinned (values of the original `photos` code): crops the bundled model's reference.json scored
    assert test.crop_params(0) == (0, 105, 228, False, False) and test.crop_params(999) == (0, 289, 151, False, False)
    x, _ = assert_item(test, 0, (3, 32, 32), 256)
    assert torch.equal(x, expected_crop(test, 0))
    assert int((x * 255).round().sum()) == 271070 and int((test[999][0] * 255).round().sum()) == 143220


# --------------------------------------------------------------------------------------
# torchvision data sets, read from fake copies in their on-disk formats
# --------------------------------------------------------------------------------------


def write_idx(path, array: np.ndarray) -> None:
    """An idx-ubyte file: magic (0, 0, 0x08 = uint8, ndim), big-endian sizes, raw bytes."""
    header = struct.pack(">I", 0x0800 | array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def write_fake_mnist(root, folder, num_train=30, num_test=10, compress=False):
    """Fake MNIST-like IDX files in ``root/folder/raw`` (``folder=None``: in ``root`` itself);
    returns the arrays written, ``{prefix: (images, labels)}``."""
    raw = root if folder is None else root / folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    written = {}
    for prefix, n in (("train", num_train), ("t10k", num_test)):
        images, labels = rng.integers(0, 256, (n, 28, 28)).astype(np.uint8), rng.integers(0, 10, n).astype(np.uint8)
        for stem, array in ((f"{prefix}-images-idx3-ubyte", images), (f"{prefix}-labels-idx1-ubyte", labels)):
            write_idx(raw / stem, array)
            if compress:  # as Debian's dataset-fashion-mnist ships them
                (raw / f"{stem}.gz").write_bytes(gzip.compress((raw / stem).read_bytes()))
                (raw / stem).unlink()
        written[prefix] = (images, labels)
    return written


def test_mnist(tmp_path):
    write_fake_mnist(tmp_path, "MNIST")
    train, val, test, info = build_datasets("mnist", root=tmp_path, download=False, seed=0)
    assert info == DatasetInfo("mnist", 1, 28, 256, 10, natural_images=False)
    assert (len(train), len(val), len(test)) == (27, 3, 10)
    assert not set(train.indices) & set(val.indices)
    for dataset in (train, val, test):
        x, y = assert_item(dataset, 0, (1, 28, 28), 256, 10)
        image, label = dataset.base.data[dataset.indices[0]], dataset.base.targets[dataset.indices[0]]
        assert torch.equal(x * 255, image.float().unsqueeze(0)) and y == label


def no_download(*args, **kwargs):
    raise AssertionError("nothing may be downloaded when the files are present")


@pytest.mark.parametrize("place", ["torchvision layout", "root", "system"])
@pytest.mark.parametrize("compress", [False, True])
def test_fashion_mnist_local_files(tmp_path, monkeypatch, place, compress):
    monkeypatch.setattr(fashion_mnist_module.tv_datasets, "FashionMNIST", no_download)
    root = tmp_path / "root"
    if place == "torchvision layout":
        written = write_fake_mnist(root, "FashionMNIST", compress=compress)
    elif place == "root":
        written = write_fake_mnist(root, None, compress=compress)
    else:  # Debian's /usr/share/datasets/fashion-mnist
        written = write_fake_mnist(tmp_path / "system", None, compress=compress)
        monkeypatch.setattr(fashion_mnist_module, "FASHION_MNIST_SYSTEM_DIR", tmp_path / "system")
    train, val, test, info = build_datasets("fashion-mnist", root=root, download=True, seed=0)
    assert info == DatasetInfo("fashion-mnist", 1, 28, 256, 10, natural_images=False)
    assert (len(train), len(val), len(test)) == (27, 3, 10)
    assert not set(train.indices) & set(val.indices) and sorted(train.indices + val.indices) == list(range(30))
    for dataset, prefix in ((train, "train"), (val, "train"), (test, "t10k")):
        images, labels = written[prefix]
        for i in range(len(dataset)):
            x, y = assert_item(dataset, i, (1, 28, 28), 256, 10)
            j = dataset.indices[i]
            assert torch.equal(x * 255, torch.from_numpy(images[j]).float().unsqueeze(0)) and y == labels[j]
    assert test.indices == list(range(10))  # the official test set, whole
    _, val1, test1, _ = build_datasets("fashion-mnist", root=root, download=False, seed=1)
    assert val1.indices != val.indices and test1.indices == test.indices


def test_fashion_mnist_prefers_root_over_system(tmp_path, monkeypatch):
    write_fake_mnist(tmp_path / "root", "FashionMNIST", num_test=10)
    write_fake_mnist(tmp_path / "system", None, num_test=7)
    monkeypatch.setattr(fashion_mnist_module, "FASHION_MNIST_SYSTEM_DIR", tmp_path / "system")
    assert len(build_datasets("fashion-mnist", root=tmp_path / "root", download=False)[2]) == 10
    assert len(build_datasets("fashion-mnist", root=tmp_path / "elsewhere", download=False)[2]) == 7


def test_fashion_mnist_missing(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        build_datasets("fashion-mnist", root=tmp_path, download=False)
    message = str(err.value)
    assert "apt-get install dataset-fashion-mnist" in message and "--root DIR without --no-download" in message
    assert str(tmp_path) in message and "t10k-images-idx3-ubyte" in message


def test_fashion_mnist_downloads_only_when_missing(tmp_path, monkeypatch):
    calls = []

    def fake_download(root, train, download):  # what torchvision leaves behind: .gz and extracted files
        calls.append((root, download))
        write_fake_mnist(Path(root), "FashionMNIST", compress=True)

    monkeypatch.setattr(fashion_mnist_module.tv_datasets, "FashionMNIST", fake_download)
    _, _, test, _ = build_datasets("fashion-mnist", root=tmp_path, download=True)
    assert calls == [(str(tmp_path), True)] and len(test) == 10


def test_read_idx(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a", array)
    (tmp_path / "a.gz").write_bytes(gzip.compress((tmp_path / "a").read_bytes()))
    assert np.array_equal(read_idx(tmp_path / "a"), array) and np.array_equal(read_idx(tmp_path / "a.gz"), array)
    (tmp_path / "short").write_bytes((tmp_path / "a").read_bytes()[:-1])
    with pytest.raises(ValueError, match="bytes follow"):
        read_idx(tmp_path / "short")
    (tmp_path / "bad").write_bytes(b"\x00\x00\x0d\x01" + bytes(8))
    with pytest.raises(ValueError, match="not an IDX"):
        read_idx(tmp_path / "bad")


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist", "cifar10", "celeba"])
def test_missing_files_raise_clear_error(tmp_path, name):
    with pytest.raises(FileNotFoundError, match="download=True") as err:
        build_datasets(name, root=tmp_path, download=False)
    assert str(tmp_path) in str(err.value)


def write_fake_cifar10(root, per_batch=4, num_test=5):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    batches = [f"data_batch_{i}" for i in range(1, 6)]
    for name, n in [(b, per_batch) for b in batches] + [("test_batch", num_test)]:
        entry = {"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), "labels": rng.integers(0, 10, n).tolist()}
        (folder / name).write_bytes(pickle.dumps(entry))
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": names}))


def test_cifar10(tmp_path):
    write_fake_cifar10(tmp_path)
    # the fake files fail torchvision's MD5 checks unless verification is switched off
    with pytest.raises(FileNotFoundError, match="verify=False"):
        build_datasets("cifar10", root=tmp_path, download=False)
    train, val, test, info = build_datasets("cifar10", root=tmp_path, download=False, verify=False)
    assert info == DatasetInfo("cifar10", 3, 32, 256, 10, natural_images=True)
    assert (len(train), len(val), len(test)) == (18, 2, 5)
    x, _ = assert_item(test, 0, (3, 32, 32), 256, 10)
    assert torch.equal(x * 255, torch.from_numpy(test.base.data[0]).permute(2, 0, 1).float())
    # training images are flipped at random, validation images never
    i = train.indices[0]
    original = torch.from_numpy(train.base.data[i]).permute(2, 0, 1).float() / 255
    seen = {bool(torch.equal(train[0][0], original.flip(-1))) for _ in range(30)}
    assert seen == {True, False}
    j = val.indices[0]
    assert all(torch.equal(val[0][0] * 255, torch.from_numpy(val.base.data[j]).permute(2, 0, 1).float()) for _ in range(5))


# (torchvision's CelebA cannot load a split holding a single image)
def write_fake_celeba(root, partitions=(0, 0, 0, 1, 1, 2, 2)):
    folder = root / "celeba"
    (folder / "img_align_celeba").mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = [f"{i + 1:06d}.jpg" for i in range(len(partitions))]
    for name in names:
        Image.fromarray(rng.integers(0, 256, (218, 178, 3), dtype=np.uint8)).save(folder / "img_align_celeba" / name)
    n = len(names)

    def write(filename, header, rows):
        lines = ([str(n), " ".join(header)] if header else []) + [" ".join(map(str, row)) for row in rows]
        (folder / filename).write_text("\n".join(lines) + "\n")

    write("list_eval_partition.txt", None, [(name, p) for name, p in zip(names, partitions)])
    write("identity_CelebA.txt", None, [(name, i) for i, name in enumerate(names)])
    write("list_bbox_celeba.txt", ["image_id", "x_1", "y_1", "width", "height"], [(name, 1, 2, 3, 4) for name in names])
    landmarks = ["lefteye_x", "lefteye_y", "righteye_x", "righteye_y", "nose_x", "nose_y"]
    landmarks += ["leftmouth_x", "leftmouth_y", "rightmouth_x", "rightmouth_y"]
    write("list_landmarks_align_celeba.txt", landmarks, [(name, *range(10)) for name in names])
    write("list_attr_celeba.txt", ["Smiling", "Young"], [(name, 1, -1) for name in names])


def test_celeba(tmp_path):
    write_fake_celeba(tmp_path)
    with pytest.raises(FileNotFoundError, match="verify=False"):
        build_datasets("celeba", root=tmp_path, download=False)
    train, val, test, info = build_datasets("celeba", root=tmp_path, download=False, verify=False)
    assert info == DatasetInfo("celeba", 3, 64, 256, None, natural_images=True)
    assert (len(train), len(val), len(test)) == (3, 2, 2)
    for dataset in (train, val, test):
        assert_item(dataset, 0, (3, 64, 64), 256)
    small, _, _, info = build_datasets("celeba", root=tmp_path, download=False, verify=False, image_size=32)
    assert info.image_size == 32
    assert_item(small, 2, (3, 32, 32), 256)


def write_image_folder(folder, classes, per_class=10):
    rng = np.random.default_rng(0)
    for c, name in enumerate(classes):
        (folder / name).mkdir(parents=True)
        for i in range(per_class):
            if i % 2:  # greyscale, wide
                image = Image.fromarray(rng.integers(0, 256, (30, 50), dtype=np.uint8))
            else:  # RGBA, tall
                image = Image.fromarray(rng.integers(0, 256, (40, 30, 4), dtype=np.uint8))
            image.save(folder / name / f"{i}.png")


def test_folder(tmp_path):
    write_image_folder(tmp_path / "images", ["cats", "dogs"])
    train, val, test, info = build_datasets("folder", folder=tmp_path / "images", image_size=16, seed=0)
    assert info == DatasetInfo("folder", 3, 16, 256, 2, natural_images=True)
    assert (len(train), len(val), len(test)) == (16, 2, 2)
    assert set(train.indices) | set(val.indices) | set(test.indices) == set(range(20))
    assert not set(train.indices) & set(val.indices) and not set(test.indices) & set(train.indices + val.indices)
    labels = {assert_item(train, i, (3, 16, 16), 256, 2)[1].item() for i in range(len(train))}
    assert labels == {0, 1}
    assert_item(test, 0, (3, 16, 16), 256, 2)
    _, _, test1, _ = build_datasets("folder", folder=tmp_path / "images", image_size=16, seed=1)
    assert test1.indices == test.indices


def test_folder_single_class_is_unlabelled(tmp_path):
    write_image_folder(tmp_path / "images", ["all"])
    train, _, _, info = build_datasets("folder", folder=tmp_path / "images")
    assert info.num_classes is None and info.image_size == 64
    assert_item(train, 0, (3, 64, 64), 256)


def test_folder_needs_a_folder(tmp_path):
    with pytest.raises(ValueError, match="folder="):
        build_datasets("folder")
    with pytest.raises(FileNotFoundError, match="nowhere"):
        build_datasets("folder", folder=tmp_path / "nowhere")
