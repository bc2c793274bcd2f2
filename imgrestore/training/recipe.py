"""The contract between a task's training recipe and the core trainer.

A recipe knows its model, its degradation and its loss; the trainer knows everything else
(optimisation, precision, checkpoints, validation, logging, DistributedDataParallel). Tasks with
several networks (GANs) will extend this protocol with per-network steps; single-network tasks
implement only what is here.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

Batch = dict[str, torch.Tensor]


class Recipe(Protocol):
    task: str
    # Optional: `unused_parameters = True` when some parameters get no gradient in a step
    # (passed to DistributedDataParallel as find_unused_parameters).

    def model_config(self) -> dict[str, Any]:
        """Keyword arguments of the task's model factory; stored in every checkpoint."""

    def build_model(self) -> nn.Module:
        ...

    def training_batch(self, rng: np.random.Generator, batch_size: int) -> Batch:
        """A degraded batch on the CPU; the trainer moves it to the device."""

    def loss(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        ...

    def validation_batches(self) -> list[Batch]:
        """Fixed (seeded) degraded inputs with a "target" entry, scored by PSNR."""

    def predict(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        ...
