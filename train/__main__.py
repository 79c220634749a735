"""python -m train --dataset NAME --out DIR [options]: train a Real NVP and write checkpoints."""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from .data import DATASET_NAMES
from .loop import TrainConfig, Trainer, TrainingError, resumed_config

DEFAULTS = TrainConfig(dataset="", out="")


def parser() -> argparse.ArgumentParser:
    d = DEFAULTS
    p = argparse.ArgumentParser(
        prog="python -m train",
        description="Train a Real NVP (exact likelihood, multi-scale) and write from_pretrained checkpoints "
                    "to OUT/last/ (latest) and OUT/best/ (best validation bits/dim), with metrics.jsonl, "
                    "curves.png and sample grids. Multi-GPU/multi-node: start with torchrun.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    data = p.add_argument_group("data")
    data.add_argument("--dataset", choices=DATASET_NAMES, default=None,
                      help="required for a new run (--resume takes it from the run); mnist5k, digits and photos "
                           "work offline, the others download through torchvision")
    data.add_argument("--out", required=True, help="run directory: OUT/last, OUT/best, metrics, plots, samples")
    data.add_argument("--root", default=None, help=f"where torchvision data sets are stored/downloaded (default {d.root})")
    data.add_argument("--folder", default=None, help="image directory for --dataset folder (ImageFolder layout)")
    data.add_argument("--image-size", type=int, default=None, help="crop/resize size where the data set allows it")
    data.add_argument("--val-fraction", type=float, default=None, help=f"share of training images held out for validation (default {d.val_fraction})")
    data.add_argument("--no-download", dest="download", action="store_const", const=False, default=None,
                      help="fail instead of downloading missing torchvision data")
    data.add_argument("--workers", type=int, default=None, help=f"data-loading worker processes (default {d.workers})")
    model = p.add_argument_group("model")
    model.add_argument("--num-scales", type=int, default=None, help=f"scales of the multi-scale architecture (default {d.num_scales})")
    model.add_argument("--hidden-channels", type=int, default=None, help=f"hidden channels of the s/t ResNets at the first scale, doubled per scale (default {d.hidden_channels})")
    model.add_argument("--num-blocks", type=int, default=None, help=f"residual blocks per s/t network (default {d.num_blocks})")
    model.add_argument("--num-classes", type=int, default=None, help="train a class-conditional model with this many classes (0 = unconditional; needs a labelled data set)")
    opt = p.add_argument_group("optimization")
    opt.add_argument("--steps", type=int, default=None, help=f"optimizer steps in total, counted across resumes (default {d.steps})")
    opt.add_argument("--batch-size", type=int, default=None, help=f"global batch size, split across processes (default {d.batch_size})")
    opt.add_argument("--lr", type=float, default=None, help=f"Adam learning rate after warm-up (default {d.lr})")
    opt.add_argument("--warmup-steps", type=int, default=None, help=f"linear warm-up steps (default {d.warmup_steps})")
    opt.add_argument("--min-lr-fraction", type=float, default=None, help=f"cosine decay ends at this fraction of --lr (default {d.min_lr_fraction})")
    opt.add_argument("--scale-l2", type=float, default=None, help=f"L2 penalty on the weight-norm scales, as in the paper (default {d.scale_l2})")
    opt.add_argument("--grad-clip", type=float, default=None, help=f"gradient-norm clipping (default {d.grad_clip})")
    opt.add_argument("--seed", type=int, default=None, help=f"seed of initialization, data order and noise (default {d.seed})")
    opt.add_argument("--max-rollbacks", type=int, default=None, help=f"non-finite recoveries before giving up (default {d.max_rollbacks})")
    run = p.add_argument_group("run")
    run.add_argument("--device", choices=["auto", "cpu", "cuda"], default=None, help="auto picks cuda when available")
    run.add_argument("--amp", choices=["auto", "bf16", "off"], default=None, help="bf16 autocast for the s/t networks (auto: on for cuda)")
    run.add_argument("--channels-last", choices=["auto", "on", "off"], default=None, help="channels_last memory format (auto: on for cuda)")
    run.add_argument("--eval-every", type=int, default=None, help=f"steps between evaluations on validation and test (default {d.eval_every})")
    run.add_argument("--eval-batch-size", type=int, default=None, help=f"batch size for evaluation (default {d.eval_batch_size})")
    run.add_argument("--checkpoint-every", type=int, default=None, help=f"steps between checkpoints of OUT/last (default {d.checkpoint_every})")
    run.add_argument("--resume", action="store_true", help="continue the run in OUT from OUT/last")
    run.add_argument("--push-to-hub", default=None, metavar="REPO_ID", help="publish the best checkpoint to the Hugging Face Hub at the end")
    return p


def main(argv: list[str] | None = None) -> int:
    cli = parser()
    args = vars(cli.parse_args(argv))
    resume = args.pop("resume")
    if not resume and args["dataset"] is None:
        cli.error("--dataset is required for a new run")
    try:
        if resume:
            config = resumed_config(Path(args["out"]), args)
        else:
            given = {k: v for k, v in args.items() if v is not None}
            config = dataclasses.replace(DEFAULTS, **given)
        for name in ("steps", "eval_every", "checkpoint_every", "batch_size"):
            if getattr(config, name) < 1:
                raise TrainingError(f"--{name.replace('_', '-')} must be at least 1")
        result = Trainer(config).run(resume=resume)
    except (TrainingError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"done: step {result['step']}, " + ", ".join(f"{k} {v:.4f}" for k, v in result.items() if k != "step"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
