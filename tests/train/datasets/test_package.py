"""train.datasets (the package): the registry of data set names and build_datasets' checks, before
any source is read. Each source's own tests: tests/train/datasets/test_<module>.py."""
import pytest

from train.datasets import DATASET_NAMES, build_datasets


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


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist", "cifar10", "celeba"])
def test_missing_files_raise_clear_error(tmp_path, name):
    with pytest.raises(FileNotFoundError, match="download=True") as err:
        build_datasets(name, root=tmp_path, download=False)
    assert str(tmp_path) in str(err.value)
