"""Training recipe for the denoiser: data, degradation and loss. The core trainer does the rest.

Degradation follows imgrestore.noise's protocol, in torch: sigma drawn uniformly from
--sigma-range (0..255 scale) per patch, Gaussian noise added to the clean 8-bit patch, rounded and
clipped to 8 bits. The network is told the true sigma, so one model covers the whole range; at
inference the sigma is given by the user or estimated from the image.

--low-sigma-share reserves that share of the patches for sigma drawn from 0..--low-sigma-max
instead. Why: drawn uniformly over 0-60, barely 1 patch in 12 is as clean as most real photos
(sigma 0-5), and the colour model trained that way smoothed them: at sigma 1, given, CBSD68,
Kodak24 and McMaster came back 2.0-3.9 dB below the input; fine-tuned with a share of 0.25,
0.2-0.6 dB (README, "Little noise").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from imgrestore.noise import add_gaussian_noise
from imgrestore.training.data import PatchSampler, load_images, training_and_validation_paths, validation_crops
from imgrestore.training.recipe import Batch

from imgrestore_denoise.model import build

VALIDATION_SIGMAS = (15.0, 25.0, 50.0)
VALIDATION_CROP = 192


class DenoiseRecipe:
    task = "denoise"

    def __init__(self, options: dict[str, Any]) -> None:
        self.color = options["color"]
        self.features = options.get("features") or (96 if self.color else 64)
        self.depth = options.get("depth") or (12 if self.color else 15)
        batch_norm = options.get("batch_norm")
        self.batch_norm = self.color if batch_norm is None else batch_norm
        self.sigma_low, self.sigma_high = options["sigma_range"]
        # the command line always gives both; an options dict built in Python may leave them out
        self.low_sigma_share = options.get("low_sigma_share", 0.0)
        self.low_sigma_max = options.get("low_sigma_max", 5.0)
        self.patch_size = options["patch_size"]
        mode = "rgb" if self.color else "gray"
        keep = (lambda path: not _is_single_channel(path)) if self.color else None
        train_paths, val_paths = training_and_validation_paths(
            options, keep, kept_what="in colour (all are single-channel): train a gray denoiser with --gray")
        self.sampler = PatchSampler(load_images(train_paths, mode, min_size=self.patch_size), self.patch_size)
        self._validation = self._make_validation(load_images(val_paths, mode, role="validation"))

    def model_config(self) -> dict[str, Any]:
        config = {"channels": 3 if self.color else 1, "features": self.features, "depth": self.depth}
        if self.batch_norm:
            config["batch_norm"] = True
        return config

    def build_model(self) -> nn.Module:
        return build(**self.model_config())

    def training_batch(self, rng: np.random.Generator, batch_size: int) -> Batch:
        clean = torch.from_numpy(self.sampler.sample(rng, batch_size))
        sigma = torch.from_numpy(self.training_sigmas(rng, batch_size))
        noise = torch.from_numpy(rng.standard_normal(clean.shape, dtype=np.float32))
        noisy = torch.round(clean * 255 + noise * sigma.view(-1, 1, 1, 1)).clamp_(0, 255) / 255
        return {"input": noisy, "sigma": sigma / 255, "target": clean}

    def training_sigmas(self, rng: np.random.Generator, batch_size: int) -> np.ndarray:
        """One sigma per patch, shape (batch_size, 1), float32 on the 0..255 scale."""
        sigma = rng.uniform(self.sigma_low, self.sigma_high, size=(batch_size, 1))
        if self.low_sigma_share:  # drawn only then, so older training commands still replay exactly
            low = rng.random((batch_size, 1)) < self.low_sigma_share
            sigma[low] = rng.uniform(0.0, self.low_sigma_max, size=int(low.sum()))
        return sigma.astype(np.float32)

    def loss(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        return nn.functional.mse_loss(model(batch["input"], batch["sigma"]).float(), batch["target"])

    def predict(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        return model(batch["input"], batch["sigma"])

    def validation_batches(self) -> list[Batch]:
        return self._validation

    def _make_validation(self, images: list[np.ndarray]) -> list[Batch]:
        """Centre crops of the held-out images at each validation sigma, noise seeded once."""
        rng = np.random.default_rng(12345)
        crops = validation_crops(images, VALIDATION_CROP)
        batches = []
        for sigma in VALIDATION_SIGMAS:
            clean, noisy = [], []
            for crop in crops:
                clean.append(crop.transpose(2, 0, 1))
                noisy.append(add_gaussian_noise(crop, sigma, rng).transpose(2, 0, 1))
            batches.append({
                "input": torch.from_numpy(np.stack(noisy).astype(np.float32) / 255),
                "sigma": torch.full((len(crops), 1), sigma / 255),
                "target": torch.from_numpy(np.stack(clean).astype(np.float32) / 255),
            })
        return batches


def _is_single_channel(path: Path) -> bool:
    """From the header alone. A file Pillow cannot open counts as colour: load_images then
    reports it by name."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            return image.mode in ("1", "L", "LA", "I", "I;16")
    except Exception:  # unreadable: load_images says why
        return False


def recipe(options: dict[str, Any]) -> DenoiseRecipe:
    """Recipe factory named in the TaskSpec (``imgrestore_denoise.recipe:recipe``)."""
    return DenoiseRecipe(options)
