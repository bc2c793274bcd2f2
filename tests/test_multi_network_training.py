"""The trainer's several-networks path (GANs): extra networks, one optimizer per phase, phases
alternating every step, both networks updated, and an exact resume of all of it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from imgrestore.training.checkpoint import load_state, load_weights
from imgrestore.training.recipe import Batch, Phase
from imgrestore.training.trainer import TrainConfig, train


class TinyAdversarialRecipe:
    """A denoising generator with an L1 + least-squares adversarial loss against a small
    convolutional discriminator: the shape of the inpainting and CycleGAN recipes."""

    task = "toy-gan"

    def __init__(self, images: list[np.ndarray]) -> None:
        self.images = images

    def model_config(self) -> dict[str, Any]:
        return {"features": 8}

    def build_model(self) -> nn.Module:
        return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 3, 3, padding=1))

    def extra_networks(self) -> dict[str, nn.Module]:
        return {"discriminator": nn.Sequential(nn.Conv2d(3, 8, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
                                               nn.Conv2d(8, 1, 4, padding=1))}

    def phases(self) -> list[Phase]:
        return [Phase("generator", ("model",)), Phase("discriminator", ("discriminator",), lr_scale=0.5, betas=(0.5, 0.999))]

    def training_batch(self, rng: np.random.Generator, batch_size: int) -> Batch:
        picks = rng.integers(len(self.images), size=batch_size)
        crops = []
        for pick in picks:
            image = self.images[pick]
            top, left = rng.integers(0, image.shape[0] - 32), rng.integers(0, image.shape[1] - 32)
            crops.append(image[top : top + 32, left : left + 32].transpose(2, 0, 1))
        clean = torch.from_numpy(np.stack(crops).astype(np.float32) / 255)
        noisy = clean + 0.1 * torch.from_numpy(rng.standard_normal(clean.shape, dtype=np.float32))
        return {"input": noisy, "target": clean}

    def phase_loss(self, phase: str, networks: dict[str, nn.Module], batch: Batch,
                   cache: dict[str, torch.Tensor]) -> torch.Tensor:
        if phase == "generator":
            fake = networks["model"](batch["input"])
            cache["fake"] = fake
            adversarial = ((networks["discriminator"](fake) - 1) ** 2).mean()
            return nn.functional.l1_loss(fake, batch["target"]) + 0.01 * adversarial
        scores = networks["discriminator"](torch.cat([batch["target"], cache["fake"].detach()]))
        real, fake = scores.chunk(2)
        return ((real - 1) ** 2).mean() + (fake**2).mean()

    def loss(self, model: nn.Module, batch: Batch) -> torch.Tensor:  # single-phase path, unused here
        raise AssertionError("the trainer must use phase_loss for a multi-network recipe")

    def predict(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        return model(batch["input"])

    def validation_batches(self) -> list[Batch]:
        return [self.training_batch(np.random.default_rng(1), 2)]


def _config(out: Path, steps: int, resume: bool = False) -> TrainConfig:
    return TrainConfig(out_dir=out, steps=steps, batch_size=2, lr=1e-3, warmup=1, checkpoint_every=2,
                       validate_every=100, log_every=1, precision="fp32", threads=1, resume=resume, seed=3)


def test_both_networks_are_updated_by_their_own_optimizers(tmp_path: Path, astronaut) -> None:
    recipe = TinyAdversarialRecipe([astronaut])
    torch.manual_seed(3)
    initial_model = recipe.build_model().state_dict()
    initial_discriminator = recipe.extra_networks()["discriminator"].state_dict()
    train(recipe, _config(tmp_path / "run", steps=1))
    model = load_weights(tmp_path / "run" / "last.safetensors")
    state = load_state(tmp_path / "run", "last")
    assert set(state["optimizers"]) == {"generator", "discriminator"}
    assert all(not torch.equal(model[k], initial_model[k]) for k in initial_model)
    discriminator = state["networks"]["discriminator"]
    assert all(not torch.equal(discriminator[k], initial_discriminator[k]) for k in initial_discriminator)
    header = (tmp_path / "run" / "log.csv").read_text().splitlines()[0]
    assert "loss_generator" in header and "loss_discriminator" in header


def test_resume_restores_every_network_and_optimizer(tmp_path: Path, astronaut) -> None:
    recipe = TinyAdversarialRecipe([astronaut])
    train(recipe, _config(tmp_path / "straight", steps=4))
    train(recipe, _config(tmp_path / "split", steps=2))
    train(recipe, _config(tmp_path / "split", steps=4, resume=True))
    for name, tensor in load_weights(tmp_path / "straight" / "last.safetensors").items():
        assert torch.equal(tensor, load_weights(tmp_path / "split" / "last.safetensors")[name]), name
    straight = load_state(tmp_path / "straight", "last")["networks"]["discriminator"]
    split = load_state(tmp_path / "split", "last")["networks"]["discriminator"]
    assert all(torch.equal(straight[k], split[k]) for k in straight)
