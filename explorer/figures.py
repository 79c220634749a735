"""The app's matplotlib figures (likelihood heatmap, test-set histogram, completion curve) as
(H, W, 3) uint8 pictures.

Each figure is a `matplotlib.figure.Figure` drawn by its own Agg canvas: no pyplot, no
`matplotlib.use`, no global state, so several requests can draw at once and a user's backend is
left alone.
"""
from __future__ import annotations

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
    (the colour scale spans the 1st to 99th percentile)."""
    figure = new_figure(8, 4)
    axes = figure.subplots(1, 2)
    axes[0].imshow(image, interpolation="nearest")
    axes[0].set_title("image")
    vmin, vmax = float(np.percentile(bits, 1)), float(np.percentile(bits, 99))
    axes[1].imshow(image, interpolation="nearest")
    shown = axes[1].imshow(bits, cmap=cmap, alpha=alpha, vmin=vmin, vmax=max(vmax, vmin + 1e-6),
                           interpolation="nearest")
    axes[1].set_title(title)
    for ax in axes:
        ax.axis("off")
    figure.colorbar(shown, ax=axes[1], fraction=0.046, pad=0.04, label="bits per value at the pixel")
    figure.tight_layout()
    return render(figure)


def histogram(reference_bpd: np.ndarray, value: float, label: str = "this image") -> np.ndarray:
    """600 x 300 pixels: the test set's bits/dim as a histogram, `value` as a red line."""
    figure = new_figure(6, 3)
    ax = figure.subplots()
    ax.hist(reference_bpd, bins=40, color="#7f8c8d", alpha=0.8, label=f"test set ({len(reference_bpd)} images)")
    ax.axvline(value, color="#e74c3c", linewidth=2.5, label=f"{label}: {value:.3f}")
    ax.set_xlabel("bits/dim (lower = more likely)")
    ax.set_ylabel("images")
    ax.legend(loc="upper right", fontsize=8)
    figure.tight_layout()
    return render(figure)


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
