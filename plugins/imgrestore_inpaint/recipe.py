"""Training recipe for inpainting: random crops, seeded free-form masks (imgrestore.masks), the
Telea coarse fill the network refines, an L1 reconstruction loss (holes weighted more) plus a
least-squares PatchGAN adversarial loss, trained by the core trainer's two phases: generator,
then discriminator, every step.

Hole sizes are matched to the photos the model will fill, not to the training crop: a mask is
drawn for a virtual image of 1–4 crop sides and the crop is cut from it. Masks drawn at the crop's
own size would make every stroke 3–4× thinner than on a 512-pixel photo, and a model trained
on them never learns wide holes.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import torch
from torch import nn

from imgrestore.masks import MaskSpec, free_form_mask
from imgrestore.training.data import PatchSampler, load_images, training_and_validation_paths, validation_crops
from imgrestore.training.recipe import Batch, Phase

from imgrestore_inpaint.coarse import coarse_fill
from imgrestore_inpaint.model import PatchDiscriminator, build

VALIDATION_CROP = 128
VALIDATION_AREAS = ((0.1, 0.2), (0.2, 0.3), (0.3, 0.4))
HOLE_WEIGHT = 6.0  # L1 inside the hole counts this much more than outside (LaMa/DeepFill practice)
VIRTUAL_SIZES = (1, 4)  # masks are drawn for an image this many crop sides wide, then cropped
CROP_AREA = (0.02, 0.6)  # a cropped mask outside this hole fraction is drawn again
DISCRIMINATOR_FEATURES = 32  # half of pix2pix's 64: a quarter of the cost, enough for a light GAN term
HALF_SCALE_MIN = 512  # photos at least this small side also train at half size (scene scale)


class InpaintRecipe:
    task = "inpaint"

    def __init__(self, options: dict[str, Any]) -> None:
        self.features = options["features"]
        self.patch_size = options["patch_size"]
        self.area = options["area"]
        self.adversarial_weight = options["adversarial_weight"]
        train_paths, val_paths = training_and_validation_paths(options)
        images = load_images(train_paths, "rgb", min_size=self.patch_size)
        images += [_half(image) for image in images if min(image.shape[:2]) >= HALF_SCALE_MIN]
        self.sampler = PatchSampler(images, self.patch_size)
        self._validation = self._make_validation(load_images(val_paths, "rgb", role="validation"))

    def model_config(self) -> dict[str, Any]:
        return {"features": self.features}

    def build_model(self) -> nn.Module:
        return build(**self.model_config())

    def extra_networks(self) -> dict[str, nn.Module]:
        """No discriminator at --adversarial-weight 0: a reconstruction-only (pre)training, about
        twice as fast a step; continue it with the GAN loss through --init."""
        return {"discriminator": PatchDiscriminator(DISCRIMINATOR_FEATURES)} if self.adversarial_weight > 0 else {}

    def phases(self) -> list[Phase]:
        generator = Phase("generator", ("model",), betas=(0.5, 0.999))
        if self.adversarial_weight == 0:
            return [generator]
        return [generator, Phase("discriminator", ("discriminator",), betas=(0.5, 0.999))]

    def training_batch(self, rng: np.random.Generator, batch_size: int) -> Batch:
        clean = self.sampler.sample(rng, batch_size)
        masks = np.stack([self._mask(rng) for _ in range(batch_size)])[:, None].astype(np.float32)
        return _batch(clean, masks)

    def _mask(self, rng: np.random.Generator) -> np.ndarray:
        """A P×P crop (0/1) of a mask drawn for a virtual image 1–4 crop sides wide."""
        size = self.patch_size
        crop = np.zeros((size, size), np.uint8)
        for _ in range(10):
            virtual = int(rng.integers(VIRTUAL_SIZES[0] * size, VIRTUAL_SIZES[1] * size + 1))
            mask = free_form_mask(MaskSpec(virtual, virtual, self.area), int(rng.integers(2**31)))
            top, left = (int(v) for v in rng.integers(0, virtual - size + 1, size=2))
            crop = mask[top : top + size, left : left + size] // 255
            if CROP_AREA[0] <= crop.mean() <= CROP_AREA[1]:
                break
        return crop

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
        crops = [crop.transpose(2, 0, 1) for crop in validation_crops(images, VALIDATION_CROP)]
        side = crops[0].shape[1]
        clean = np.stack(crops).astype(np.float32) / 255
        batches = []
        for level, area in enumerate(VALIDATION_AREAS):
            spec = MaskSpec(side, side, area)
            masks = np.stack([free_form_mask(spec, 9000 + level, i) for i in range(len(crops))])[:, None] / 255
            batches.append(_batch(clean, masks.astype(np.float32)))
        return batches


def _batch(clean: np.ndarray, masks: np.ndarray) -> Batch:
    """N×3×P×P clean crops and N×1×P×P masks -> the network's inputs (coarse-filled) and target."""
    coarse = np.stack([coarse_fill(image, mask) for image, mask in zip(clean, masks)])
    return {"image": torch.from_numpy(coarse), "mask": torch.from_numpy(masks), "target": torch.from_numpy(clean)}


def _half(image: np.ndarray) -> np.ndarray:
    height, width = image.shape[:2]
    return cv2.resize(image, (width // 2, height // 2), interpolation=cv2.INTER_AREA)


def recipe(options: dict[str, Any]) -> InpaintRecipe:
    """Recipe factory named in the TaskSpec (``imgrestore_inpaint.recipe:recipe``)."""
    return InpaintRecipe(options)
