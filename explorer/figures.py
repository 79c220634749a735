"""The app's matplotlib figures (likelihood heatmap, test-set histogram, completion curve) as
(H, W, 3) uint8 pictures.

Each figure is a `matplotlib.figure.Figure` drawn by its own Agg canvas: no pyplot, no
`matplotlib.use`, no global state, so several requests can draw at once and a user's backend is
left alone.
"""
from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def new_figure(width: float, height: float, dpi: int = 100) -> Figure:
    """A figure of width x height inches with an Agg canvas of its own."""
    figure = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(figure)
    return figure


def render(figure: Figure) -> np.ndarray:
    """The figure as an (H, W, 3) uint8 RGB picture (width * dpi by height * dpi pixels)."""
    canvas = figure.canvas if isinstance(figure.canvas, FigureCanvasAgg) else FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def heatmap(image: np.ndarray, bits: np.ndarray, title: str, cmap: str = "magma", alpha: float = 0.6) -> np.ndarray:
    """Two panels, 800 x 400 pixels: the image, and the per-pixel bits (H, W) over it with a colour bar
    (the colour scale spans the 1st to 99th percentile).

    The figure of an image size is built once and kept (`HEATMAPS` of them): a call sets its pictures,
    colour scale and title and draws it, which skips building the axes, ticks and colour bar."""
    image = np.asarray(image)
    key = (image.shape, np.asarray(bits).shape, cmap, alpha)
    with _heatmaps_lock:
        cached = _heatmaps.pop(key, None) or _HeatmapFigure(image, bits, cmap, alpha)
        _heatmaps[key] = cached  # most recently used last
        while len(_heatmaps) > HEATMAPS:
            _heatmaps.pop(next(iter(_heatmaps)))
    return cached.render(image, bits, title)


HEATMAPS = 8  # image sizes whose heatmap figure stays built
_heatmaps: dict[tuple, _HeatmapFigure] = {}
_heatmaps_lock = threading.Lock()


class _HeatmapFigure:
    """The heatmap's figure for one image size; `render` draws it for an image and its bits. Every
    picture, the first included, is drawn the same way (set, then draw), so equal inputs give
    equal pictures whatever was drawn before."""

    def __init__(self, image: np.ndarray, bits: np.ndarray, cmap: str, alpha: float):
        self.figure = new_figure(8, 4)
        axes = self.figure.subplots(1, 2)
        self.image = axes[0].imshow(image, interpolation="nearest")
        axes[0].set_title("image")
        self.under = axes[1].imshow(image, interpolation="nearest")
        self.bits = axes[1].imshow(bits, cmap=cmap, alpha=alpha, vmin=0.0, vmax=1.0, interpolation="nearest")
        self.title = axes[1].set_title("")
        for ax in axes:
            ax.axis("off")
        self.colorbar = self.figure.colorbar(self.bits, ax=axes[1], fraction=0.046, pad=0.04,
                                             label="bits per value at the pixel")
        # a fixed layout instead of tight_layout (the axes carry no ticks, and it is quicker)
        self.figure.subplots_adjust(left=0.02, right=0.87, bottom=0.04, top=0.9, wspace=0.08)
        self.lock = threading.Lock()

    def render(self, image: np.ndarray, bits: np.ndarray, title: str) -> np.ndarray:
        vmin, vmax = float(np.percentile(bits, 1)), float(np.percentile(bits, 99))
        with self.lock:
            self.image.set_data(image)
            self.under.set_data(image)
            self.bits.set_data(bits)
            self.bits.set_clim(vmin, max(vmax, vmin + 1e-6))
            self.title.set_text(title)
            return render(self.figure)


def histogram(reference_bpd: np.ndarray, value: float, label: str = "this image") -> np.ndarray:
    """600 x 300 pixels: the test set's bits/dim as a histogram, `value` as a red line.

    The histogram of a reference set is drawn once and kept (`HISTOGRAMS` of them); a call then
    draws only the line and the legend over it. A value outside the drawn
    range widens the axis, so it gets a figure of its own."""
    reference_bpd = np.ascontiguousarray(reference_bpd, dtype=np.float64)
    key = (hashlib.sha1(reference_bpd.tobytes()).digest(), label)
    with _histograms_lock:
        cached = _histograms.pop(key, None) or _HistogramBackground(reference_bpd, label)
        _histograms[key] = cached  # most recently used last
        while len(_histograms) > HISTOGRAMS:
            _histograms.pop(next(iter(_histograms)))
    return cached.render(value) if cached.shows(value) else render(_histogram_figure(reference_bpd, value, label)[0])


HISTOGRAMS = 16  # reference sets whose histogram stays drawn (one per model in practice)
_histograms: dict[tuple, _HistogramBackground] = {}
_histograms_lock = threading.Lock()


