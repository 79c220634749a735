"""What a run leaves for people to look at: sample grids, learning curves, metrics, model card."""
from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from torchvision.utils import make_grid, save_image  # noqa: E402

SAMPLE_TEMPERATURES = (0.5, 0.75, 1.0)


@torch.no_grad()
def save_sample_grid(model, path: Path, per_row: int = 8, seed: int = 0) -> None:
    """One row per temperature (0.5, 0.75, 1.0); a class-conditional model shows classes 0..per_row-1
    cyclically along each row."""
    rows = []
    for t in SAMPLE_TEMPERATURES:
        g = torch.Generator().manual_seed(seed)
        y = None if model.num_classes is None else torch.arange(per_row) % model.num_classes
        rows.append(model.sample(per_row, temperature=t, generator=g, y=y).float().cpu())
    grid = make_grid(torch.cat(rows), nrow=per_row, padding=2, pad_value=1.0)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(grid, path)


def append_metrics(path: Path, record: dict) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def read_metrics(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def curve_limits(train: list[float], evaluations: list[float]) -> tuple[float, float]:
    """The bits/dim axis: the early spikes of the training curve may be cut off, an evaluation never is."""
    values = train + evaluations
    low = min(values)
    high = min(max(values), low + 3 * max(1e-3, (sorted(values)[len(values) // 2] - low)) + 0.5)
    return low - 0.05, max([high] + evaluations) + 0.02


def curves_figure(metrics: list[dict], baseline_bpd: float | None = None) -> plt.Figure:
    """The training curves. The legend sits below the axes, where it cannot hide a curve."""
    train = [(m["step"], m["train_bpd"]) for m in metrics if m.get("train_bpd") is not None]
    val = [(m["step"], m["val_bpd"]) for m in metrics if m.get("val_bpd") is not None]
    test = [(m["step"], m["test_bpd"]) for m in metrics if m.get("test_bpd") is not None]
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    for points, label, style in [(train, "train (running mean)", "-"), (val, "validation", "o-"), (test, "test", "s-")]:
        if points:
            ax.plot(*zip(*points), style, label=label, markersize=3)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("bits/dim")
    if train or val or test:
        ax.set_ylim(*curve_limits([v for _, v in train], [v for _, v in val + test]))
    if baseline_bpd is not None and math.isfinite(baseline_bpd):
        low, high = ax.get_ylim()
        where = "" if low <= baseline_bpd <= high else ", above the axis" if baseline_bpd > high else ", below the axis"
        ax.axhline(baseline_bpd, color="grey", linestyle="--", label=f"per-pixel histogram ({baseline_bpd:.2f}{where})")
        ax.set_ylim(low, high)  # the line never stretches the axis
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False, fontsize="small")
    fig.tight_layout()
    return fig


def plot_curves(metrics: list[dict], path: Path, baseline_bpd: float | None = None) -> None:
    fig = curves_figure(metrics, baseline_bpd)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def model_card(*, name: str, config: dict, dataset: str, split: str, test_bpd: float | None, val_bpd: float | None,
               steps: int, train_seconds: float, hardware: str, command: str, num_params: int,
               recipe: str = "") -> str:
    def fmt(v):
        return "n/a" if v is None else f"{v:.4f}"

    return f"""---
library_name: realnvp-explorer
license: mit
tags: [normalizing-flow, real-nvp, density-estimation, image-generation]
datasets: [{dataset}]
model-index:
- name: {name}
  results:
  - task: {{type: density-estimation}}
    dataset: {{name: {dataset}, type: {dataset}}}
    metrics:
    - {{type: bits-per-dim, value: {fmt(test_bpd)}, name: test bits/dim}}
---
# Real NVP: {name}

A Real NVP (Dinh, Sohl-Dickstein & Bengio, [arXiv:1605.08803](https://arxiv.org/abs/1605.08803))
trained with realnvp-explorer (`python -m train`).

| | |
|---|---|
| data set | `{dataset}` |
| split | {split} |
| **test bits/dim** | **{fmt(test_bpd)}** (exact, uniform dequantization, whole test split) |
| validation bits/dim | {fmt(val_bpd)} (checkpoint selection uses this, never the test set) |
| optimizer steps | {steps} |
| training time | {train_seconds / 60:.1f} min |
| hardware | {hardware} |
| parameters | {num_params:,} |
{f"| training recipe | {recipe} |" + chr(10) if recipe else ""}
Configuration: `{json.dumps(config)}`

Reproduce (the run's commands in order: the first, then each `--resume`):
```
{command}
```

Load:
```python
from realnvp import RealNVP
model = RealNVP.from_pretrained("path/or/repo-id")
```
"""
