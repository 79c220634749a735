"""bench/completion_quality.py: its configurations, the images it takes, the spread, its table."""
import argparse
import json

import pytest
import torch

from helpers import load_bench


@pytest.fixture(scope="module")
def bench():
    return load_bench("completion_quality")


def test_a_configuration_is_steps_langevin_and_rate(bench):
    assert bench.parse_config("80+30@0.1") == (80, 30, 0.1)
    assert bench.parse_config("20+0@0.25") == (20, 0, 0.25)
    for bad in ("80+30", "80@0.1", "0+5@0.1", "20+5@0", "20+-1@0.1", "a+b@c"):
        with pytest.raises(argparse.ArgumentTypeError):
            bench.parse_config(bad)


def test_images_are_taken_classes_in_turn_after_the_first(bench):
    labels = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2])
    assert bench.chosen_images(labels, 0, 3) == [0, 3, 6]  # the first image of each class
    assert bench.chosen_images(labels, 3, 4) == [1, 4, 7, 2]
    assert bench.chosen_images(labels, 8, 5) == [8]


def test_spread_is_the_mean_pairwise_distance_over_the_erased_pixels(bench):
    mask = torch.zeros(1, 1, 2, 2, dtype=torch.bool)
    mask[..., 1, :] = True
    images = torch.zeros(3, 1, 2, 2)
    images[1, 0, 1, :] = 0.5  # differs from image 0 by 0.5 on both erased pixels
    images[2, 0, 0, :] = 1.0  # differs from image 0 only on known pixels
    # pairs (0,1): 0.5, (0,2): 0, (1,2): 0.5
    assert bench.spread(images, mask) == pytest.approx(1 / 3)
    assert bench.spread(images[:1], mask) == 0.0


@pytest.mark.slow
def test_prints_one_row_per_configuration(bench, tmp_path, capsys):
    from realnvp.checks import random_model

    directory = tmp_path / "tiny"
    random_model(channels=1, size=8, num_scales=2, dtype=torch.float32).save_pretrained(directory)
    (directory / "reference.json").write_text(json.dumps({"dataset": "digits"}), encoding="utf-8")
    assert bench.main(["--model", str(directory), "--configs", "2+1@0.1", "1+0@0.2", "--count", "2",
                       "--threads", "1"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    assert len(rows) == 1 + 2
    assert rows[1].startswith("| 2 + 1 @ 0.1 |") and "+0.0000 +- 0.0000" in rows[1]  # the reference
    assert rows[2].startswith("| 1 + 0 @ 0.2 |")
