"""--time-budget: as many steps as fit in a number of seconds, chosen before the run starts.

Why not simply stop when the time is up: a cosine or linear schedule is set by its step count, so a
run cut at a deadline stops at a high learning rate, and is worse than a shorter run that decays to
its end. So the trainer first times a few steps, takes the step count that fits, and then runs that
whole schedule. The timed steps are undone (imgrestore.training.trainer._Snapshot) and the count is
recorded in config.json, so `--steps N` repeats the run exactly, on any machine.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Callable

import torch
import torch.distributed as dist

SKIPPED_STEPS = 5
"""Untimed first steps: cuDNN's autotuning and the allocator's growth make them slow."""
TIMED_STEPS = 30
SHARE_OF_TIME_LEFT = 0.9
"""Of the budget left after the timing: the rest is for validation, checkpoints, and a GPU shared
with other runs that slows down more than the timed steps saw."""


def fit_to_budget(seconds: float, first_step: int, max_steps: int, take_step: Callable[[int], Any],
                  world: int = 1) -> dict[str, Any]:
    """Time `take_step` (one training step at a given step number) and return the step count that
    fits in `seconds` from now, at most `max_steps`, with how it was measured. Every process of a
    torchrun job times its own steps and takes rank 0's count, so that all of them stop together."""
    started = time.perf_counter()
    if max_steps - first_step <= SKIPPED_STEPS + TIMED_STEPS:  # timing would cost as much as the run
        return {"time_budget": seconds, "steps": max_steps, "max_steps": max_steps, "timed_steps": 0}
    for at in range(first_step, first_step + SKIPPED_STEPS):
        take_step(at)
    _synchronize()
    timing = time.perf_counter()
    for at in range(first_step + SKIPPED_STEPS, first_step + SKIPPED_STEPS + TIMED_STEPS):
        take_step(at)
    _synchronize()
    per_step = (time.perf_counter() - timing) / TIMED_STEPS
    left = seconds - (time.perf_counter() - started)
    steps = min(max_steps, first_step + max(1, int(SHARE_OF_TIME_LEFT * left / per_step)))
    if world > 1:
        shared = [steps]
        dist.broadcast_object_list(shared, src=0)
        steps = shared[0]
    if world == 1 or dist.get_rank() == 0:
        capped = " (--steps caps it)" if steps == max_steps else ""
        print(f"--time-budget {seconds:g} s: {steps - first_step:,} steps fit at {per_step:.4g} s a step{capped}; "
              f"the run goes to step {steps} (--steps {steps} repeats it)", file=sys.stderr)
    return {"time_budget": seconds, "steps": steps, "max_steps": max_steps, "timed_steps": TIMED_STEPS,
            "seconds_per_step": round(per_step, 6)}


def _synchronize() -> None:
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()
