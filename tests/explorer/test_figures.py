"""explorer.figures: the heatmap, histogram and curve pictures, drawn without pyplot or a global backend."""
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np

from explorer import figures
from helpers import run_in_threads

ROOT = Path(__file__).resolve().parents[2]
RED = np.array([0xE7, 0x4C, 0x3C])  # the histogram's line for the image
BLUE = np.array([0x2C, 0x7F, 0xB8])  # the curve's line


def coloured(picture: np.ndarray, colour: np.ndarray, tolerance: int = 10) -> int:
    """How many pixels have (about) this colour."""
    return int((np.abs(picture.astype(int) - colour).max(axis=2) <= tolerance).sum())


def digit() -> tuple[np.ndarray, np.ndarray]:
    image = np.zeros((28, 28, 3), np.uint8)
    image[6:22, 12:16] = 255
    bits = np.linspace(0.0, 4.0, 28 * 28).reshape(28, 28)
    return image, bits


def test_heatmap():
    image, bits = digit()
    picture = figures.heatmap(image, bits, "bits per value (mean 2.000)")
    assert picture.shape == (400, 800, 3) and picture.dtype == np.uint8 and picture.std() > 5
    assert np.array_equal(picture, figures.heatmap(image, bits, "bits per value (mean 2.000)"))  # deterministic
    assert not np.array_equal(picture, figures.heatmap(image, bits[::-1], "bits per value (mean 2.000)"))
    flat = figures.heatmap(image, np.full((28, 28), 1.5), "constant")  # vmin == vmax must not fail
    assert flat.shape == (400, 800, 3)


def test_histogram_marks_the_value():
    reference = np.random.default_rng(0).normal(1.5, 0.1, 1000)
    picture = figures.histogram(reference, 1.7)
    assert picture.shape == (300, 600, 3) and picture.dtype == np.uint8
    assert coloured(picture, RED) > 150  # the red line (and its legend entry)
    line = np.flatnonzero((np.abs(picture.astype(int) - RED).max(axis=2) <= 10).sum(axis=0) > 100)
    further = np.flatnonzero((np.abs(figures.histogram(reference, 1.8).astype(int) - RED).max(axis=2) <= 10)
                             .sum(axis=0) > 100)
    assert len(line) and len(further) and further.mean() > line.mean()  # a larger value: further right


def test_histogram_drawn_once_per_reference_matches_a_full_drawing_from_any_thread():
    reference = np.random.default_rng(1).normal(1.5, 0.2, 1000)
    full = lambda v: figures.render(figures._histogram_figure(reference, v, "this image")[0])  # noqa: E731
    values = [1.3, 1.45, 1.62, 1.9]
    expected = {v: full(v) for v in values}
    results, errors = [], []

    def draw(v):
        try:
            for _ in range(3):
                results.append((v, figures.histogram(reference, v)))
        except Exception as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=draw, args=(v,)) for v in values]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(results) == 12
    for v, picture in results:  # the blitted line and legend: as drawn whole, up to antialiasing at the line's edges
        assert (np.abs(picture.astype(int) - expected[v]).max(axis=2) > 0).sum() < 100
    assert not np.array_equal(results[0][1], figures.histogram(reference, 1.31))  # each value draws its own line
    # a value outside the drawn range: a figure of its own, its axis widened to show the line
    outside = figures.histogram(reference, 9.0)
    assert np.array_equal(outside, full(9.0)) and coloured(outside, RED) > 150


def test_curve():
    picture = figures.curve([3.0, 2.5, 2.0, 1.9], title="bits/dim while filling in")
    assert picture.shape == (300, 600, 3) and picture.dtype == np.uint8
    assert coloured(picture, BLUE) > 200


def test_figures_can_be_drawn_from_several_threads_at_once():
    image, bits = digit()
    expected = figures.heatmap(image, bits, "t")
    results, errors = [], []

    def draw():
        try:
            for _ in range(3):
                results.append(figures.heatmap(image, bits, "t"))
        except Exception as error:  # noqa: BLE001
            errors.append(error)

    run_in_threads(draw)
    assert not errors and len(results) == 12
    assert all(np.array_equal(result, expected) for result in results)


def test_drawing_leaves_pyplot_and_the_backend_alone():
    """A user's backend survives importing and using explorer.figures, and pyplot is never loaded."""
    code = (
        "import sys, numpy as np\n"
        "from explorer import figures\n"
        "figures.heatmap(np.zeros((4, 4, 3), np.uint8), np.random.rand(4, 4), 't')\n"
        "figures.histogram(np.random.rand(50), 0.5)\n"
        "figures.curve([1.0, 0.5])\n"
        "import matplotlib\n"
        "print(matplotlib.get_backend(), 'matplotlib.pyplot' in sys.modules)\n"
    )
    env = dict(os.environ, MPLBACKEND="svg")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=300, check=True).stdout.split()
    assert out == ["svg", "False"]


def test_class_bars_highlight_the_most_likely_class():
    probabilities = [0.01, 0.02, 0.9, 0.07]
    picture = figures.class_bars(probabilities, [-20.0, -19.3, -16.6, -19.2], ["0", "1", "2", "3"])
    assert picture.shape == (300, 800, 3) and picture.dtype == np.uint8
    assert coloured(picture, BLUE) > 500  # the highlighted bar in both panels
    moved = figures.class_bars([0.9, 0.02, 0.01, 0.07], [-16.6, -19.3, -20.0, -19.2], ["0", "1", "2", "3"])
    left = np.flatnonzero((np.abs(picture.astype(int) - BLUE).max(axis=2) <= 10).any(axis=0))
    right = np.flatnonzero((np.abs(moved.astype(int) - BLUE).max(axis=2) <= 10).any(axis=0))
    assert right.min() < left.min()  # class 0 highlighted: its bar lies further left


def test_ood_histograms_mark_the_value_in_every_panel():
    rng = np.random.default_rng(0)
    panel = {"title": "t", "xlabel": "bits/dim", "inside": rng.normal(1.5, 0.1, 500),
             "outside": rng.normal(3.0, 0.3, 500), "inside_label": "own", "outside_label": "other", "value": 2.0}
    picture = figures.ood_histograms([panel, dict(panel, value=None)])
    assert picture.shape == (340, 1000, 3) and picture.dtype == np.uint8
    red_columns = np.flatnonzero((np.abs(picture.astype(int) - RED).max(axis=2) <= 10).sum(axis=0) > 100)
    assert len(red_columns) and red_columns.max() < 500  # the line in the first panel only
    orange_on_white = 0.6 * np.array([0xE6, 0x7E, 0x22]) + 0.4 * 255  # the other data set's bars (alpha 0.6)
    assert coloured(picture, orange_on_white, 6) > 500

