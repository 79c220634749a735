"""bench/restyle.py: the images it takes, its table, and the model-card block it writes."""
import json
import re

import pytest
import torch

from helpers import load_bench

CARD = ("# Real NVP: tiny\n\nSome words.\n\n<!-- classifier -->\n## As a classifier\n<!-- /classifier -->\n\n"
        "Load:\n```\n```\n")


@pytest.fixture(scope="module")
def bench():
    return load_bench("restyle")


def test_the_images_are_taken_class_by_class_in_turn(bench):
    labels = torch.tensor([0, 0, 0, 1, 2, 2, 1])
    assert bench.balanced_subset(labels, None) == [0, 3, 4, 1, 6, 5, 2]
    assert bench.balanced_subset(labels, 4) == [0, 3, 4, 1]


@pytest.mark.slow
def test_writes_the_table_into_the_model_card_once(bench, tmp_path, capsys):
    from realnvp.checks import random_model

    directory = tmp_path / "tiny"
    model = random_model(channels=1, size=8, num_scales=2, dtype=torch.float32, num_classes=10)
    model.save_pretrained(directory)
    (directory / "README.md").write_text(CARD, encoding="utf-8")
    (directory / "reference.json").write_text(json.dumps({"dataset": "digits"}), encoding="utf-8")
    argv = ["--model", str(directory), "--images", "12", "--batch-size", "5", "--write"]
    assert bench.main(argv) == 0
    printed = capsys.readouterr().out
    assert "digits test, 12 images, 108 restyled" in printed  # 12 sources, each into the 9 other classes
    rows = [line for line in printed.splitlines() if line.startswith("| ")]
    assert len(rows) == 1 + 10 + 1  # header, one row per class, all
    assert rows[-1].startswith("| **all** | 108 | ")
    card = (directory / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- restyle -->\n(.*?)<!-- /restyle -->\n", card, re.S)
    assert block and card.count("<!-- restyle -->") == 1
    assert card.index("<!-- /classifier -->") < block.start() < card.index("\nLoad:\n")  # before the usage
    assert "| **all** | 108 | " in block.group(1) and "12 `digits` test images" in block.group(1)
    assert f"python bench/restyle.py --model {directory} --images 12 --write" in block.group(1)
    # a second run replaces the block
    assert bench.main(["--model", str(directory), "--images", "3", "--write"]) == 0
    again = (directory / "README.md").read_text(encoding="utf-8")
    assert again.count("<!-- restyle -->") == 1 and "3 `digits` test images" in again and "12 `digits`" not in again
    rest = again.replace(re.search(r"<!-- restyle -->.*?<!-- /restyle -->\n", again, re.S).group(0), "")
    assert rest == CARD.replace("\nLoad:", "\n\nLoad:")  # the rest of the card as it was, a blank line before Load


def test_refuses_an_unconditional_model(bench, tmp_path, capsys):
    from realnvp.checks import random_model

    random_model(channels=1, size=8, num_scales=2, dtype=torch.float32).save_pretrained(tmp_path)
    assert bench.main(["--model", str(tmp_path)]) == 2
    assert "not a class-conditional model" in capsys.readouterr().err
