"""Training: data order, optimization, evaluation, checkpoints, resume, non-finite recovery,
and DistributedDataParallel (started with torchrun; gloo on CPU, NCCL on GPU).

Reproducibility: every random number of optimizer step `s` (data order, dequantization noise,
flips and crops) is derived from (seed, s). A resumed run therefore continues exactly as the
uninterrupted run would have (bit for bit on the same machine with --workers 0).
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from huggingface_hub import upload_file
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm import tqdm

from realnvp import NonFiniteError, RealNVP
from realnvp.preprocess import bits_per_dim, dequantize

from . import report
from .checkpointing import load_training_state, recover, save_checkpoint
from .data import build_datasets, histogram_baseline_bpd

# Run settings that may change when resuming; everything else must match the saved run.
RESUMABLE_OVERRIDES = {"steps", "eval_every", "checkpoint_every", "device", "workers", "push_to_hub",
                       "eval_batch_size", "amp", "channels_last", "max_rollbacks"}
MODEL_KEYS = ("num_scales", "hidden_channels", "num_blocks")


@dataclass
class TrainConfig:
    dataset: str
    out: str
    root: str = "data"
    folder: str | None = None
    image_size: int | None = None
    num_scales: int = 2
    hidden_channels: int = 32
    num_blocks: int = 4
    num_classes: int = 0
    batch_size: int = 64
    lr: float = 1e-3
    warmup_steps: int = 200
    min_lr_fraction: float = 0.05
    scale_l2: float = 5e-5
    grad_clip: float = 100.0
    steps: int = 2000
    eval_every: int = 500
    checkpoint_every: int = 250
    eval_batch_size: int = 500
    val_fraction: float = 0.1
    seed: int = 0
    device: str = "auto"
    workers: int = 0
    amp: str = "auto"
    channels_last: str = "auto"
    max_rollbacks: int = 5
    push_to_hub: str | None = None
    download: bool = True


class TrainingError(RuntimeError):
    pass


# ----------------------------------------------------------------------------- set-up
def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise TrainingError("--device cuda was asked for, but no CUDA GPU is available; use --device cpu")
        return torch.device("cuda", local_rank)
    if name != "cpu":
        raise TrainingError(f"unknown device {name!r}: use auto, cpu or cuda")
    return torch.device("cpu")


def hardware_description(device: torch.device, world_size: int) -> str:
    if device.type == "cuda":
        what = torch.cuda.get_device_name(device)
    else:
        what = platform.processor() or platform.machine()
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    what = line.split(":", 1)[1].strip()
                    break
        except OSError:
            pass
        what = f"{what}, {torch.get_num_threads()} threads"
    return f"{world_size} x {what}" if world_size > 1 else what


def step_seed(seed: int, step: int, rank: int = 0) -> int:
    return (seed * 1_000_003 + step * 7_919 + rank * 104_729) % (2**63 - 1)


def batch_indices(num_items: int, global_batch: int, seed: int, step: int) -> list[int]:
    """The data indices of a global step: a fresh seeded permutation per epoch, last partial
    batch dropped."""
    per_epoch = num_items // global_batch
    if per_epoch == 0:
        raise TrainingError(f"batch size {global_batch} is larger than the training set ({num_items} images)")
    epoch, position = divmod(step, per_epoch)
    order = torch.randperm(num_items, generator=torch.Generator().manual_seed(step_seed(seed, epoch)))
    return order[position * global_batch:(position + 1) * global_batch].tolist()


def learning_rate(config: TrainConfig, step: int, scale: float = 1.0) -> float:
    """Linear warm-up, then cosine decay to min_lr_fraction of the base rate at `steps`."""
    warm = min(1.0, (step + 1) / max(1, config.warmup_steps))
    progress = min(1.0, step / max(1, config.steps))
    cosine = config.min_lr_fraction + (1 - config.min_lr_fraction) * 0.5 * (1 + math.cos(math.pi * progress))
    return config.lr * warm * cosine * scale


def stack_batch(dataset, indices):
    items = [dataset[i] for i in indices]
    return torch.stack([x for x, _ in items]), torch.stack([torch.as_tensor(y) for _, y in items]).long()


EVAL_NOISE_SEED = 1234  # fixed dequantization noise of every evaluation (and of train.export)


@torch.no_grad()
def per_image_bpd(model: RealNVP, dataset, device: torch.device, batch_size: int = 200,
                  seed: int = EVAL_NOISE_SEED) -> list[float]:
    """Exact bits/dim of each image of `dataset`, in order, with fixed dequantization noise;
    class-conditional models are scored with the true labels. Evaluation mode; the module's
    mode is restored afterwards."""
    was_training = model.training
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    conditional = model.num_classes is not None
    out: list[float] = []
    for x, y in DataLoader(dataset, batch_size=batch_size, shuffle=False):
        x = model.dequantize(x.double(), generator=generator).float().to(device)
        out += model.bits_per_dim(x, y.to(device) if conditional else None).double().cpu().tolist()
    model.train(was_training)
    return out


def evaluate_bpd(model: RealNVP, dataset, device: torch.device, batch_size: int, seed: int = EVAL_NOISE_SEED) -> float:
    """Exact average bits/dim over the whole split."""
    values = per_image_bpd(model, dataset, device, batch_size, seed)
    return sum(values) / len(values)


def first_non_finite_gradient(model: torch.nn.Module) -> str | None:
    for name, p in model.named_parameters():
        if p.grad is not None and not torch.isfinite(p.grad).all():
            return name
    return None


# ----------------------------------------------------------------------------- the trainer
class Trainer:
    def __init__(self, config: TrainConfig, command: str | None = None, log=print):
        self.config = config
        self.command = command or "python -m train " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        self.log = log
        self.out = Path(config.out)
        self.distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
        if self.distributed and not dist.is_initialized():
            local_rank = int(os.environ.get("LOCAL_RANK", "0"))
            device = resolve_device(config.device, local_rank)
            if device.type == "cuda":
                torch.cuda.set_device(device)
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        self.rank = dist.get_rank() if self.distributed else 0
        self.world_size = dist.get_world_size() if self.distributed else 1
        self.device = resolve_device(config.device, int(os.environ.get("LOCAL_RANK", "0")))
        if config.batch_size % self.world_size:
            raise TrainingError(f"batch size {config.batch_size} must be divisible by the {self.world_size} processes")

        self.train_set, self.val_set, self.test_set, self.info = build_datasets(
            config.dataset, root=config.root, image_size=config.image_size, val_fraction=config.val_fraction,
            seed=config.seed, download=config.download, folder=config.folder)
        if config.num_classes and (self.info.num_classes is None or config.num_classes < self.info.num_classes):
            raise TrainingError(f"--num-classes {config.num_classes}: data set {config.dataset} has "
                                f"{self.info.num_classes or 'no'} labels")
        torch.manual_seed(config.seed)  # the initialization is part of the run's reproducible state
        self.model = RealNVP(in_channels=self.info.channels, image_size=self.info.image_size,
                             num_scales=config.num_scales, hidden_channels=config.hidden_channels,
                             num_blocks=config.num_blocks, num_classes=config.num_classes or None,
                             num_levels=self.info.num_levels).to(self.device)
        use_amp = config.amp == "bf16" or (config.amp == "auto" and self.device.type == "cuda")
        self.model.set_autocast(torch.bfloat16 if use_amp else None)
        if config.channels_last == "on" or (config.channels_last == "auto" and self.device.type == "cuda"):
            self.model.to(memory_format=torch.channels_last)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.lr)
        self.step = 0
        self.lr_scale = 1.0
        self.rollbacks = 0
        self.train_seconds = 0.0
        self.best_val = math.inf
        self.baseline = None
        self.commands = [self.command]  # the invocations that made this run (the first, then each resume)
        self.ddp = (DistributedDataParallel(self.model, device_ids=[self.device] if self.device.type == "cuda" else None)
                    if self.distributed else self.model)

    # -- state
    def state(self) -> dict:
        return {"step": self.step, "lr_scale": self.lr_scale, "rollbacks": self.rollbacks,
                "train_seconds": self.train_seconds, "best_val": self.best_val, "baseline_bpd": self.baseline,
                "commands": self.commands, "config": dataclasses.asdict(self.config), "world_size": self.world_size}

    def card(self, test_bpd=None, val_bpd=None) -> str:
        split = {"mnist5k": "first 400 images of each digit for training (10% of them held out for validation), "
                            "last 100 of each digit for test (1,000)",
                 "photos": "32x32 crops at 1, 1/2 and 1/4 scale with flips of skimage's astronaut, chelsea, rocket, "
                           "motorcycle (the bottom strip of each held out for validation); test: 1,000 fixed crops "
                           "of coffee, held out whole"}.get(
            self.config.dataset, f"train {len(self.train_set)} / validation {len(self.val_set)} / test {len(self.test_set)}")
        return report.model_card(
            name=self.out.name, config=self.model._hub_mixin_config, dataset=self.config.dataset, split=split,
            test_bpd=test_bpd, val_bpd=val_bpd, steps=self.step, train_seconds=self.train_seconds,
            hardware=hardware_description(self.device, self.world_size), command="\n".join(self.commands),
            num_params=sum(p.numel() for p in self.model.parameters()))

    def save(self, name: str, test_bpd=None, val_bpd=None) -> None:
        if self.rank != 0:
            return
        for p in self.model.state_dict().values():
            if p.is_floating_point() and not torch.isfinite(p).all():
                raise TrainingError("refusing to save a checkpoint with non-finite weights")
        save_checkpoint(self.out / name, self.model, self.optimizer, self.state(), self.card(test_bpd, val_bpd))

    def load(self, name: str = "last") -> None:
        directory = self.out / name
        recover(directory)
        loaded = RealNVP.from_pretrained(directory)
        self.model.load_state_dict(loaded.state_dict())
        optimizer_state, state = load_training_state(directory)
        self.optimizer.load_state_dict(optimizer_state)
        self.step = state["step"]
        self.lr_scale = state["lr_scale"]
        self.rollbacks = state["rollbacks"]
        self.train_seconds = state["train_seconds"]
        self.best_val = state["best_val"] if state["best_val"] is not None else math.inf
        self.baseline = state.get("baseline_bpd")
        previous = state.get("commands", [])
        self.commands = previous if previous and previous[-1] == self.command else previous + [self.command]

    # -- one step
    def train_step(self) -> float:
        config = self.config
        indices = batch_indices(len(self.train_set), config.batch_size, config.seed, self.step)
        if hasattr(self.train_set, "set_epoch"):  # data sets that draw fresh random crops per epoch
            self.train_set.set_epoch(self.step // (len(self.train_set) // config.batch_size))
        per_rank = config.batch_size // self.world_size
        indices = indices[self.rank * per_rank:(self.rank + 1) * per_rank]
        torch.manual_seed(step_seed(config.seed, self.step, self.rank))  # crops and flips in the data set
        x, y = stack_batch(self.train_set, indices)
        generator = torch.Generator().manual_seed(step_seed(config.seed, self.step, self.rank) + 1)
        x = dequantize(x, self.info.num_levels, generator=generator).to(self.device)
        if self.device.type == "cuda" and config.channels_last != "off":
            x = x.contiguous(memory_format=torch.channels_last)
        lr = learning_rate(config, self.step, self.lr_scale)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.model.train()
        lp = self.ddp(x, y.to(self.device) if config.num_classes else None)
        bpd = bits_per_dim(lp, x[0].numel(), self.info.num_levels).mean()
        loss = bpd + config.scale_l2 * sum((g * g).sum() for g in self.model.weight_norm_scales())
        if not torch.isfinite(loss):
            raise NonFiniteError(f"the loss is {loss.item()} at step {self.step}")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        bad = first_non_finite_gradient(self.model)
        if bad is not None:
            raise NonFiniteError(f"non-finite gradient of {bad} at step {self.step}")
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), config.grad_clip)
        self.optimizer.step()
        self.step += 1
        return bpd.item()

    def evaluate(self) -> dict:
        val = evaluate_bpd(self.model, self.val_set, self.device, self.config.eval_batch_size)
        test = evaluate_bpd(self.model, self.test_set, self.device, self.config.eval_batch_size)
        return {"val_bpd": val, "test_bpd": test}

    def rollback(self, error: Exception) -> None:
        self.rollbacks += 1
        where = f"at step {self.step}"
        if self.rollbacks > self.config.max_rollbacks:
            raise TrainingError(f"non-finite values {where} ({error}); gave up after {self.config.max_rollbacks} "
                                f"roll-backs. The last good checkpoint is in {self.out / 'last'}; "
                                f"try a lower --lr or a smaller model.") from error
        rollbacks = self.rollbacks
        self.load("last")
        self.rollbacks = rollbacks
        self.lr_scale *= 0.5
        self.log(f"[non-finite] {error} {where}. Rolled back to the last checkpoint (step {self.step}) "
                 f"and halved the learning rate (scale {self.lr_scale:g}); roll-back {self.rollbacks}/{self.config.max_rollbacks}.")

    # -- the run
    def run(self, resume: bool = False) -> dict:
        config = self.config
        is_main = self.rank == 0
        if resume:
            self.load("last")
            self.log(f"resumed from {self.out / 'last'} at step {self.step}")
        elif is_main:
            if (self.out / "last").exists() or (self.out / "last.old").exists():
                raise TrainingError(f"{self.out} already holds a run: pass --resume to continue it, or choose another --out")
            self.out.mkdir(parents=True, exist_ok=True)
            (self.out / "metrics.jsonl").unlink(missing_ok=True)
            self.baseline = histogram_baseline_bpd(self.train_set, self.test_set, self.info)
            self.log(f"{config.dataset}: {len(self.train_set)} train / {len(self.val_set)} validation / "
                     f"{len(self.test_set)} test images of {self.info.shape}; independent per-pixel histograms "
                     f"give {self.baseline:.3f} bits/dim on the test set")
            self.save("last")  # a good state to roll back to from the first step
        if self.distributed:
            dist.barrier()
            if resume is False:
                self.load("last")  # every process starts from rank 0's initial weights
        metrics_path = self.out / "metrics.jsonl"
        if is_main and resume:  # drop records from steps after the checkpoint (work lost by the kill)
            kept = [m for m in report.read_metrics(metrics_path) if m["step"] <= self.step]
            metrics_path.write_text("".join(json.dumps(m) + "\n" for m in kept))

        progress = tqdm(total=config.steps, initial=self.step, disable=not is_main, desc=f"train {config.dataset}",
                        unit="step", dynamic_ncols=True, mininterval=1.0)
        running, images_per_second = None, 0.0
        result = {}
        while self.step < config.steps:
            start = time.perf_counter()
            try:
                bpd = self.train_step()
            except NonFiniteError as error:
                self.rollback(error)
                progress.n = self.step
                progress.refresh()
                continue
            elapsed = time.perf_counter() - start
            self.train_seconds += elapsed
            running = bpd if running is None else 0.9 * running + 0.1 * bpd
            images_per_second = 0.9 * images_per_second + 0.1 * config.batch_size / elapsed if images_per_second else config.batch_size / elapsed
            progress.update(1)
            progress.set_postfix(bpd=f"{running:.3f}", img_s=f"{images_per_second:.0f}", lr=f"{learning_rate(config, self.step, self.lr_scale):.1e}")
            at_end = self.step == config.steps
            if self.step % config.eval_every == 0 or at_end:
                if is_main:
                    result = self.evaluate()
                    record = {"step": self.step, "train_bpd": running, **result, "train_seconds": self.train_seconds,
                              "images_per_second": images_per_second, "lr": learning_rate(config, self.step, self.lr_scale)}
                    report.append_metrics(metrics_path, record)
                    report.save_sample_grid(self.model, self.out / "samples" / f"step-{self.step:07d}.png")
                    report.save_sample_grid(self.model, self.out / "samples.png")
                    report.plot_curves(report.read_metrics(metrics_path), self.out / "curves.png", self.baseline)
                    progress.write(f"step {self.step}: train {running:.4f}  validation {result['val_bpd']:.4f}  "
                                   f"test {result['test_bpd']:.4f} bits/dim")
                    if result["val_bpd"] < self.best_val:
                        self.best_val = result["val_bpd"]
                        self.save("best", test_bpd=result["test_bpd"], val_bpd=result["val_bpd"])
            if self.step % config.checkpoint_every == 0 or at_end:
                self.save("last", result.get("test_bpd"), result.get("val_bpd"))
                if self.distributed:
                    dist.barrier()
        progress.close()
        if is_main and config.push_to_hub:
            self.push(config.push_to_hub)
        return {"step": self.step, **result}

    def push(self, repo_id: str) -> None:
        best = self.out / "best" if (self.out / "best").exists() else self.out / "last"
        try:
            model = RealNVP.from_pretrained(best)
            model.push_to_hub(repo_id)
            upload_file(path_or_fileobj=str(best / "README.md"), path_in_repo="README.md", repo_id=repo_id)
            self.log(f"pushed {best} to https://huggingface.co/{repo_id}")
        except Exception as error:  # noqa: BLE001 - any network or auth failure
            self.log(f"[push-to-hub] could not push to {repo_id}: {type(error).__name__}: {error}. "
                     f"Nothing was lost: the checkpoints are in {self.out}; push later with "
                     f"RealNVP.from_pretrained('{best}').push_to_hub('{repo_id}').")


def resumed_config(out: Path, cli: dict) -> TrainConfig:
    """The saved run's configuration, with the settings that may change taken from the command line."""
    recover(out / "last")
    state_file = out / "last" / "training_state.json"
    if not state_file.exists():
        raise TrainingError(f"--resume: {state_file} not found; there is no run to resume in {out}")
    saved = json.loads(state_file.read_text())["state"]["config"]
    for key, value in cli.items():
        if value is None or key in ("out",):
            continue
        if key in RESUMABLE_OVERRIDES:
            saved[key] = value
        elif saved.get(key) != value and key in (*MODEL_KEYS, "dataset", "batch_size", "seed", "num_classes"):
            raise TrainingError(f"--resume: --{key.replace('_', '-')} {value} differs from the saved run's {saved.get(key)}")
    saved["out"] = str(out)
    return TrainConfig(**saved)
