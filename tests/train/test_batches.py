"""train.batches: the data order, a function of (seed, step) alone."""
import pytest
import torch

from train.batches import batch_indices, stack_batch, step_seed
from train.config import TrainingError


def test_each_epoch_is_a_permutation_and_the_order_is_seeded():
    per_epoch = [batch_indices(10, 3, seed=7, step=s) for s in range(3)]  # 3 batches of 3; 1 image dropped
    seen = [i for batch in per_epoch for i in batch]
    assert len(seen) == len(set(seen)) == 9 and set(seen) <= set(range(10))
    assert batch_indices(10, 3, seed=7, step=4) == batch_indices(10, 3, seed=7, step=4)
    assert batch_indices(10, 3, seed=7, step=3) != batch_indices(10, 3, seed=8, step=3)


def test_batch_larger_than_the_data_is_refused():
    with pytest.raises(TrainingError, match="larger than the training set"):
        batch_indices(4, 8, seed=0, step=0)


def test_step_seeds_differ_by_step_and_rank():
    seeds = {step_seed(0, s, r) for s in range(50) for r in range(4)}
    assert len(seeds) == 200 and all(0 <= s < 2**63 - 1 for s in seeds)


def test_stack_batch():
    data = [(torch.full((1, 2, 2), float(i)), i % 3) for i in range(5)]
    x, y = stack_batch(data, [4, 1])
    assert x.shape == (2, 1, 2, 2) and x[:, 0, 0, 0].tolist() == [4.0, 1.0]
    assert y.dtype == torch.int64 and y.tolist() == [1, 1]
