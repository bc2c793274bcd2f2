"""Training recipe for the reconstruct task: first a dictionary (K-SVD on mean-removed patches of
the training images, unless --dictionary gives one), then LISTA initialised as ISTA on it and
trained end to end (patch extraction, coding and averaging) by the core trainer with an MSE loss
on gray crops: Gaussian noise of a random σ (denoise) or random missing pixels (fill).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from imgrestore.training.data import PatchSampler, load_images, training_and_validation_paths, validation_crops
from imgrestore.training.recipe import Batch

from imgrestore_reconstruct.dictionary import read_dictionary
from imgrestore_reconstruct.lista import PatchLISTA, build
from imgrestore_reconstruct.sparse import ksvd

LAMBDA_PER_SIGMA = 1.5
"""ℓ1 weight of ISTA denoising per unit of σ (both in 0..1 units), and of filling: chosen by
tools/tune_reconstruct_lambda.py on held-out training crops (figures in its docstring). LISTA
starts from these, as ISTA; the benchmark's converged ISTA uses them."""
LAMBDA_FLOOR = 1e-3
FILL_LAMBDA = 1e-2
VALIDATION_CROP = 64
VALIDATION_SIGMA = 25.0
VALIDATION_MISSING = 0.5


def training_patches(images: list[np.ndarray], patch: int, count: int, seed: int = 0) -> np.ndarray:
    """`count` random mean-removed patches as rows (flat ones, std < 2/255, left out: they carry
    no structure and would only teach the DC, which is coded apart)."""
    rng = np.random.default_rng(seed)
    sampler = PatchSampler(images, patch)
    rows = []
    for _ in range(max(4, 4 * -(-count // 4096))):  # a quarter of them textured at least, else give up
        batch = sampler.sample(rng, 4096).reshape(4096, -1)
        batch = batch - batch.mean(1, keepdims=True)
        rows.append(batch[batch.std(1) > 2 / 255])
        if sum(len(r) for r in rows) >= count:
            return np.concatenate(rows)[:count]
    found = sum(len(r) for r in rows)
    raise ValueError(f"only {found} of {4096 * len(rows)} random {patch}×{patch} patches of the training images have "
                     "texture (a standard deviation over 2/255): a dictionary needs structured photos, not flat ones")


def learn_dictionary(images: list[np.ndarray], patch: int, atoms: int, count: int, sparsity: int,
                     iterations: int, seed: int = 0, log: Any = print) -> torch.Tensor:
    """K-SVD on `training_patches`."""
    signals = torch.from_numpy(training_patches(images, patch, count, seed))
    generator = torch.Generator().manual_seed(seed)

    def progress(iteration: int, _dictionary: torch.Tensor, rmse: float) -> None:
        log(f"K-SVD iteration {iteration + 1}/{iterations}: patch RMSE {rmse * 255:.2f} (0..255)")

    return ksvd(signals, atoms, sparsity, iterations, generator=generator, callback=progress)


class ReconstructRecipe:
    task = "reconstruct"

    def __init__(self, options: dict[str, Any]) -> None:
        self.mode = options["mode"]
        self.patch, self.atoms, self.layers = options["patch"], options["atoms"], options["layers"]
        self.stride = options["stride"]
        if self.stride > self.patch:
            raise ValueError(f"--stride {self.stride} is larger than --patch {self.patch}: pixels between patches "
                             "would never be coded")
        if options["crop"] < self.patch:
            raise ValueError(f"--crop {options['crop']} is smaller than --patch {self.patch}")
        self.sigma_range = options["sigma_range"]
        self.missing = options["missing"]
        train_paths, val_paths = training_and_validation_paths(options)
        images = load_images(train_paths, "gray", min_size=options["crop"])
        self.sampler = PatchSampler(images, options["crop"])
        if options.get("dictionary"):
            self.dictionary = read_dictionary(options["dictionary"])
        else:
            self.dictionary = learn_dictionary(images, self.patch, self.atoms, options["ksvd_patches"],
                                               options["ksvd_sparsity"], options["ksvd_iterations"])
        validation = validation_crops(load_images(val_paths, "gray", role="validation"), VALIDATION_CROP,
                                      smallest=self.patch)
        self._validation = [self._degrade(np.stack(validation).transpose(0, 3, 1, 2).astype(np.float32) / 255,
                                          np.random.default_rng(9000), validation=True)]

    def model_config(self) -> dict[str, Any]:
        return {"mode": self.mode, "patch": self.patch, "atoms": self.atoms, "layers": self.layers,
                "stride": self.stride}

    def build_model(self) -> nn.Module:
        model: PatchLISTA = build(**self.model_config())
        model.initialise(self.dictionary.float(), LAMBDA_PER_SIGMA,
                         LAMBDA_FLOOR if self.mode == "denoise" else FILL_LAMBDA)
        return model

    def training_batch(self, rng: np.random.Generator, batch_size: int) -> Batch:
        return self._degrade(self.sampler.sample(rng, batch_size), rng)

    def _degrade(self, clean: np.ndarray, rng: np.random.Generator, validation: bool = False) -> Batch:
        count = len(clean)
        if self.mode == "denoise":
            sigma = (np.full(count, VALIDATION_SIGMA) if validation else rng.uniform(*self.sigma_range, size=count)) / 255
            noisy = clean + rng.standard_normal(clean.shape) * sigma[:, None, None, None]
            condition = sigma[:, None]
            image = noisy
        else:
            missing = np.full(count, VALIDATION_MISSING) if validation else rng.uniform(*self.missing, size=count)
            condition = (rng.random((count, 1, *clean.shape[2:])) < missing[:, None, None, None])
            image = clean * (1 - condition)
        return {"image": torch.from_numpy(image.astype(np.float32)),
                "condition": torch.from_numpy(condition.astype(np.float32)),
                "target": torch.from_numpy(clean)}

    def predict(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        return model(batch["image"], batch["condition"])

    def loss(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        return nn.functional.mse_loss(self.predict(model, batch).float(), batch["target"])

    def validation_batches(self) -> list[Batch]:
        return self._validation


def recipe(options: dict[str, Any]) -> ReconstructRecipe:
    """Recipe factory named in the TaskSpec (``imgrestore_reconstruct.recipe:recipe``)."""
    return ReconstructRecipe(options)
