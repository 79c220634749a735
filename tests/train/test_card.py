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


def test_recipe_of_a_class_conditional_run_says_where_the_label_enters_and_the_hybrid_objective():
    plain = recipe(TrainConfig(dataset="mnist5k", out="x", num_classes=10), averaged=True)
    assert "mean -log p(x | y) per image" in plain and "as an embedding" in plain and "cross-entropy" not in plain
    hybrid = recipe(TrainConfig(dataset="mnist5k", out="x", num_classes=10, conditioning="latent_means",
                                class_loss_weight=20), averaged=True)
    assert "+ 20 x the cross-entropy of the model's own Bayes classifier" in hybrid
    assert "every image of the batch" in hybrid and "a mean per class in latent space" in hybrid
    networks = recipe(TrainConfig(dataset="mnist5k", out="x", num_classes=10, class_loss_weight=5,
                                  class_loss_images=8), averaged=True)
    assert "8 images of each batch" in networks
