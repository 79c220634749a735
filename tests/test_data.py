"""Tests of train/data.py. Nothing here touches the network: the torchvision data sets are
read from tiny fake copies written in their on-disk formats."""

import math
import pickle
import struct

import numpy as np
import pytest
import torch
from PIL import Image

from train.data import (
    DATASET_NAMES,
    ArrayImages,
    DatasetInfo,
    ImageSubset,
    ToUnitInterval,
    build_datasets,
    histogram_baseline_bpd,
)


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


def test_histogram_baseline_formula():
    # one pixel, two levels: train levels [0, 0, 1] -> p(1) = (1 + 1) / (3 + 2)
    info = DatasetInfo("tiny", 1, 1, 2, None, natural_images=False)
    train = ImageSubset(ArrayImages(torch.tensor([0, 0, 1], dtype=torch.uint8).reshape(3, 1, 1, 1), torch.zeros(3)), None, ToUnitInterval(2))
    test = ImageSubset(ArrayImages(torch.ones(1, 1, 1, 1, dtype=torch.uint8), torch.zeros(1)), None, ToUnitInterval(2))
    assert histogram_baseline_bpd(train, test, info) == pytest.approx(-math.log2(0.4))


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
# photos
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def photos():
    return build_datasets("photos", seed=0)


def expected_crop(dataset, index):
    region, top, left, flip = dataset.crop_params(index)
    size = dataset.crop_size
    crop = dataset.regions[region].pixels[:, top : top + size, left : left + size].float() / 255
    return crop.flip(-1) if flip else crop


def test_photos_items(photos):
    train, val, test, info = photos
    assert info == DatasetInfo("photos", 3, 32, 256, None, natural_images=True)
    assert len(train) == 20_000 and len(val) == 1000 and len(test) == 1000
    for dataset in (train, val, test):
        for i in range(3):
            x, _ = assert_item(dataset, i, (3, 32, 32), 256)
            assert torch.equal(x, expected_crop(dataset, i))


def test_photos_flips_in_train_only(photos):
    train, val, test, _ = photos
    train_flips = [train.crop_params(i).flip for i in range(100)]
    assert any(train_flips) and not all(train_flips)
    assert not any(d.crop_params(i).flip for d in (val, test) for i in range(300))


def test_photos_held_out(photos):
    train, val, test, _ = photos
    assert not train.photo_names & test.photo_names
    assert not val.photo_names & test.photo_names
    # validation strips never overlap the rows training crops come from
    train_rows = {(r.name, r.scale): r.rows for r in train.regions}
    for r in val.regions:
        start, stop = train_rows[(r.name, r.scale)]
        assert r.rows[0] >= stop or r.rows[1] <= start
    # every scale is represented in training and test
    assert {r.scale for r in train.regions} == {r.scale for r in test.regions}


def test_photos_reproducible(photos):
    train, val, test, _ = photos
    train2, val2, test2, _ = build_datasets("photos", seed=0)
    train3, _, test3, _ = build_datasets("photos", seed=1)
    indices = range(0, 1000, 97)
    params = [train.crop_params(i) for i in indices]
    assert params == [train2.crop_params(i) for i in indices]
    assert params != [train3.crop_params(i) for i in indices]
    assert [test.crop_params(i) for i in indices] == [test3.crop_params(i) for i in indices]
    assert torch.equal(test[5][0], test3[5][0]) and torch.equal(val[5][0], val2[5][0])
    train2.set_epoch(1)
    assert params != [train2.crop_params(i) for i in indices]


def test_photos_image_size():
    train, val, test, info = build_datasets("photos", image_size=64)
    assert info.image_size == 64
    for dataset in (train, val, test):
        assert_item(dataset, 0, (3, 64, 64), 256)


# --------------------------------------------------------------------------------------
# torchvision data sets, read from fake copies in their on-disk formats
# --------------------------------------------------------------------------------------


def write_idx(path, array: np.ndarray) -> None:
    """An idx-ubyte file: magic (0, 0, 0x08 = uint8, ndim), big-endian sizes, raw bytes."""
    header = struct.pack(">I", 0x0800 | array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def write_fake_mnist(root, folder, num_train=30, num_test=10):
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", num_train), ("t10k", num_test)):
        write_idx(raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", rng.integers(0, 10, n))


@pytest.mark.parametrize("name, folder", [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")])
def test_mnist_like(tmp_path, name, folder):
    write_fake_mnist(tmp_path, folder)
    train, val, test, info = build_datasets(name, root=tmp_path, download=False, seed=0)
    assert info == DatasetInfo(name, 1, 28, 256, 10, natural_images=False)
    assert (len(train), len(val), len(test)) == (27, 3, 10)
    assert not set(train.indices) & set(val.indices)
    for dataset in (train, val, test):
        x, y = assert_item(dataset, 0, (1, 28, 28), 256, 10)
        image, label = dataset.base.data[dataset.indices[0]], dataset.base.targets[dataset.indices[0]]
        assert torch.equal(x * 255, image.float().unsqueeze(0)) and y == label


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
