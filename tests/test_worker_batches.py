"""Batches drawn in worker processes: the same (seed, workers) gives the same batches, epoch by epoch."""

from __future__ import annotations

import pytest
import torch

from vae_demo.core.worker_batches import WorkerBatches, worker_seed


class RandomBatches:
    """An endless source of (2, 3) batches from a generator seeded with ``seed``."""

    def __init__(self, seed: int) -> None:
        self.generator = torch.Generator().manual_seed(seed)

    def __iter__(self):
        while True:
            yield torch.rand(2, 3, generator=self.generator)


def epoch(batches: WorkerBatches, number: int) -> list[torch.Tensor]:
    batches.set_epoch(number)
    return list(batches)


@pytest.mark.parametrize("workers", [0, 2])
def test_the_same_seed_and_workers_give_the_same_batches(workers):
    a, b = WorkerBatches(RandomBatches, 5, workers, seed=3), WorkerBatches(RandomBatches, 5, workers, seed=3)
    first, again = epoch(a, 0), epoch(b, 0)
    assert len(first) == len(a) == 5
    assert all(torch.equal(x, y) for x, y in zip(first, again, strict=True))
    assert all(not torch.equal(x, y) for x, y in zip(first, epoch(a, 1), strict=True)), "epoch 2 repeats epoch 1"
    assert all(torch.equal(x, y) for x, y in zip(first, epoch(a, 0), strict=True)), "set_epoch(0) replays epoch 1"


def test_worker_w_draws_every_nth_batch_from_its_own_seed():
    batches = epoch(WorkerBatches(RandomBatches, 5, 2, seed=3), 0)
    own = [iter(RandomBatches(worker_seed(3, 0, w))) for w in range(2)]
    expected = [next(own[i % 2]) for i in range(5)]  # the loader takes the workers' batches in turn
    assert all(torch.equal(x, y) for x, y in zip(batches, expected, strict=True))


def test_each_pass_without_set_epoch_draws_new_batches():
    batches = WorkerBatches(RandomBatches, 3, 0, seed=1)
    assert not torch.equal(next(iter(batches)), next(iter(batches)))


def test_seeds_differ_between_workers_epochs_and_runs():
    seeds = {worker_seed(s, e, w) for s in range(3) for e in range(3) for w in range(3)}
    assert len(seeds) == 27 and all(0 <= s < 2**63 for s in seeds)


def test_negative_workers_are_refused():
    with pytest.raises(ValueError, match="workers"):
        WorkerBatches(RandomBatches, 3, -1)
