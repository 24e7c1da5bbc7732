"""Training batches drawn by several worker processes at once, deterministically.

A family's batch source (``PatchBatches``, ``CropBatches``) draws its random crops and degradations in
Python, one image at a time: on a CPU that costs little beside the model's step, but a GPU finishes a
step in a fraction of the time one core needs to draw the next batch. ``WorkerBatches`` runs ``workers``
copies of the source in ``DataLoader`` worker processes. Worker ``w`` of epoch ``e`` draws from its own
copy seeded by ``(seed, e, w)``, and the loader takes the workers' batches in turn, so the stream of
batches depends on ``(seed, workers)`` alone: the same run config gives the same batches, and a resume
mid-epoch (the ``Trainer`` calls ``set_epoch``, then skips the batches already used) replays them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np
import torch

MakeSource = Callable[[int], Iterable]  # seed -> an iterable of at least ``steps`` batches


def worker_seed(seed: int, epoch: int, worker: int) -> int:
    """A 63-bit seed for one worker's copy of the source in one epoch."""
    return int(np.random.SeedSequence([seed, epoch, worker]).generate_state(1, dtype=np.uint64)[0]) >> 1


class _Shard(torch.utils.data.IterableDataset):
    """One epoch's batches: worker ``w`` of ``n`` draws the batches ``w, w + n, w + 2n, ...`` of it."""

    def __init__(self, make: MakeSource, steps: int, seed: int, epoch: int) -> None:
        self.make, self.steps, self.seed, self.epoch = make, steps, seed, epoch

    def __iter__(self) -> Iterator:
        info = torch.utils.data.get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        source = iter(self.make(worker_seed(self.seed, self.epoch, worker)))
        for _ in range(worker, self.steps, workers):
            yield next(source)


def batch_stream(make: MakeSource, steps: int, workers: int, seed: int) -> Iterable:
    """``make(seed)`` itself when ``workers`` is 0 (the recipe as before workers existed), else WorkerBatches. The
    source is built here either way, so a bad one (no image large enough) fails before any worker starts."""
    source = make(seed)
    return WorkerBatches(make, steps, workers, seed) if workers else source


class WorkerBatches:
    """``steps`` batches per epoch from ``make(seed)`` copies run in ``workers`` processes (0: in this one)."""

    def __init__(self, make: MakeSource, steps: int, workers: int, seed: int = 0) -> None:
        if workers < 0:
            raise ValueError(f"workers must be 0 or more, got {workers}")
        self.make, self.steps, self.workers, self.seed = make, steps, workers, seed
        self.epoch = 0

    def __len__(self) -> int:
        return self.steps

    def set_epoch(self, epoch: int) -> None:
        """Draw the batches of this epoch next (the Trainer calls it before each epoch)."""
        self.epoch = epoch

    def __iter__(self) -> Iterator:
        loader = torch.utils.data.DataLoader(
            _Shard(self.make, self.steps, self.seed, self.epoch),
            batch_size=None,  # the source already makes whole batches
            num_workers=self.workers,
            pin_memory=torch.cuda.is_available(),
            prefetch_factor=4 if self.workers else None,
            # Its own generator: a loader without one draws its workers' base seed from the global RNG,
            # which the loss's sampling shares, and a resume mid-epoch would then sample differently.
            generator=torch.Generator().manual_seed(worker_seed(self.seed, self.epoch, self.workers)),  # no worker's id
        )
        self.epoch += 1  # a caller that never calls set_epoch still gets new batches each pass
        return iter(loader)
