"""train.datasets.torchvision_sets: MNIST, CIFAR-10, CelebA and an image folder, read from tiny fake
copies written in their on-disk formats (nothing is downloaded)."""
import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from train.datasets import DatasetInfo, build_datasets

from helpers import assert_item, write_fake_mnist


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
