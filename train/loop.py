"""Training: the Trainer (data order, optimization, checkpoints, resume, non-finite recovery,
DistributedDataParallel under torchrun).

Reproducibility: every random number of optimizer step `s` (data order, dequantization noise,
flips and crops) is derived from (seed, s). A resumed run therefore continues exactly as the
uninterrupted run would have (bit for bit on the same machine).

The configuration is `train.config`, the rate schedule `train.schedule`, evaluation
`train.evaluation`, the device and process group `train.distributed`, the checkpoint
directories `train.snapshots`, the weight average `train.ema`, publishing `train.publish`.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import shlex
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from realnvp import NonFiniteError, RealNVP
from realnvp.precision import fast_dtype
from realnvp.preprocess import bits_per_dim

from . import card, distributed, publish, report, schedule
from .augment import random_shift
from .batches import batch_indices, stack_batch, step_seed
from .config import TrainConfig, TrainingError, resumed
from .baselines import histogram_baseline_bpd
from .datasets import build_datasets
from .ema import WeightAverage
from .evaluation import evaluate_bpd, full_precision
from .snapshots import load_training_state, read_run_state, recover, save_checkpoint
from .warm_start import load_starting_weights, start_class_means, validation_warning

__all__ = ["TrainConfig", "Trainer", "TrainingError", "batch_indices", "resumed_config"]

RAW = "raw."  # prefix of the raw weights in the training state when model.safetensors holds their average


def first_non_finite_gradient(model: torch.nn.Module) -> str | None:
    grads = [(name, p.grad) for name, p in model.named_parameters() if p.grad is not None]
    if not grads or torch.stack([torch.isfinite(g).all() for _, g in grads]).all():
        return None
    return next(name for name, g in grads if not torch.isfinite(g).all())


# ----------------------------------------------------------------------------- the trainer
class Trainer:
    def __init__(self, config: TrainConfig, command: str | None = None, log=print):
        self.config = config
        self.command = command or "python -m train " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        self.log = log
        self.out = Path(config.out)
        self.placement = distributed.set_up(config.device)
        self.rank, self.world_size, self.device = self.placement.rank, self.placement.world_size, self.placement.device
        self.distributed = self.placement.distributed
        if config.batch_size % self.world_size:
            raise TrainingError(f"batch size {config.batch_size} must be divisible by the {self.world_size} processes")

        photo_flags = [f"--photo-scales {config.photo_scales}"] * (config.photo_scales != 1) + \
            [f"--photo-max-side {config.photo_max_side}"] * bool(config.photo_max_side) + \
            [f"--photo-grey-fraction {config.photo_grey_fraction:g}"] * bool(config.photo_grey_fraction)
        if photo_flags and config.dataset != "photos":
            raise TrainingError(f"{' '.join(photo_flags)}: only the photos data set has scales "
                                f"(this run's data set is {config.dataset}); leave them out")
        self.train_set, self.val_set, self.test_set, self.info = build_datasets(
            config.dataset, root=config.root, image_size=config.image_size, val_fraction=config.val_fraction,
            seed=config.seed, download=config.download, folder=config.folder,
            photo_scales_per_octave=config.photo_scales, photo_max_side=config.photo_max_side or None,
            photo_grey_fraction=config.photo_grey_fraction)
        if config.class_loss_weight > 0 and not config.num_classes:
            raise TrainingError("--class-loss-weight needs a class-conditional model: give --num-classes")
        if config.num_classes and (self.info.num_classes is None or config.num_classes < self.info.num_classes):
            raise TrainingError(f"--num-classes {config.num_classes}: data set {config.dataset} has "
                                f"{self.info.num_classes or 'no'} labels")
        torch.manual_seed(config.seed)  # the initialization is part of the run's reproducible state
        self.model = RealNVP(in_channels=self.info.channels, image_size=self.info.image_size,
                             num_scales=config.num_scales, hidden_channels=config.hidden_channels,
                             num_blocks=config.num_blocks, num_classes=config.num_classes or None,
                             num_levels=self.info.num_levels,
                             bn_training_statistics=config.bn_statistics,
                             conditioning=config.conditioning,
                             **({"dequantizer_hidden": config.dequantizer_hidden} if config.dequantizer_hidden else {})
                             ).to(self.device)
        if config.init_from:
            added = load_starting_weights(config.init_from, self.model)
            if self.rank == 0 and added:
                self.log(f"--init-from {config.init_from}: {added} residual blocks added to each s/t network, "
                         "starting as the identity")
            made_conditional = config.num_classes and not RealNVP.from_pretrained(config.init_from).num_classes
            if self.rank == 0 and made_conditional:
                self.log(f"--init-from {config.init_from}: an unconditional model made class-conditional; the label "
                         "embeddings start at zero, so log p(x | y) starts as its log p(x) for every label")
            if made_conditional and self.model.class_shift is not None:  # a conditional DIR keeps its trained means
                used = start_class_means(self.model, self.train_set, self.info.num_levels)
                if self.rank == 0:
                    self.log(f"--init-from {config.init_from}: each class's latent mean starts at the mean of its "
                             f"{used} training images' latents")
            if self.rank == 0 and (warning := validation_warning(config.init_from, config, self.train_set, self.val_set)):
                self.log(warning)
        use_amp = config.amp == "bf16" or (config.amp == "auto" and fast_dtype(self.device) == torch.bfloat16)
        self.model.set_autocast(torch.bfloat16 if use_amp else None)  # the training forward only
        if config.channels_last == "on" or (config.channels_last == "auto" and self.device.type == "cuda"):
            self.model.to(memory_format=torch.channels_last)
        # a new dequantizer starts at zero and has far to go (the noise of a grey pixel's channels shared,
        # scales of a few e-folds): its own group, at --dequantizer-lr-factor times the rate
        flow = [p for name, p in self.model.named_parameters() if not name.startswith("dequantizer.")]
        groups = [{"params": flow}]
        if self.model.dequantizer is not None:
            groups.append({"params": list(self.model.dequantizer.parameters())})
        self.optimizer = torch.optim.Adam(groups, lr=config.lr)
        self.ema = WeightAverage(self.model, config.ema_decay) if config.ema_decay > 0 else None
        self.step = 0
        self.lr_factor = 1.0  # halved by each roll-back
        self.schedule = schedule.start(config.steps, config.min_lr_fraction)
        self.rollbacks = 0
        self.train_seconds = 0.0
        self.best_val = math.inf
        self.baseline = None
        self.commands = [self.command]  # the invocations that made this run (the first, then each resume)
        self.ddp = (DistributedDataParallel(self.model, device_ids=[self.device] if self.device.type == "cuda" else None)
                    if self.distributed else self.model)

    def learning_rate(self, step: int | None = None) -> float:
        c = self.config
        return schedule.learning_rate(c.lr, c.warmup_steps, self.schedule, self.step if step is None else step,
                                      self.lr_factor)

    @contextlib.contextmanager
    def evaluation_weights(self):
        """The weights that are evaluated, sampled and saved as the model: the moving average
        with --ema-decay, else the raw weights."""
        with self.ema.applied(self.model) if self.ema else contextlib.nullcontext():
            yield self.model

    # -- state
    def state(self) -> dict:
        return {"step": self.step, "lr_factor": self.lr_factor, "schedule": schedule.to_json(self.schedule),
                "rollbacks": self.rollbacks, "train_seconds": self.train_seconds, "best_val": self.best_val,
                "baseline_bpd": self.baseline, "commands": self.commands, "config": dataclasses.asdict(self.config),
                "world_size": self.world_size}

    def card(self, test_bpd=None, val_bpd=None) -> str:
        split = card.split_description(self.config.dataset, (len(self.train_set), len(self.val_set), len(self.test_set)))
        return report.model_card(
            name=self.out.name, config=self.model._hub_mixin_config, dataset=self.config.dataset, split=split,
            test_bpd=test_bpd, val_bpd=val_bpd, steps=self.step, train_seconds=self.train_seconds,
            hardware=distributed.hardware_description(self.device, self.world_size), command="\n".join(self.commands),
            num_params=sum(p.numel() for p in self.model.parameters()), recipe=card.recipe(self.config, bool(self.ema)))

    def save(self, name: str, test_bpd=None, val_bpd=None) -> None:
        """Write OUT/NAME: the model (the moving average with --ema-decay) and the training
        state (with the raw weights, which training continues from, when they differ)."""
        if self.rank != 0:
            return
        raw = {RAW + k: v.detach().clone() for k, v in self.model.state_dict().items()} if self.ema else {}
        with self.evaluation_weights():
            for tensors in (self.model.state_dict(), raw):
                if any(t.is_floating_point() and not torch.isfinite(t).all() for t in tensors.values()):
                    raise TrainingError("refusing to save a checkpoint with non-finite weights")
            save_checkpoint(self.out / name, self.model, self.optimizer, self.state(), self.card(test_bpd, val_bpd),
                            tensors=raw)

    def save_model(self, name: str, test_bpd=None, val_bpd=None) -> None:
        """Write OUT/NAME with the model alone (the moving average with --ema-decay) and its card."""
        with self.evaluation_weights():
            save_checkpoint(self.out / name, self.model, model_card=self.card(test_bpd, val_bpd))

    def load(self, name: str = "last", quiet: bool = False) -> None:
        directory = self.out / name
        recover(directory)
        saved = RealNVP.from_pretrained(directory).state_dict()
        optimizer_state, state, tensors = load_training_state(directory)
        raw = {k[len(RAW):]: v for k, v in tensors.items() if k.startswith(RAW)}
        self.model.load_state_dict(raw or saved)  # raw weights present: the model file holds their average
        if self.ema:
            self.ema.load(saved)  # the average, or the weights themselves where the run had none yet
        if optimizer_state is not None:
            self.optimizer.load_state_dict(optimizer_state)
        self.step = state["step"]
        self.lr_factor = state.get("lr_factor", state.get("lr_scale", 1.0))  # lr_scale: runs before the rename
        self.rollbacks = state["rollbacks"]
        self.train_seconds = state["train_seconds"]
        self.best_val = state["best_val"] if state["best_val"] is not None else math.inf
        self.baseline = state.get("baseline_bpd")
        previous = state.get("commands", [])
        self.commands = previous if previous and previous[-1] == self.command else previous + [self.command]
        saved_config = state["config"]
        segments = (schedule.from_json(state["schedule"]) if "schedule" in state
                    else schedule.start(saved_config["steps"], saved_config["min_lr_fraction"]))
        self.schedule = schedule.retarget(segments, self.step, self.config.steps, self.config.min_lr_fraction)
        if self.schedule != segments and not quiet and self.rank == 0:
            new, now = self.schedule[-1], self.learning_rate()
            self.log(f"resume: the learning rate decays from {now:.3g} at step {self.step} to "
                     f"{self.config.lr * new.floor * self.lr_factor:.3g} at step {new.end} (the schedule goes on, "
                     f"it does not restart)" if new.floor < new.value else
                     f"resume: the learning rate stays at {now:.3g} to step {new.end}: the run had reached the floor "
                     f"of its schedule (a higher rate is a new --lr)")

    # -- one step
    def _stop_together(self, error: Exception | None) -> None:
        """Raise on every process if any process met non-finite values (one all-reduce): all of
        them roll back together, none is left waiting for the others' gradients."""
        ranks = distributed.ranks_where(error is not None, self.placement)
        if not ranks:
            return
        if not self.distributed:
            raise error
        seen = f"on process{'es' if len(ranks) > 1 else ''} {', '.join(map(str, ranks))} of {self.world_size}"
        if error is not None and self.rank != 0:  # rank 0 reports the roll-back; the details are here
            self.log(f"[non-finite] {error} on process {self.rank} at step {self.step}")
        raise NonFiniteError(f"{error if error is not None and self.rank == 0 else 'non-finite values'} {seen}")

    def train_step(self) -> float:
        """One optimizer step; returns the batch's bits/dim. Raises NonFiniteError (on every
        process together) when the loss or a gradient is not finite."""
        config = self.config
        indices = batch_indices(len(self.train_set), config.batch_size, config.seed, self.step)
        if hasattr(self.train_set, "set_epoch"):  # data sets that draw fresh random crops per epoch
            self.train_set.set_epoch(self.step // (len(self.train_set) // config.batch_size))
        per_rank = config.batch_size // self.world_size
        indices = indices[self.rank * per_rank:(self.rank + 1) * per_rank]
        seed = step_seed(config.seed, self.step, self.rank)
        torch.manual_seed(seed)  # crops and flips in the data set
        x, y = stack_batch(self.train_set, indices)
        x = random_shift(x, config.max_shift, torch.Generator().manual_seed(seed + 2))
        noise = torch.Generator().manual_seed(seed + 1)
        # uniform noise (log q = 0) or learned noise q(u | x): the objective is the bound -log p + log q
        # (Flow++, section 3.1)
        x, log_q_map = self.model.dequantize_with_log_q(x, generator=noise)
        x, log_q = x.to(self.device), log_q_map.flatten(1).sum(1).to(self.device)
        if self.device.type == "cuda" and config.channels_last != "off":
            x = x.contiguous(memory_format=torch.channels_last)
        for i, group in enumerate(self.optimizer.param_groups):  # group 1: the dequantizer's
            group["lr"] = self.learning_rate() * (config.dequantizer_lr_factor if i else 1.0)
        self.model.train()
        problem = None
        try:
            y = y.to(self.device) if config.num_classes else None
            scored = min(config.class_loss_images, len(x)) if config.class_loss_weight > 0 else 0
            if scored and config.conditioning == "latent_means":  # one pass scores every class of every image
                lp_all = self.ddp(x, every_class=True)
                lp = lp_all.gather(1, y[:, None])[:, 0]
                class_loss = F.cross_entropy(lp_all, y)
            elif scored:  # the first `scored` images once more under every label, in the same forward
                labels = torch.arange(config.num_classes, device=self.device).repeat_interleave(scored)
                lp_all = self.ddp(torch.cat([x, x[:scored].repeat(config.num_classes, 1, 1, 1)]),
                                  torch.cat([y, labels]))
                lp = lp_all[:len(x)]
                class_loss = F.cross_entropy(lp_all[len(x):].view(config.num_classes, scored).T, y[:scored])
            else:
                lp = self.ddp(x, y)
            lp = lp - log_q
            bpd = bits_per_dim(lp, x[0].numel(), self.info.num_levels).mean()
            # the objective the L2 penalty and clipping act on: nats per image (the paper's code) or bits/dim
            objective = -lp.mean() if config.loss_units == "nats" else bpd
            if scored:
                objective = objective + config.class_loss_weight * class_loss * (
                    1.0 if config.loss_units == "nats" else 1 / (x[0].numel() * math.log(2)))
            loss = objective + config.scale_l2 * sum((g * g).sum() for g in self.model.weight_norm_scales())
            if not torch.isfinite(loss):
                problem = NonFiniteError(f"the loss is {loss.item()}")
        except NonFiniteError as error:  # raised inside the flow, naming the layer
            problem = error
        self._stop_together(problem)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        bad = first_non_finite_gradient(self.model)
        self._stop_together(None if bad is None else NonFiniteError(f"non-finite gradient of {bad}"))
        if config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), config.grad_clip)
        self.optimizer.step()
        self.step += 1
        if self.ema:
            self.ema.update(self.model, self.step)
        return bpd.item()

    def evaluate(self) -> dict:
        """Validation and test bits/dim of the evaluation weights, in float32."""
        with self.evaluation_weights():
            c = self.config
            val = evaluate_bpd(self.model, self.val_set, self.device, c.eval_batch_size, workers=c.workers)
            test = evaluate_bpd(self.model, self.test_set, self.device, c.eval_batch_size, workers=c.workers)
        return {"val_bpd": val, "test_bpd": test}

    def rollback(self, error: Exception) -> None:
        self.rollbacks += 1
        where = f"at step {self.step}"
        if self.rollbacks > self.config.max_rollbacks:
            raise TrainingError(f"non-finite values {where} ({error}); gave up after {self.config.max_rollbacks} "
                                f"roll-backs. The last good checkpoint is in {self.out / 'last'}; "
                                f"try a lower --lr or a smaller model.") from error
        rollbacks = self.rollbacks
        self.load("last", quiet=True)
        self.rollbacks = rollbacks
        self.lr_factor *= 0.5
        if self.rank == 0:
            self.log(f"[non-finite] {error} {where}. Rolled back to the last checkpoint (step {self.step}) and "
                     f"halved the learning rate (factor {self.lr_factor:g}); roll-back "
                     f"{self.rollbacks}/{self.config.max_rollbacks}.")

    # -- the run
    def run(self, resume: bool = False) -> dict:
        config = self.config
        is_main = self.rank == 0
        if resume:
            self.load("last")
            if is_main:
                self.log(f"resumed from {self.out / 'last'} at step {self.step}")
        elif is_main:
            if (self.out / "last").exists() or (self.out / "last.old").exists():
                raise TrainingError(f"{self.out} already holds a run: pass --resume to continue it, or choose another --out")
            self.out.mkdir(parents=True, exist_ok=True)
            (self.out / "metrics.jsonl").unlink(missing_ok=True)
            self.baseline = histogram_baseline_bpd(self.train_set, self.test_set, self.info,
                                                   num_workers=config.workers)
            self.log(f"{config.dataset}: {len(self.train_set)} train / {len(self.val_set)} validation / "
                     f"{len(self.test_set)} test images of {self.info.shape}; independent per-pixel histograms "
                     f"give {self.baseline:.3f} bits/dim on the test set")
            self.save("last")  # a good state to roll back to from the first step
        if self.distributed:
            distributed.barrier(self.placement)
            if resume is False:
                self.load("last", quiet=True)  # every process starts from rank 0's initial weights
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
            progress.set_postfix(bpd=f"{running:.3f}", img_s=f"{images_per_second:.0f}", lr=f"{self.learning_rate():.1e}")
            out_of_time = bool(distributed.ranks_where(
                0 < config.max_train_minutes * 60 <= self.train_seconds, self.placement))  # all ranks stop together
            at_end = self.step == config.steps or out_of_time
            evaluating = self.step % config.eval_every == 0 or at_end
            record = {"step": self.step, "train_bpd": running, "train_seconds": self.train_seconds,
                      "images_per_second": images_per_second, "lr": self.learning_rate()}
            if evaluating:
                if is_main:
                    with self.evaluation_weights(), full_precision(self.model):
                        result = self.evaluate()
                        report.save_sample_grid(self.model, self.out / "samples" / f"step-{self.step:07d}.png")
                        report.save_sample_grid(self.model, self.out / "samples.png")
                    report.append_metrics(metrics_path, {**record, **result})
                    report.plot_curves(report.read_metrics(metrics_path), self.out / "curves.png", self.baseline)
                    progress.write(f"step {self.step}: train {running:.4f}  validation {result['val_bpd']:.4f}  "
                                   f"test {result['test_bpd']:.4f} bits/dim")
                    if result["val_bpd"] < self.best_val:
                        self.best_val = result["val_bpd"]
                        self.save("best", test_bpd=result["test_bpd"], val_bpd=result["val_bpd"])
                    if config.keep_evaluated:
                        self.save_model(f"step-{self.step:07d}", test_bpd=result["test_bpd"], val_bpd=result["val_bpd"])
            if self.step % config.checkpoint_every == 0 or at_end:
                if is_main and not evaluating:
                    # the training curve between evaluations (the card's curves.png draws it)
                    report.append_metrics(metrics_path, record)
                self.save("last", result.get("test_bpd"), result.get("val_bpd"))
                distributed.barrier(self.placement)
            if out_of_time:
                progress.write(f"stopped at step {self.step}: --max-train-minutes {config.max_train_minutes:g} reached")
                break
        progress.close()
        if is_main and config.push_to_hub:
            publish.push(self.out, config.push_to_hub, self.log)
        return {"step": self.step, **result}


def resumed_config(out: Path, given: dict, log=print) -> TrainConfig:
    """The configuration of the run in `out` with the options `given` on the command line
    applied or refused (see `train.config.resumed`)."""
    state = read_run_state(Path(out) / "last")
    if state is None:
        raise TrainingError(f"--resume: {Path(out) / 'last'} not found; there is no run to resume in {out}")
    return resumed(state["config"], {**given, "out": str(out)}, at_step=state["step"], log=log)
