"""--init-from: start a run from a saved model (possibly with more residual blocks, which start as
the identity, or made class-conditional, with label embeddings that start at zero), and warn when
that model's run trained on this run's validation images."""
from __future__ import annotations

import torch
from torch import nn

from realnvp import RealNVP
from realnvp.nets import ResNet

from .batches import stack_batch
from .config import TrainConfig, TrainingError
from .datasets import validation_trained_on_by
from .snapshots import read_run_state


def load_starting_weights(directory: str, model: RealNVP) -> int:
    """Load the saved model in `directory` into `model` (--init-from) and return how many residual
    blocks per s/t network were added. The architectures must match, except that `model` may have
    more residual blocks: those follow the saved ones and start as the identity, so the grown
    model computes exactly the saved model's density (function-preserving growth); and `model`
    may be class-conditional where the saved one is not: its label embeddings and class means
    start at zero, so log p(x | y) starts as the saved log p(x) for every label y and training
    adds only what the label tells. Refused with what differs otherwise."""
    saved = RealNVP.from_pretrained(directory)
    ours, theirs = model._hub_mixin_config, saved._hub_mixin_config
    added = ours.get("num_blocks", 0) - theirs.get("num_blocks", 0)
    conditioned = not theirs.get("num_classes") and bool(ours.get("num_classes"))
    # a learned dequantizer may be added to a model trained with uniform noise: it starts as uniform noise
    new_dequantizer = not theirs.get("dequantizer_hidden") and model.dequantizer is not None
    differs = [f"{k}: {theirs.get(k)} there, {ours.get(k)} here" for k in sorted(set(ours) | set(theirs))
               if ours.get(k) != theirs.get(k) and not (k == "num_blocks" and added > 0)
               and not (k in ("num_classes", "conditioning") and conditioned)
               and not (k == "dequantizer_hidden" and new_dequantizer)]
    if differs:
        raise TrainingError(f"--init-from {directory}: the saved model's architecture differs ({'; '.join(differs)}); "
                            "give the same model options (--num-blocks may be larger: the added blocks start as "
                            "the identity)")
    missing, unexpected = model.load_state_dict(saved.state_dict(), strict=False)
    new_blocks = {f"{name}.blocks.{i}": block for name, net in model.named_modules() if isinstance(net, ResNet)
                  for i, block in enumerate(net.blocks) if i >= theirs["num_blocks"]}
    new_keys = {f"{prefix}.{key}" for prefix, block in new_blocks.items() for key in block.state_dict()}
    embeddings = {f"{name}.class_embedding.weight": net.class_embedding for name, net in model.named_modules()
                  if isinstance(net, ResNet) and net.class_embedding is not None} if conditioned else {}
    means = {"class_shift.means"} if conditioned and model.class_shift is not None else set()
    dequantizer = {f"dequantizer.{key}" for key in model.dequantizer.state_dict()} if new_dequantizer else set()
    assert not unexpected and set(missing) <= new_keys | set(embeddings) | means | dequantizer, \
        "only the added blocks, label embeddings, class means and a new dequantizer lack saved weights"
    for block in new_blocks.values():
        block.start_as_identity()
    for embedding in embeddings.values():
        nn.init.zeros_(embedding.weight)
    if means:
        nn.init.zeros_(model.class_shift.means)
    return added


@torch.no_grad()
def start_class_means(model: RealNVP, train_set, num_levels: int, batch: int = 250) -> int:
    """Set each class's latent mean (conditioning "latent_means" or "both") to the mean of the
    flow's output over that class's training images: for the flow as it is, the means that
    maximize the likelihood. Training then starts with the label already telling what it can.
    Returns the number of images used."""
    from realnvp.preprocess import dequantize

    shift = model.class_shift
    sums, counts = torch.zeros_like(shift.means), torch.zeros(len(shift.means), device=shift.means.device)
    layers = model._layers()[:-1]
    generator = torch.Generator().manual_seed(0)
    with model._fixed_bijection():
        for start in range(0, len(train_set), batch):
            x, y = stack_batch(train_set, range(start, min(start + batch, len(train_set))))
            # dequantized as in training: the latents of noise-free images sit elsewhere
            x = dequantize(x, num_levels, generator=generator).to(shift.means.device)
            y = y.to(x.device)
            u = model._walk_encode(x, None if model.conditioning == "latent_means" else y, layers)[0]
            sums.index_add_(0, y, u)
            counts += torch.bincount(y, minlength=len(counts)).to(counts.dtype)
    shift.means.copy_(sums / counts.clamp(min=1)[:, None, None, None])
    return int(counts.sum())


def validation_warning(directory: str, config: TrainConfig, train_set, val_set) -> str | None:
    """A warning when the run that saved the --init-from weights trained on some of this run's
    validation images: with another --seed or --val-fraction it had another split, and
    validation figures (and the choice of best/) would then flatter the model."""
    state = read_run_state(directory)  # None for a model directory without a training state
    if state is None:
        return None
    theirs = state.get("config", {})
    c = config
    seed, fraction = theirs.get("seed"), theirs.get("val_fraction")
    if theirs.get("dataset") != c.dataset or seed is None or (seed, fraction) == (c.seed, c.val_fraction):
        return None
    seen = validation_trained_on_by(train_set, val_set, fraction, seed)
    if not seen:
        return None
    return (f"warning: --init-from {directory}: that run (--seed {seed}, --val-fraction {fraction:g}) trained on "
            f"{len(seen)} of this run's {len(val_set)} validation images, so validation bits/dim and the "
            f"choice of best/ will flatter the model. Pass --seed {seed} --val-fraction {fraction:g} to keep its "
            "split; the test set is the same either way.")
