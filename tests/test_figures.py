"""explorer.figures: the heatmap, histogram and curve pictures, drawn without pyplot or a global backend."""
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np

from explorer import figures

ROOT = Path(__file__).resolve().parent.parent
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

    threads = [threading.Thread(target=draw) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
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
