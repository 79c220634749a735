"""train.report: what a run leaves for people (sample grids, metrics, curves, the model card)."""
import json

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from PIL import Image

from train.report import (SAMPLE_TEMPERATURES, append_metrics, curve_limits, curves_figure, model_card, plot_curves,
                          read_metrics, save_sample_grid)

from helpers import tiny_model


def grid_tiles(path, size, per_row, rows, pad=2):
    """The tiles of a torchvision grid (padding `pad`) as a (rows, per_row, H, W, C) uint8 array."""
    with Image.open(path) as image:
        grid = np.asarray(image.convert("RGB"))
    assert grid.shape[:2] == (rows * (size + pad) + pad, per_row * (size + pad) + pad)
    step = size + pad
    return np.stack([np.stack([grid[pad + r * step: pad + r * step + size, pad + c * step: pad + c * step + size]
                               for c in range(per_row)]) for r in range(rows)])


def test_the_sample_grid_has_a_row_per_temperature_from_the_same_seed(tmp_path):
    model = tiny_model(1, 8, 2, dtype=torch.float32)
    path = tmp_path / "deep" / "samples.png"  # folders are made
    save_sample_grid(model, path, per_row=4, seed=3)
    tiles = grid_tiles(path, 8, 4, len(SAMPLE_TEMPERATURES))
    assert tiles.std() > 5
    again = tmp_path / "again.png"
    save_sample_grid(model, again, per_row=4, seed=3)
    assert path.read_bytes() == again.read_bytes()  # the seed fixes the grid
    save_sample_grid(model, tmp_path / "other.png", per_row=4, seed=4)
    assert not np.array_equal(grid_tiles(tmp_path / "other.png", 8, 4, 3), tiles)


def test_a_conditional_models_grid_cycles_through_the_classes(tmp_path, monkeypatch):
    model = tiny_model(1, 8, 2, dtype=torch.float32, num_classes=3)
    asked = []
    sample = model.sample
    monkeypatch.setattr(model, "sample", lambda n, temperature, generator, y: asked.append((temperature, y.tolist()))
                        or sample(n, temperature=temperature, generator=generator, y=y))
    save_sample_grid(model, tmp_path / "samples.png", per_row=5)
    assert asked == [(t, [0, 1, 2, 0, 1]) for t in SAMPLE_TEMPERATURES]


def test_metrics_are_appended_one_json_line_each(tmp_path):
    path = tmp_path / "metrics.jsonl"
    assert read_metrics(path) == []
    append_metrics(path, {"step": 1, "train_bpd": 5.0})
    append_metrics(path, {"step": 2, "val_bpd": 4.5})
    with open(path, "a") as f:
        f.write("\n")  # a blank line is skipped
    assert read_metrics(path) == [{"step": 1, "train_bpd": 5.0}, {"step": 2, "val_bpd": 4.5}]
    assert [json.loads(line) for line in path.read_text().splitlines() if line] == read_metrics(path)


def test_curve_limits_cut_training_spikes_but_never_an_evaluation():
    train = [8.0] + [3.2 + 0.01 * i for i in range(30)]  # an early spike, then a flat curve
    low, high = curve_limits(train, [4.0, 4.4])
    assert low < 3.2 and 4.4 < high < 8.0


def test_curve_limits_hold_every_value_of_a_smooth_curve():
    low, high = curve_limits([3.0, 2.9, 2.8], [2.85])
    assert low == pytest.approx(2.75) and high >= 3.0


def test_the_curves_are_drawn_with_or_without_figures(tmp_path):
    metrics = [{"step": s, "train_bpd": 4.0 - 0.01 * s} for s in range(0, 100, 10)]
    metrics += [{"step": 50, "val_bpd": 3.7}, {"step": 90, "val_bpd": 3.5, "test_bpd": 3.55}]
    plot_curves(metrics, tmp_path / "plots" / "curves.png", baseline_bpd=4.5)
    plot_curves([], tmp_path / "empty.png", baseline_bpd=float("nan"))  # nothing yet: an empty figure
    for name in ("plots/curves.png", "empty.png"):
        with Image.open(tmp_path / name) as image:
            assert image.format == "PNG" and image.size == (600, 400)
    with Image.open(tmp_path / "plots" / "curves.png") as drawn, Image.open(tmp_path / "empty.png") as empty:
        assert np.asarray(drawn).std() > np.asarray(empty).std()


def test_the_legend_never_covers_a_curve_and_names_an_off_scale_baseline():
    # a test curve near the top-left corner, where a legend inside the axes used to sit
    metrics = [{"step": s, "train_bpd": 3.0 + 0.05 * (s % 3)} for s in range(0, 1200, 25)]
    metrics += [{"step": s, "val_bpd": 3.5 - s / 1e4, "test_bpd": 3.95 - s / 4e4} for s in range(100, 1300, 100)]
    figure = curves_figure(metrics, baseline_bpd=7.98)
    try:
        figure.canvas.draw()
        axes, = figure.axes
        legend = axes.get_legend()
        renderer = figure.canvas.get_renderer()
        assert not legend.get_window_extent(renderer).overlaps(axes.get_window_extent(renderer))
        assert figure.bbox.contains(*legend.get_window_extent(renderer).p0)  # and it is not cut off
        labels = [text.get_text() for text in legend.get_texts()]
        assert "per-pixel histogram (7.98, above the axis)" in labels
        assert axes.get_ylim()[1] < 7.98  # the baseline does not stretch the axis
    finally:
        plt.close(figure)


def test_the_model_card_states_the_figures_and_the_commands():
    card = model_card(name="my-mnist", config={"num_scales": 2}, dataset="mnist5k", split="train 3600 / val 400",
                      test_bpd=1.23456, val_bpd=None, steps=1500, train_seconds=90, hardware="2 CPUs",
                      command="python -m train --dataset mnist5k", num_params=1234567, recipe="Adam, rate 0.001")
    assert card.startswith("---\nlibrary_name: realnvp-explorer\n") and "datasets: [mnist5k]" in card
    assert "{type: bits-per-dim, value: 1.2346, name: test bits/dim}" in card
    assert "| **test bits/dim** | **1.2346** (exact, uniform dequantization, whole test split)" in card
    assert "| validation bits/dim | n/a (" in card and "| training time | 1.5 min |" in card
    assert "| parameters | 1,234,567 |" in card and "| training recipe | Adam, rate 0.001 |" in card
    assert 'Configuration: `{"num_scales": 2}`' in card and "```\npython -m train --dataset mnist5k\n```" in card
    plain = model_card(name="x", config={}, dataset="digits", split="s", test_bpd=None, val_bpd=2.0, steps=1,
                       train_seconds=0, hardware="h", command="c", num_params=1)
    assert "training recipe" not in plain and "value: n/a" in plain and "| validation bits/dim | 2.0000 (" in plain
