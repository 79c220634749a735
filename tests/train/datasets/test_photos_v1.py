"""train.datasets.photos_v1: the split the bundled `photos` model was first trained and tested on, pinned."""
import torch

from train.datasets import DatasetInfo, build_datasets

from helpers import assert_item, expected_crop


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
