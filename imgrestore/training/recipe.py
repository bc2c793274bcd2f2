"""The contract between a task's training recipe and the core trainer.

A recipe knows its model, its degradation and its loss; the trainer knows everything else
(optimisation, precision, checkpoints, validation, logging, DistributedDataParallel).
Single-network tasks implement only `Recipe`. Tasks that train several networks with several
optimizers (GANs: a generator and a discriminator, alternating) also implement
`MultiNetworkRecipe`: extra networks, and phases, each an optimizer over some networks with its
own loss, run in order every step. "model" is always the network that is validated and exported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

Batch = dict[str, torch.Tensor]


def unwrap(network: nn.Module) -> nn.Module:
    """The network inside DistributedDataParallel: under torchrun a recipe's `loss` and
    `phase_loss` get wrapped networks, and reach their own methods and buffers through this."""
    return getattr(network, "module", network)


@dataclass(frozen=True)
class Evaluation:
    """A validation result. Restoration recipes are scored by PSNR against their validation
    targets (the default); a recipe with no targets, such as a generator, implements
    `evaluate(model, device, out_dir, step) -> Evaluation` and names its own score, which then
    picks the best checkpoint and fills the log's `val_<metric>` column."""

    metric: str
    value: float
    higher_is_better: bool = True
    details: dict[str, Any] = field(default_factory=dict)
    """Anything else worth seeing (written to evaluations.jsonl in the run folder)."""

    @property
    def ranking(self) -> float:
        """Larger is better, whatever the metric."""
        return self.value if self.higher_is_better else -self.value


class Recipe(Protocol):
    task: str
    # Optional: `unused_parameters = True` when some parameters get no gradient in a step
    # (passed to DistributedDataParallel as find_unused_parameters).
    # Optional: `validation_metric = "frechet"` together with an `evaluate` method (see Evaluation).
    # Optional: `training_defaults = {"lr": 2e-4, "schedule": "linear", ...}`: TrainConfig values
    # the recipe was designed with, used where the command line does not set them.

    def model_config(self) -> dict[str, Any]:
        """Keyword arguments of the task's model factory; stored in every checkpoint."""

    def build_model(self) -> nn.Module:
        ...

    def training_batch(self, rng: np.random.Generator, batch_size: int) -> Batch:
        """A degraded batch on the CPU; the trainer moves it to the device."""

    def loss(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        """The training loss (a MultiNetworkRecipe has `phase_loss` instead)."""

    def validation_batches(self) -> list[Batch]:
        """Fixed (seeded) degraded inputs with a "target" entry, scored by PSNR (not needed by a
        recipe with its own `evaluate`)."""

    def predict(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        ...


@dataclass(frozen=True)
class Phase:
    """One optimizer step inside a training step: Adam over `networks`' parameters."""

    name: str
    networks: tuple[str, ...]
    lr_scale: float = 1.0
    """Its learning rate is the run's schedule times this."""
    betas: tuple[float, float] = (0.9, 0.999)


class MultiNetworkRecipe(Recipe, Protocol):
    def extra_networks(self) -> dict[str, nn.Module]:
        """Networks trained beside "model" (e.g. {"discriminator": ...}); checkpointed in the
        training state, never exported."""

    def phases(self) -> list[Phase]:
        """Run in this order every step, e.g. [Phase("generator", ("model",)), Phase("discriminator", ...)]."""

    def phase_loss(self, phase: str, networks: dict[str, nn.Module], batch: Batch,
                   cache: dict[str, torch.Tensor]) -> torch.Tensor:
        """The loss of one phase. `cache` carries tensors between the phases of one step (e.g.
        the generator's output, which the discriminator phase should use `.detach()`-ed). Under
        DistributedDataParallel, call each network at most once per phase (concatenate real and
        fake into one discriminator call)."""
