"""python -m train --dataset NAME --out DIR [options]: train a Real NVP and write checkpoints.

The options are generated from `train.config.TrainConfig`; `--resume` continues the run in
OUT, applying (and logging) the options that may change and refusing the ones fixed for a run.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .config import ConfigError, TrainConfig, add_arguments
from .distributed import DeviceError
from .loop import Trainer, TrainingError, resumed_config


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m train",
        description="Train a Real NVP (exact likelihood, multi-scale) and write from_pretrained checkpoints "
                    "to OUT/last/ (latest) and OUT/best/ (best validation bits/dim), with metrics.jsonl, "
                    "curves.png and sample grids. Multi-GPU/multi-node: start with torchrun.",
        epilog="With --resume, an option fixed for a run must keep the run's value (or be left out); "
               "an option that may change is applied from the resume step on, and logged.")
    add_arguments(p)
    p.add_argument("--resume", action="store_true",
                   help="continue the run in OUT from OUT/last (the run's settings, with the options given here)")
    return p


def main(argv: list[str] | None = None) -> int:
    cli = parser()
    given = vars(cli.parse_args(argv))
    resume = given.pop("resume")
    if not resume and "dataset" not in given:
        cli.error("--dataset is required for a new run")
    log = print if os.environ.get("RANK", "0") == "0" else (lambda *_: None)
    try:
        config = resumed_config(Path(given["out"]), given, log) if resume else TrainConfig(**given)
        result = Trainer(config).run(resume=resume)
    except (TrainingError, ConfigError, DeviceError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"done: step {result['step']}, " + ", ".join(f"{k} {v:.4f}" for k, v in result.items() if k != "step"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
