"""train.card: the model card's split and recipe text."""
from train.card import SPLIT_DESCRIPTIONS, recipe, split_description, write_card_section
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


def test_a_card_section_is_replaced_in_place_else_put_before_the_usage(tmp_path):
    card = tmp_path / "README.md"
    card.write_text("# Model\n\nFigures.\n\nLoad:\n```python\n...\n```\n", encoding="utf-8")
    write_card_section(tmp_path, "<!-- a -->\nfirst\n<!-- /a -->\n", "<!-- a -->", "<!-- /a -->")
    assert card.read_text() == "# Model\n\nFigures.\n\n<!-- a -->\nfirst\n<!-- /a -->\n\nLoad:\n```python\n...\n```\n"
    write_card_section(tmp_path, "<!-- a -->\nsecond\n<!-- /a -->\n", "<!-- a -->", "<!-- /a -->")
    assert card.read_text().count("<!-- a -->") == 1 and "second" in card.read_text() and "first" not in card.read_text()
    card.write_text("# Model\n", encoding="utf-8")  # no usage paragraph: at the end
    write_card_section(tmp_path, "<!-- b -->\nx\n<!-- /b -->\n", "<!-- b -->", "<!-- /b -->")
    assert card.read_text() == "# Model\n\n<!-- b -->\nx\n<!-- /b -->\n" and not list(tmp_path.glob(".README*"))
