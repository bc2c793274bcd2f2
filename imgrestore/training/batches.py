"""The training batches, one per step, each drawn from its own seed: (run seed, rank, step).

Why a seed per step: a batch is then a function of its step number alone, so worker processes
can prepare the next batches while the device trains on this one (`--workers`), however many
there are, and still hand the trainer exactly the batches that one process would have drawn; and
a resumed run starts at its step with no generator state to carry. Preparing a batch is not free:
inpainting's Telea coarse fill takes about 12 ms an image on one core, so a batch of 32 took
0.6 s, where a GPU step takes a few milliseconds.

Workers are forked processes (torch's DataLoader): they share the recipe's images with the
trainer instead of copying them, and never touch the GPU.
"""

from __future__ import annotations

import multiprocessing
import signal
from typing import Iterator

import numpy as np
import torch

from imgrestore.training.recipe import Batch, Recipe


def batch_rng(seed: int, rank: int, step: int) -> np.random.Generator:
    """The generator that draws step `step`'s batch in process `rank` of a run seeded `seed`."""
    return np.random.default_rng([seed, rank, step])


class _StepBatches(torch.utils.data.Dataset):
    """Item `step` is that step's batch (the loader's sampler gives the step numbers in order)."""

    def __init__(self, recipe: Recipe, seed: int, rank: int, batch_size: int) -> None:
        self.recipe, self.seed, self.rank, self.batch_size = recipe, seed, rank, batch_size

    def __getitem__(self, step: int) -> Batch:
        return self.recipe.training_batch(batch_rng(self.seed, self.rank, step), self.batch_size)


def step_batches(recipe: Recipe, seed: int, rank: int, batch_size: int, steps: range, workers: int = 0,
                 pin_memory: bool = False) -> Iterator[Batch]:
    """The batches of `steps`, in order: drawn here, or by `workers` processes a few steps ahead."""
    dataset = _StepBatches(recipe, seed, rank, batch_size)
    if workers == 0:
        return (dataset[step] for step in steps)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=None, sampler=steps, num_workers=workers, pin_memory=pin_memory, prefetch_factor=4,
        multiprocessing_context=multiprocessing.get_context("fork"), worker_init_fn=_leave_ctrl_c_to_the_trainer)
    return iter(loader)


def _leave_ctrl_c_to_the_trainer(worker: int) -> None:
    """A terminal's Ctrl-C reaches every process of the group. The trainer finishes its step and
    writes a checkpoint (imgrestore.training.stopping); a worker that died of it first would turn
    that into "DataLoader worker exited unexpectedly". The trainer's exit ends the workers."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def check_workers(workers: int) -> None:
    """Workers are forked: where a platform cannot fork (Windows), say so before loading data."""
    if workers and "fork" not in multiprocessing.get_all_start_methods():
        raise ValueError(f"--workers {workers}: this platform cannot fork processes; train with --workers 0")
