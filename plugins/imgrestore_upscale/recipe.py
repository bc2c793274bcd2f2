"""Training recipe for super-resolution: aligned low/high-resolution patches and an L1 loss.

The degradation is the literature's: the high-resolution image cropped to a multiple of the scale
and shrunk with MATLAB's antialiased bicubic (imgrestore.resize.imresize), rounded to 8 bits. The
low-resolution images are made once per scale when the recipe starts, so a step costs two crops.
Each step trains one scale, drawn at random from --scales; the body is shared by all of them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from imgrestore.resize import imresize, modcrop
from imgrestore.training.data import center_crop, load_images, training_and_validation_paths, validation_crops
from imgrestore.training.recipe import Batch, unwrap

from imgrestore_upscale.model import build

VALIDATION_CROP = 64  # low-resolution side of each held-out centre crop


class ScaledPairs:
    """High-resolution images and their low-resolution versions at one scale."""

    def __init__(self, images: list[np.ndarray], scale: int, patch_size: int) -> None:
        self.scale = scale
        self.patch_size = patch_size
        self.high, self.low = [], []
        for image in images:
            high = modcrop(image, scale)
            if min(high.shape[:2]) // scale >= patch_size:
                self.high.append(high)
                self.low.append(imresize(high, 1 / scale))
        if not self.low:
            raise ValueError(f"no training image is large enough for {patch_size}px patches at ×{scale}")
        areas = np.array([low.shape[0] * low.shape[1] for low in self.low], dtype=np.float64)
        self._weights = areas / areas.sum()

    def sample(self, rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
        """count aligned (low, high) patch pairs, N×C×P×P and N×C×sP×sP float32 in 0..1, with the
        same random flip and 90° rotation applied to both."""
        size, scale = self.patch_size, self.scale
        channels = self.low[0].shape[2]
        low_out = np.empty((count, channels, size, size), dtype=np.float32)
        high_out = np.empty((count, channels, size * scale, size * scale), dtype=np.float32)
        for i, pick in enumerate(rng.choice(len(self.low), size=count, p=self._weights)):
            low, high = self.low[pick], self.high[pick]
            top = int(rng.integers(0, low.shape[0] - size + 1))
            left = int(rng.integers(0, low.shape[1] - size + 1))
            low_patch = low[top : top + size, left : left + size]
            high_patch = high[top * scale : (top + size) * scale, left * scale : (left + size) * scale]
            turns, flip = int(rng.integers(4)), bool(rng.integers(2))
            for out, patch in ((low_out, low_patch), (high_out, high_patch)):
                patch = np.rot90(patch, k=turns)
                out[i] = (patch[:, ::-1] if flip else patch).transpose(2, 0, 1)
        return low_out / 255.0, high_out / 255.0


class UpscaleRecipe:
    task = "upscale"
    unused_parameters = True  # the tails of the scales not drawn this step

    def __init__(self, options: dict[str, Any]) -> None:
        self.scales = tuple(options["scales"])
        self.model_scales = tuple(options.get("model_scales") or self.scales)
        if not set(self.scales) <= set(self.model_scales):
            raise ValueError(f"--scales {','.join(map(str, self.scales))} must be among --model-scales "
                             f"{','.join(map(str, self.model_scales))} (the model has a tail only for those)")
        self.features = options["features"]
        self.depth = options["depth"]
        patch_size = options["patch_size"]
        train_paths, val_paths = training_and_validation_paths(options)
        train_images = load_images(train_paths, "rgb")
        self.pairs = {scale: ScaledPairs(train_images, scale, patch_size) for scale in self.scales}
        self._validation = self._make_validation(load_images(val_paths, "rgb", role="validation"))

    def model_config(self) -> dict[str, Any]:
        return {"scales": list(self.model_scales), "features": self.features, "depth": self.depth}

    def build_model(self) -> nn.Module:
        return build(**self.model_config())

    def training_batch(self, rng: np.random.Generator, batch_size: int) -> Batch:
        scale = self.scales[int(rng.integers(len(self.scales)))]
        low, high = self.pairs[scale].sample(rng, batch_size)
        return {"input": torch.from_numpy(low), "target": torch.from_numpy(high), "scale": torch.tensor(scale)}

    def predict(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        unwrap(model).use_scale(int(batch["scale"]))
        return model(batch["input"])

    def loss(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        return nn.functional.l1_loss(self.predict(model, batch).float(), batch["target"])

    def validation_batches(self) -> list[Batch]:
        return self._validation

    def _make_validation(self, images: list[np.ndarray]) -> list[Batch]:
        """Centre crops of the held-out images, degraded at each training scale."""
        # every scale validates on the same pictures: the crops of the largest scale, cropped again
        # (a centre crop of an even-sized centre crop is the centre crop of the whole image)
        frames = validation_crops(images, VALIDATION_CROP * max(self.scales), multiple=math.lcm(*self.scales))
        batches = []
        for scale in self.scales:
            side = min(VALIDATION_CROP * scale, frames[0].shape[0] // scale * scale)
            low, high = [], []
            for crop in (center_crop(frame, side) for frame in frames):
                high.append(crop.transpose(2, 0, 1))
                low.append(imresize(crop, 1 / scale).transpose(2, 0, 1))
            batches.append({
                "input": torch.from_numpy(np.stack(low).astype(np.float32) / 255),
                "target": torch.from_numpy(np.stack(high).astype(np.float32) / 255),
                "scale": torch.tensor(scale),
            })
        return batches


def recipe(options: dict[str, Any]) -> UpscaleRecipe:
    """Recipe factory named in the TaskSpec (``imgrestore_upscale.recipe:recipe``)."""
    return UpscaleRecipe(options)
