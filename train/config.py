"""A training run's configuration: one dataclass, `TrainConfig`.

Each field's metadata holds its help text, command-line type, choices and group, and says what
`--resume` does with it:
- `fixed(...)`: part of the run's identity (data, model shape, data order, warm-up). Giving a
  different value with `--resume` is refused, with the reason.
- `resumable(...)`: a setting the rest of the run may change. A different value given with
  `--resume` is applied and logged, e.g. "--lr 0.0001 (was 0.001)".
The command line (`python -m train --help`) is generated from these fields by `add_arguments`,
so a new field is an option, with its help and its rule on resume, without further code.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
from dataclasses import dataclass, fields
from typing import Any, Callable

from .datasets import DATASET_NAMES


class TrainingError(RuntimeError):
    """A run that cannot start as configured, or cannot go on."""


class ConfigError(ValueError):
    """A configuration the run cannot use; refused before anything is written."""


DATA = ("the data set and its train/validation/test split are the run's identity "
        "(its figures would stop being comparable)")
SHAPE = "the model's shape is fixed for a run (the saved weights have this shape)"
ORDER = "the seed and the batch size fix the data order and the noise of every step (what makes a resume exact)"
WARMUP = ("the warm-up belongs to the part of the schedule already followed; "
          "--lr, --steps and --min-lr-fraction change the rest of it")
NOT_GIVEN = dataclasses.MISSING


def _field(default, help: str, group: str, why_fixed: str | None, type=None, choices=None, metavar=None,
           check: tuple[Callable[[Any], bool], str] | None = None, legacy=NOT_GIVEN, required: bool = False):
    metadata = {"help": help, "group": group, "why_fixed": why_fixed, "type": type or (builtin_type(default)),
                "choices": choices, "metavar": metavar, "check": check, "legacy": legacy, "required": required}
    if default is NOT_GIVEN:
        return dataclasses.field(metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def builtin_type(default):
    return str if default is None or default is NOT_GIVEN else type(default)


def fixed(default, help: str, group: str, why: str, **kwargs):
    """A field fixed for a run: `--resume` refuses a different value, saying `why`."""
    return _field(default, help, group, why, **kwargs)


def resumable(default, help: str, group: str, **kwargs):
    """A field `--resume` may change: the new value is applied and logged."""
    return _field(default, help, group, None, **kwargs)


AT_LEAST_1 = (lambda v: v >= 1, "at least 1")
AT_LEAST_0 = (lambda v: v >= 0, "at least 0")
POSITIVE = (lambda v: v > 0 and math.isfinite(v), "a positive number")


@dataclass
class TrainConfig:
    # data
    dataset: str = fixed(NOT_GIVEN, "the data set (required for a new run; --resume takes it from the run): mnist5k, "
                                    "digits, photos and photos-v1 work offline, fashion-mnist too with Debian's "
                                    "dataset-fashion-mnist; the others download through torchvision",
                         "data", DATA, choices=DATASET_NAMES)
    out: str = resumable(NOT_GIVEN, "run directory: OUT/last, OUT/best, metrics, plots, samples "
                                    "(a run moved to another directory resumes from there)", "data", required=True)
    root: str = resumable("data", "where torchvision data sets are stored/downloaded", "data")
    folder: str | None = fixed(None, "image directory for --dataset folder (ImageFolder layout)", "data", DATA)
    image_size: int | None = fixed(None, "crop/resize size where the data set allows it", "data", DATA, type=int,
                                   check=AT_LEAST_1)
    val_fraction: float = fixed(0.1, "share of training images held out for validation", "data", DATA,
                                check=(lambda v: 0 <= v < 1, "in [0, 1)"))
    max_shift: int = resumable(0, "augmentation: move each training image by a random offset of up to this many "
                                  "pixels in each direction (edge pixels repeated); 0 = off", "data",
                               check=AT_LEAST_0, legacy=0)
    photo_scales: int = resumable(1, "augmentation for --dataset photos: training crops come from this many shorter "
                                     "sides per octave between 2 and 8 crop sizes (1 = the test protocol's 2, 4 and "
                                     "8; 4 = nine sides, 64 to 256 px for 32x32 crops); validation and test are "
                                     "unchanged", "data", check=AT_LEAST_1, legacy=1)
    photo_max_side: int = resumable(0, "augmentation for --dataset photos: training crops also come from shorter sides "
                                       "above 8 crop sizes, up to this many pixels (e.g. 1024: nearly flat patches of "
                                       "sky, water and walls, as in photographs at full resolution); 0 = up to 8 crop "
                                       "sizes", "data", check=AT_LEAST_0, legacy=0)
    photo_grey_fraction: float = resumable(0.0, "augmentation for --dataset photos: this fraction of the training crops "
                                                "is turned grey (each channel the crop's luma), as black-and-white "
                                                "and nearly grey photographs are, whose three equal channels a "
                                                "lossless codec stores almost for the price of one; 0 = off", "data",
                                           check=(lambda v: 0 <= v <= 1, "in [0, 1]"), legacy=0.0)
    download: bool = resumable(True, "download missing torchvision data (--no-download: fail instead)", "data")
    workers: int = resumable(0, "data-loading worker processes for evaluation and the histogram baseline (training "
                                "batches are assembled in the main process, in the seeded order)", "data",
                             check=AT_LEAST_0)
    # model
    num_scales: int = fixed(2, "scales of the multi-scale architecture", "model", SHAPE, check=AT_LEAST_1)
    hidden_channels: int = fixed(32, "hidden channels of the s/t ResNets at the first scale, doubled per scale",
                                 "model", SHAPE, check=AT_LEAST_1)
    num_blocks: int = fixed(4, "residual blocks per s/t network", "model", SHAPE, check=AT_LEAST_0)
    num_classes: int = fixed(0, "train a class-conditional model with this many classes (0 = unconditional; "
                                "needs a labelled data set)", "model", SHAPE, check=AT_LEAST_0)
    conditioning: str = fixed("networks", "where a class-conditional model sees the label: an embedding in every s/t "
                                          "network, a mean per class in latent space (a Gaussian-mixture prior: one "
                                          "encoding scores every class, so --class-loss-weight costs nothing extra "
                                          "and covers the whole batch), or both", "model", SHAPE,
                              choices=("networks", "latent_means", "both"), legacy="networks")
    init_from: str | None = fixed(None, "start from the weights of a saved model (a directory with config.json and "
                                        "model.safetensors, e.g. an earlier run's RUN/best); its architecture must "
                                        "match the model options, except that --num-blocks may be larger: the "
                                        "added residual blocks start as the identity", "model", "the starting weights are part of the run")
    dequantizer_hidden: int = fixed(0, "learned dequantization noise q(u | image) instead of uniform noise (Flow++, "
                                       "section 3.1): hidden channels of its network; 0 = uniform noise. With "
                                       "--init-from a model trained with uniform noise, q starts as uniform noise",
                                    "model", SHAPE, check=AT_LEAST_0, legacy=0)
    dequantizer_lr_factor: float = resumable(10.0, "the learned dequantizer's learning rate, as a multiple of the "
                                                   "flow's (--dequantizer-hidden)", "optimization", check=POSITIVE,
                                             legacy=10.0)
    bn_statistics: str = fixed("batch", "what the flow's batch norms normalize with in training: this batch's "
                                        "statistics, or the paper's appendix E running averages updated by the "
                                        "batch (averaged)", "model", SHAPE, choices=("batch", "averaged"),
                               legacy="batch")
    # optimization
    steps: int = resumable(2000, "optimizer steps in total, counted across resumes; on --resume the rate decays "
                                 "smoothly from its current value to the floor at the new total", "optimization",
                           check=AT_LEAST_1)
    batch_size: int = fixed(64, "global batch size, split across processes", "optimization", ORDER, check=AT_LEAST_1)
    lr: float = resumable(1e-3, "Adam learning rate after warm-up (on --resume: the schedule continues, scaled to "
                                "the new rate)", "optimization", check=POSITIVE)
    warmup_steps: int = fixed(200, "linear warm-up steps", "optimization", WARMUP, check=AT_LEAST_0)
    min_lr_fraction: float = resumable(0.05, "the cosine decay ends at this fraction of --lr", "optimization",
                                       check=(lambda v: 0 <= v <= 1, "in [0, 1]"))
    loss_units: str = resumable("nats", "units of the objective that --scale-l2 and --grad-clip act on: nats "
                                        "(mean -log p(x) per image, as the paper's code) or bits (bits/dim, "
                                        "D ln 2 times smaller); progress and metrics report bits/dim either way",
                                "optimization", choices=("nats", "bits"), legacy="bits")
    scale_l2: float = resumable(5e-5, "L2 penalty on the weight-norm scales, as in the paper", "optimization",
                                check=AT_LEAST_0)
    grad_clip: float = resumable(100.0, "gradient-norm clipping (0 = off)", "optimization", check=AT_LEAST_0)
    class_loss_weight: float = resumable(0.0, "class-conditional models: add this weight times the cross-entropy "
                                              "of the model's own Bayes classifier, p(y | x) from the exact "
                                              "log p(x | y) of every label, to the objective in nats (a hybrid "
                                              "objective, for a generative classifier that separates classes; "
                                              "0 = pure likelihood)", "optimization", check=AT_LEAST_0, legacy=0.0)
    class_loss_images: int = resumable(16, "images of each batch scored under every label for --class-loss-weight "
                                           "(each costs num_classes extra forward passes)", "optimization",
                                       check=AT_LEAST_1, legacy=16)
    ema_decay: float = resumable(0.999, "exponential moving average of the weights (Polyak averaging), used for "
                                        "evaluation, best/, samples and the saved models; 0 = off (the recipe "
                                        "ablation in docs/training.md measured it ahead)",
                                 "optimization", check=(lambda v: 0 <= v < 1, "in [0, 1)"), legacy=0.0)
    seed: int = fixed(0, "seed of initialization, data order and noise", "optimization", ORDER)
    max_rollbacks: int = resumable(5, "non-finite recoveries before giving up", "optimization", check=AT_LEAST_0)
    # run
    device: str = resumable("auto", "auto picks cuda when available", "run", choices=("auto", "cpu", "cuda"))
    amp: str = resumable("auto", "bf16 autocast for the s/t networks in training (auto: on for CPUs with native bf16, "
                                 "AVX512-BF16 or AMX; off on GPUs, where these small convolutions are bound by kernel "
                                 "launches and the casts cost more than they save: bench/peer.py on an H200); "
                                 "evaluation is always float32", "run", choices=("auto", "bf16", "off"))
    channels_last: str = resumable("auto", "channels_last memory format (auto: on for cuda)", "run",
                                   choices=("auto", "on", "off"))
    max_train_minutes: float = resumable(0.0, "stop with a final evaluation and checkpoint once the training steps "
                                              "have taken this many minutes in total (counted across resumes; the "
                                              "schedule still runs to --steps); 0 = no limit", "run",
                                         check=AT_LEAST_0)
    eval_every: int = resumable(500, "steps between evaluations on validation and test", "run", check=AT_LEAST_1)
    eval_batch_size: int = resumable(500, "batch size for evaluation", "run", check=AT_LEAST_1)
    checkpoint_every: int = resumable(250, "steps between checkpoints of OUT/last", "run", check=AT_LEAST_1)
    keep_evaluated: bool = resumable(False, "also keep the model of every evaluation in OUT, a directory per "
                                            "evaluation named after its step (the averaged weights and card, no "
                                            "training state), to choose among them afterwards on other data (e.g. "
                                            "bench/photo_selection.py)", "run")
    push_to_hub: str | None = resumable(None, "publish the best checkpoint to the Hugging Face Hub at the end",
                                        "run", metavar="REPO_ID")

    def __post_init__(self):
        problems = []
        for f in fields(self):
            value, meta = getattr(self, f.name), f.metadata
            if value is None and f.default is None:
                continue
            if meta["choices"] is not None and value not in meta["choices"]:
                problems.append(f"{flag(f.name)} {value!r}: choose one of {', '.join(map(str, meta['choices']))}")
            elif meta["check"] is not None and not meta["check"][0](value):
                problems.append(f"{flag(f.name)} must be {meta['check'][1]}, got {value}")
        if problems:
            raise ConfigError("; ".join(problems))


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def is_fixed(name: str) -> bool:
    return FIELDS[name].metadata["why_fixed"] is not None


FIELDS = {f.name: f for f in fields(TrainConfig)}


def show(value) -> str:
    return repr(value) if isinstance(value, str) or value is None else str(value)


# ----------------------------------------------------------------------------- command line
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One option per field, in argument groups; options not given are absent from the parsed
    namespace (so --resume knows what was given)."""
    groups: dict[str, argparse._ArgumentGroup] = {}
    for f in fields(TrainConfig):
        meta = f.metadata
        if meta["group"] not in groups:
            groups[meta["group"]] = parser.add_argument_group(meta["group"])
        group = groups[meta["group"]]
        notes = []
        if meta["required"]:
            notes.append("required")
        elif f.default is not None and f.default is not NOT_GIVEN:
            notes.append(f"default: {f.default}")
        notes.append("fixed for a run" if meta["why_fixed"] else "may change on --resume")
        text = f"{meta['help']} ({'; '.join(notes)})".replace("%", "%%")
        if meta["type"] is bool:
            group.add_argument(flag(f.name), dest=f.name, action=argparse.BooleanOptionalAction,
                               default=argparse.SUPPRESS, help=text)
        else:
            group.add_argument(flag(f.name), dest=f.name, type=meta["type"], choices=meta["choices"],
                               metavar=meta["metavar"], required=meta["required"], default=argparse.SUPPRESS,
                               help=text)


