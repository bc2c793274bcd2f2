"""Training recipe for inpainting: random crops, seeded free-form masks (imgrestore.masks), an
L1 reconstruction loss (holes weighted more) plus a least-squares PatchGAN adversarial loss,
trained by the core trainer's two phases: generator, then discriminator, every step.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from imgrestore.masks import MaskSpec, free_form_mask
from imgrestore.training.data import PatchSampler, center_crop, list_images, load_images, split_holdout
from imgrestore.training.recipe import Batch, Phase

from imgrestore_inpaint.model import PatchDiscriminator, build

VALIDATION_CROP = 128
VALIDATION_AREAS = ((0.1, 0.2), (0.2, 0.3), (0.3, 0.4))
HOLE_WEIGHT = 6.0  # L1 inside the hole counts this much more than outside (LaMa/DeepFill practice)


class InpaintRecipe:
    task = "inpaint"

    def __init__(self, options: dict[str, Any]) -> None:
        self.features = options["features"]
        self.patch_size = options["patch_size"]
        self.area = options["area"]
        self.adversarial_weight = options["adversarial_weight"]
        paths = list_images(options["data"])
        if options.get("val"):
            train_paths, val_paths = paths, list_images(options["val"])
        else:
            train_paths, val_paths = split_holdout(paths, options["val_fraction"])
        self.sampler = PatchSampler(load_images(train_paths, "rgb", min_size=self.patch_size), self.patch_size)
        self._validation = self._make_validation(load_images(val_paths, "rgb", min_size=VALIDATION_CROP))

    def model_config(self) -> dict[str, Any]:
        return {"features": self.features}

    def build_model(self) -> nn.Module:
        return build(**self.model_config())

    def extra_networks(self) -> dict[str, nn.Module]:
        """No discriminator at --adversarial-weight 0: a reconstruction-only (pre)training, about
        twice as fast a step; continue it with the GAN loss through --init."""
        return {"discriminator": PatchDiscriminator()} if self.adversarial_weight > 0 else {}

    def phases(self) -> list[Phase]:
        generator = Phase("generator", ("model",), betas=(0.5, 0.999))
        if self.adversarial_weight == 0:
            return [generator]
        return [generator, Phase("discriminator", ("discriminator",), betas=(0.5, 0.999))]

    def training_batch(self, rng: np.random.Generator, batch_size: int) -> Batch:
        clean = torch.from_numpy(self.sampler.sample(rng, batch_size))
        spec = MaskSpec(self.patch_size, self.patch_size, self.area)
        seed = int(rng.integers(2**31))
        masks = np.stack([free_form_mask(spec, seed, i) for i in range(batch_size)])[:, None] / 255.0
        return {"image": clean, "mask": torch.from_numpy(masks.astype(np.float32)), "target": clean}

    def predict(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        return model(batch["image"], batch["mask"])

    def phase_loss(self, phase: str, networks: dict[str, nn.Module], batch: Batch,
                   cache: dict[str, torch.Tensor]) -> torch.Tensor:
        mask, target = batch["mask"], batch["target"]
        if phase == "generator":
            filled = self.predict(networks["model"], batch).float()
            cache["filled"] = filled
            weight = 1 + (HOLE_WEIGHT - 1) * mask
            reconstruction = (weight * (filled - target).abs()).mean()
            if self.adversarial_weight == 0:
                return reconstruction
            adversarial = ((networks["discriminator"](filled, mask).float() - 1) ** 2).mean()
            return reconstruction + self.adversarial_weight * adversarial
        scores = networks["discriminator"](torch.cat([target, cache["filled"].detach()]), torch.cat([mask, mask]))
        real, fake = scores.float().chunk(2)
        return 0.5 * (((real - 1) ** 2).mean() + (fake**2).mean())

    def loss(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        """Reconstruction only (what validation-time code and a GAN-free fine-tune would use)."""
        return nn.functional.l1_loss(self.predict(model, batch).float(), batch["target"])

    def validation_batches(self) -> list[Batch]:
        return self._validation

    def _make_validation(self, images: list[np.ndarray]) -> list[Batch]:
        """Centre crops of the held-out images with fixed seeded masks at three area ranges."""
        crops = [center_crop(image, VALIDATION_CROP).transpose(2, 0, 1) for image in images]
        clean = torch.from_numpy(np.stack(crops).astype(np.float32) / 255)
        batches = []
        for level, area in enumerate(VALIDATION_AREAS):
            spec = MaskSpec(VALIDATION_CROP, VALIDATION_CROP, area)
            masks = np.stack([free_form_mask(spec, 9000 + level, i) for i in range(len(crops))])[:, None] / 255.0
            batches.append({"image": clean, "mask": torch.from_numpy(masks.astype(np.float32)), "target": clean})
        return batches


def recipe(options: dict[str, Any]) -> InpaintRecipe:
    """Recipe factory named in the TaskSpec (``imgrestore_inpaint.recipe:recipe``)."""
    return InpaintRecipe(options)
