"""A run's snapshots (OUT/last, OUT/best), written atomically and recovered after a crash.

A snapshot is a `from_pretrained` directory (config.json, model.safetensors, README.md model
card) plus the training state for `--resume`: training_state.safetensors for the optimizer's
tensors and any other state tensors (the raw weights when the saved model holds their moving
average), training_state.json for the rest (step, run configuration, schedule, timings).
Nothing is pickled. Random numbers are derived from (seed, step), so no generator state needs
saving for an exact resume. (Strict loading of the model itself is `realnvp.checkpoint`.)

Writes are atomic: the directory is written in full under a temporary name, flushed, then
swapped in with renames. A crash between the two renames leaves `NAME.old`, which
`recover()` puts back.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

STATE_TENSORS = "training_state.safetensors"
STATE_JSON = "training_state.json"


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _flatten_optimizer(state: dict) -> tuple[dict[str, torch.Tensor], dict]:
    tensors, scalars = {}, {}
    for index, entries in state["state"].items():
        for key, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optimizer.{index}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{index}.{key}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state: dict[int, dict] = {}
    for name, value in tensors.items():
        if name.startswith("optimizer."):
            _, index, key = name.split(".", 2)
            state.setdefault(int(index), {})[key] = value
    for name, value in meta["scalars"].items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    return {"state": state, "param_groups": meta["param_groups"]}


def replace_directory(directory: Path, fill) -> None:
    """Atomically replace `directory` with what `fill(tmp)` writes into a fresh temporary
    directory: written in full, flushed to disk, then swapped in with two renames."""
    directory = Path(directory)
    tmp = directory.with_name(directory.name + ".tmp")
    old = directory.with_name(directory.name + ".old")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    fill(tmp)
    for file in tmp.iterdir():
        if file.is_file():
            with open(file, "rb") as f:
                os.fsync(f.fileno())
    _fsync_dir(tmp)
    shutil.rmtree(old, ignore_errors=True)
    if directory.exists():
        directory.rename(old)
    tmp.rename(directory)
    _fsync_dir(directory.parent)
    shutil.rmtree(old, ignore_errors=True)


def save_checkpoint(directory: Path, model, optimizer=None, state: dict | None = None,
                    model_card: str | None = None, tensors: dict[str, torch.Tensor] | None = None) -> None:
    """Atomically write `directory` (a from_pretrained checkpoint, plus training state:
    the optimizer, `state` (JSON) and `tensors`, whose names must not start with "optimizer.")."""

    def fill(tmp: Path) -> None:
        model.save_pretrained(tmp)
        if model_card is not None:
            (tmp / "README.md").write_text(model_card, encoding="utf-8")
        if optimizer is not None or state is not None or tensors:
            flat, meta = ({}, {}) if optimizer is None else _flatten_optimizer(optimizer.state_dict())
            for name, value in (tensors or {}).items():
                if name.startswith("optimizer."):
                    raise ValueError(f"state tensor {name!r}: the prefix 'optimizer.' is the optimizer's")
                flat[name] = value.detach().cpu().contiguous()
            save_file(flat, tmp / STATE_TENSORS)
            (tmp / STATE_JSON).write_text(json.dumps({"optimizer": meta, "state": state or {}}, indent=1))

    replace_directory(directory, fill)


def recover(directory: Path) -> None:
    """Finish a swap interrupted between its two renames."""
    directory = Path(directory)
    old = directory.with_name(directory.name + ".old")
    if not directory.exists() and old.exists():
        old.rename(directory)


def load_training_state(directory: Path) -> tuple[dict | None, dict, dict[str, torch.Tensor]]:
    """(optimizer state dict or None, training state dict, the other state tensors) from a
    checkpoint directory."""
    directory = Path(directory)
    tensors = load_file(directory / STATE_TENSORS)
    meta = json.loads((directory / STATE_JSON).read_text())
    optimizer = _unflatten_optimizer(tensors, meta["optimizer"]) if meta["optimizer"] else None
    others = {name: value for name, value in tensors.items() if not name.startswith("optimizer.")}
    return optimizer, meta["state"], others


def read_run_state(directory: Path) -> dict | None:
    """The training state (JSON part: step, configuration, ...) of the snapshot in `directory`,
    after finishing an interrupted swap; None when there is no snapshot there."""
    directory = Path(directory)
    recover(directory)
    state_file = directory / STATE_JSON
    if not state_file.exists():
        return None
    return json.loads(state_file.read_text())["state"]