# ----------------------------------------------------------------------------- resume
def resumed(saved: dict, given: dict, at_step: int, log=print) -> TrainConfig:
    """The saved run's configuration with the options `given` on the command line. Each given
    value that differs from the saved one is applied and logged ("--lr 0.0001 (was 0.001)") or,
    for a field fixed for the run, refused with the reason; nothing is dropped. Fields the saved
    run predates take their `legacy` value (the recipe the run was trained with) or the default."""
    unknown = sorted(set(saved) - set(FIELDS))
    if unknown:
        raise ConfigError(f"--resume: the saved run has settings this version does not know: {', '.join(unknown)}")
    values, notes = {}, []
    for name, f in FIELDS.items():
        if name in saved:
            values[name] = saved[name]
        elif f.metadata["legacy"] is not NOT_GIVEN:
            values[name] = f.metadata["legacy"]
            notes.append(f"{flag(name)}: the saved run predates this option and keeps its recipe, {show(values[name])}")
        elif f.default is not NOT_GIVEN:
            values[name] = f.default
        else:
            raise ConfigError(f"--resume: the saved run's configuration lacks {name}")
    refused, applied = [], []
    for name, value in given.items():
        if name not in FIELDS:
            raise ConfigError(f"--resume: unknown setting {name!r}")
        before = values[name]
        if value == before:
            continue
        if is_fixed(name):
            refused.append(f"{flag(name)} {show(value)} differs from the saved run's {show(before)}: "
                           f"{FIELDS[name].metadata['why_fixed']}")
        else:
            values[name] = value
            applied.append(f"{flag(name)} {show(value)} (was {show(before)})")
    if given.get("steps", at_step) < at_step:
        refused.append(f"--steps {given['steps']}: the run is already at step {at_step}")
    if refused:
        raise ConfigError("--resume refused: " + "; ".join(refused))
    config = TrainConfig(**values)
    for line in notes + applied:
        log(f"resume: {line}")
    return config
