"""Training a fast style network (Johnson et al. 2016) on the core trainer.

Each step stylizes a batch of random content crops; the loss is content (relu2_2) + style
(Gram matrices at relu1_2..relu4_3, against the one style image) + total variation (--tv-weight,
0 by default), measured by the fixed feature network (imgrestore_stylize.losses). Content images are shrunk
to `--content-size` on their long side first, the same scale the benchmark and the optimisation
method use, and the style image to `--style-size`: that ratio sets the size of the strokes.
Several `--content-size`s train one network for photos of several scales: networks trained at
256 px alone missed issue 8's bar on photos shown at 128 px (2.0-2.4× the optimisation's style
loss, against 1.6-2.0× at 256), because their crops never held a whole scene that small.

Validation stylizes the held-out content images whole and logs their losses (lower is better);
<run>/samples/step_N.png shows them beside their inputs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn

from imgrestore.images import Picture, to_uint8, write_image
from imgrestore.sampling import contact_sheet
from imgrestore.training.data import PatchSampler, read_each, training_and_validation_paths
from imgrestore.training.recipe import Batch, Evaluation
from imgrestore_stylize.images import as_batch, fit_long_side, read_rgb
from imgrestore_stylize.losses import loss_weights, perceptual_loss
from imgrestore_stylize.networks import SIZE_MULTIPLE, build, stylize_whole

SHEET_SIDE = 128


class StyleRecipe:
    task = "stylize"
    validation_metric = "loss"
    training_defaults = {"lr": 1e-3, "batch_size": 4, "warmup": 100}

    def __init__(self, options: dict[str, Any]) -> None:
        if not options.get("style_image"):
            raise ValueError("give the painting to learn with --style-image FILE")
        self.options = options
        self.weights = loss_weights(options)
        self.perceptual = perceptual_loss(options)
        train_paths, validation_paths = training_and_validation_paths(options)
        crop = int(options.get("crop") or 128)
        if crop % SIZE_MULTIPLE:  # other sides come back larger than the crop
            raise ValueError(f"--crop must be a multiple of {SIZE_MULTIPLE} (got {crop})")
        sizes = content_sizes(options)
        scaled: dict[int, list[np.ndarray]] = {size: [] for size in sizes}
        for photo in read_each(train_paths, read_rgb):  # each photo read once, kept only at the sizes trained at
            for size in sizes:
                scaled[size].append(to_uint8(fit_long_side(photo, size)))
        self.samplers: list[PatchSampler] = []
        for size in sizes:
            side = crop_at(size, crop) if len(sizes) > 1 else crop  # one size: --crop as given, as always
            if side != crop:
                print(f"--content-size {size}: crops of {side} px (--crop {crop} does not fit a 4:3 photo there)",
                      file=sys.stderr)
            train = [image for image in scaled[size] if min(image.shape[:2]) >= side]
            if not train:
                raise ValueError(f"no training image has {side} px on its short side at --content-size {size}")
            self.samplers.append(PatchSampler(train, side, rotate=False))
        held_out = list(read_each(validation_paths[:8], read_rgb))
        self.validation = [fit_long_side(image, size) for size in sizes for image in held_out]
        if not self.validation:
            raise ValueError("no usable validation images")

    def model_config(self) -> dict[str, Any]:
        return {"features": int(self.options.get("width") or 16), "blocks": int(self.options.get("blocks") or 5)}

    def build_model(self) -> nn.Module:
        return build(**self.model_config())

    def training_batch(self, rng: np.random.Generator, batch_size: int) -> Batch:
        # one scale per batch (crops of one size stack); no draw for a single scale, so a
        # one-size run sees the same crops as before several sizes were possible
        sampler = self.samplers[int(rng.integers(len(self.samplers)))] if len(self.samplers) > 1 else self.samplers[0]
        return {"content": torch.from_numpy(sampler.sample(rng, batch_size))}

    def loss(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        content = batch["content"]
        perceptual = self.perceptual.to(content.device)
        losses = perceptual(model(content), perceptual.content_activation(content))
        return losses.total(**self.weights).mean()

    def predict(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        return model(batch["content"])

    def evaluate(self, model: nn.Module, device: torch.device, out_dir: Path, step: int) -> Evaluation:
        perceptual = self.perceptual.to(device)
        totals, contents, styles, tiles = [], [], [], []
        with torch.no_grad():
            for image in self.validation:
                content = torch.from_numpy(as_batch(image)).to(device)
                output = stylize_whole(model, content).float()
                losses = perceptual(output, perceptual.content_activation(content))
                totals.append(float(losses.total(**self.weights)))
                contents.append(float(losses.content))
                styles.append(float(losses.style))
                tiles += [_thumbnail(image), _thumbnail(output[0].permute(1, 2, 0).cpu().numpy())]
        if tiles:
            write_image(out_dir / "samples" / f"step_{step:06d}.png", Picture(color=contact_sheet(np.stack(tiles), 4)))
        return Evaluation("loss", float(np.mean(totals)), higher_is_better=False,
                          details={"content": float(np.mean(contents)), "style": float(np.mean(styles))})


def content_sizes(options: dict[str, Any]) -> tuple[int, ...]:
    """--content-size as a tuple: one or more long sides (older runs' configs hold one int)."""
    sizes = options.get("content_size") or (256,)
    return (int(sizes),) if isinstance(sizes, (int, float)) else tuple(int(size) for size in sizes)


def crop_at(content_size: int, crop: int) -> int:
    """The crop side at one of several content sizes: --crop, or 3/4 of the long side where --crop
    would not fit in a 4:3 photo (96 px at 128), rounded down to the network's size multiple."""
    return min(crop, max(SIZE_MULTIPLE, content_size * 3 // 4 // SIZE_MULTIPLE * SIZE_MULTIPLE))


def _thumbnail(image: np.ndarray) -> np.ndarray:
    return to_uint8(cv2.resize(image, (SHEET_SIDE, SHEET_SIDE), interpolation=cv2.INTER_AREA))


def recipe(options: dict[str, Any]) -> StyleRecipe:
    return StyleRecipe(options)