def _histogram_figure(reference_bpd: np.ndarray, value: float, label: str, animated: bool = False):
    figure = new_figure(6, 3)
    ax = figure.subplots()
    ax.hist(reference_bpd, bins=40, color="#7f8c8d", alpha=0.8, label=f"test set ({len(reference_bpd)} images)")
    low, high = ax.get_xlim()
    line = ax.axvline(value, color="#e74c3c", linewidth=2.5, label=f"{label}: {value:.3f}", animated=animated)
    if animated:
        ax.set_xlim(low, high)  # the line, drawn later anywhere inside, must not move the axis
    ax.set_xlabel("bits/dim (lower = more likely)")
    ax.set_ylabel("images")
    legend = ax.legend(loc="upper right", fontsize=8)
    legend.set_animated(animated)
    figure.subplots_adjust(left=0.11, right=0.97, bottom=0.17, top=0.92)  # fixed, instead of tight_layout
    return figure, ax, line, legend


class _HistogramBackground:
    """A reference histogram drawn once; `render(value)` blits the value's line and legend onto it."""

    def __init__(self, reference_bpd: np.ndarray, label: str):
        self.label = label
        start = float(np.median(reference_bpd))
        self.figure, self.ax, self.line, self.legend = _histogram_figure(reference_bpd, start, label, animated=True)
        self.figure.canvas.draw()
        self.background = self.figure.canvas.copy_from_bbox(self.figure.bbox)
        self.value_text = next(t for t in self.legend.get_texts() if t.get_text().startswith(f"{label}: "))
        self.lock = threading.Lock()

    def shows(self, value: float) -> bool:
        low, high = self.ax.get_xlim()
        return math.isfinite(value) and low <= value <= high

    def render(self, value: float) -> np.ndarray:
        with self.lock:
            canvas = self.figure.canvas
            canvas.restore_region(self.background)
            self.line.set_xdata([value, value])
            self.value_text.set_text(f"{self.label}: {value:.3f}")
            self.ax.draw_artist(self.line)
            self.ax.draw_artist(self.legend)
            return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def curve(values: Sequence[float], xlabel: str = "step", ylabel: str = "bits/dim", title: str = "") -> np.ndarray:
    """600 x 300 pixels: values against 1, 2, ... as a line."""
    figure = new_figure(6, 3)
    ax = figure.subplots()
    ax.plot(range(1, len(values) + 1), values, color="#2c7fb8", linewidth=2)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    figure.tight_layout()
    return render(figure)


def class_bars(probabilities: Sequence[float], log_likelihoods: Sequence[float], labels: Sequence[str],
               title: str = "") -> np.ndarray:
    """800 x 300 pixels, two panels: p(y | x) for each class (the most likely one highlighted),
    and log p(x | y) - max over y of log p(x | y) in nats (how much less likely the image is
    under each other class; the posterior's odds are these differences, exponentiated)."""
    probabilities, log_likelihoods = np.asarray(probabilities, float), np.asarray(log_likelihoods, float)
    best = int(np.argmax(probabilities))
    colours = ["#2c7fb8" if i == best else "#95a5a6" for i in range(len(labels))]
    figure = new_figure(8, 3)
    left, right = figure.subplots(1, 2)
    left.bar(range(len(labels)), probabilities, color=colours)
    left.set_ylim(0, 1.08)
    left.set_ylabel("p(class | image)")
    left.set_title(title or "posterior, uniform prior")
    left.text(best, min(probabilities[best], 1.0) + 0.02, f"{probabilities[best]:.3f}", ha="center", fontsize=8)
    gaps = log_likelihoods - log_likelihoods.max()
    right.bar(range(len(labels)), gaps, color=colours)
    right.set_ylabel("log p(x|y) − max, nats")
    right.set_title("likelihood under each class")
    for ax in (left, right):
        ax.set_xticks(range(len(labels)), labels)
        ax.set_xlabel("class")
        ax.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    return render(figure)


def ood_histograms(panels: Sequence[dict], value_label: str = "this image") -> np.ndarray:
    """1000 x 340 pixels, one panel per score: the model's own test set and another data set's
    as overlaid histograms on shared bins, and the image's score as a red line (if given).
    Each panel is {"title", "xlabel", "inside", "outside", "inside_label", "outside_label",
    "value" (or None)}."""
    figure = new_figure(10, 3.4)
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    for ax, panel in zip(axes, panels):
        inside, outside = np.asarray(panel["inside"], float), np.asarray(panel["outside"], float)
        values = np.concatenate([inside, outside] + ([[panel["value"]]] if panel.get("value") is not None else []))
        low, high = np.percentile(values, 0.5), np.percentile(values, 99.5)
        if panel.get("value") is not None:
            low, high = min(low, panel["value"]), max(high, panel["value"])
        bins = np.linspace(low, max(high, low + 1e-6), 50)
        ax.hist(np.clip(inside, low, high), bins=bins, color="#7f8c8d", alpha=0.7, label=panel["inside_label"])
        ax.hist(np.clip(outside, low, high), bins=bins, color="#e67e22", alpha=0.6, label=panel["outside_label"])
        if panel.get("value") is not None:
            ax.axvline(panel["value"], color="#e74c3c", linewidth=2.5, label=f"{value_label}: {panel['value']:.3f}")
        ax.set_title(panel["title"], fontsize=10)
        ax.set_xlabel(panel["xlabel"])
        ax.set_ylabel("images")
        ax.legend(loc="upper right", fontsize=7)
    figure.tight_layout()
    return render(figure)
