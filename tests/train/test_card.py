"""train.card: the model card's split and recipe text."""
from train.card import SPLIT_DESCRIPTIONS, recipe, split_description
from train.config import TrainConfig


def test_known_data_sets_describe_their_split_and_others_give_sizes():
    assert split_description("mnist5k", (1, 2, 3)) == SPLIT_DESCRIPTIONS["mnist5k"]
    assert split_description("cifar10", (45000, 5000, 10000)) == "train 45000 / validation 5000 / test 10000"


def test_recipe_names_every_setting_that_applies():
    base = TrainConfig(dataset="mnist5k", out="x")
    text = recipe(base, averaged=True)
    assert text.startswith(f"Adam, rate {base.lr:g}") and "moving average (decay" in text
    assert "no weight averaging" in recipe(base, averaged=False)
    shifted = TrainConfig(dataset="photos", out="x", max_shift=2, photo_scales=4, grad_clip=0)
    text = recipe(shifted, averaged=False)
    assert "shifted by up to 2 pixels" in text and "4 shorter sides per octave" in text
    assert "no gradient clipping" in text
