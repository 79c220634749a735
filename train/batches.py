"""The data order of a run: every optimizer step's batch, and the seed of its random numbers,
derived from (seed, step), so a resumed run continues exactly as the uninterrupted one would."""
from __future__ import annotations

import torch

from .config import TrainingError


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


def stack_batch(dataset, indices):
    items = [dataset[i] for i in indices]
    return torch.stack([x for x, _ in items]), torch.stack([torch.as_tensor(y) for _, y in items]).long()
