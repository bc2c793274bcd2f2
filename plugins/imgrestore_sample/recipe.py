"""Training recipes of the sampling task, on the core trainer: the DCGAN (two networks,
alternating phases), the VAE (one network, the negative ELBO) and the evaluator's classifier.

Every `--validate-every` steps the DCGAN and VAE write a contact sheet of samples from fixed
latents to <run>/samples/step_NNNNNN.png and score samples with the evaluator: the Fréchet
distance to the training images (the test images are only for the benchmark), the fraction of
confidently classified samples and the share of the most and least frequent class.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from imgrestore.images import Picture, to_uint8, write_image
from imgrestore.sampling import contact_sheet, latent_vectors
from imgrestore.training.recipe import Batch, Evaluation, Phase
from imgrestore.weights import WeightsError
from imgrestore.training.image_sets import ImageSet, load_image_set
from imgrestore_sample.evaluator import Evaluator, FeatureStatistics, shipped_evaluator
from imgrestore_sample.networks import Discriminator, build, discriminator_loss, generator_loss

EVALUATION_SEED = 1234
SHEET = 64


def _images(array: np.ndarray) -> torch.Tensor:
    """N×H×W uint8 -> N×1×H×W float 0..1."""
    return torch.from_numpy(array[:, None].astype(np.float32) / 255)


class _SampleSet:
    """What every recipe of the task shares: the data set, read once from the first --data."""

    task = "sample"

    def __init__(self, options: dict[str, Any]) -> None:
        data = options.get("data") or []
        if len(data) != 1:
            raise ValueError("give one --data: an .npz (images, labels) or a folder of idx files such as "
                             "/usr/share/datasets/fashion-mnist")
        self.data: ImageSet = load_image_set(data[0])
        self.options = options
        self.size = self.data.size[0]

    def sizes(self) -> dict[str, Any]:
        return {"channels": 1, "size": self.size}


class _Generator(_SampleSet):
    """What the DCGAN and VAE share: a latent-to-image network, batches of real images with a
    standard-normal draw per image (the generator's input, or the VAE's ε), and the evaluation:
    samples from fixed latents, scored by the evaluator, with a contact sheet on disk."""

    kind = ""
    default_latent_dim = 64
    validation_metric = "frechet"

    def __init__(self, options: dict[str, Any]) -> None:
        super().__init__(options)
        self.latent_dim = int(options.get("latent_dim") or self.default_latent_dim)
        self.features = int(options.get("features") or 32)
        self.evaluation_samples = int(options.get("evaluation_samples") or 2000)
        self.evaluator = self._find_evaluator()
        self._reference: FeatureStatistics | None = None  # of the training images, computed once

    def model_config(self) -> dict[str, Any]:
        return {"kind": self.kind, "latent_dim": self.latent_dim, "features": self.features, **self.sizes()}

    def build_model(self) -> nn.Module:
        return build(**self.model_config())

    def training_batch(self, rng: np.random.Generator, batch_size: int) -> Batch:
        chosen = rng.integers(0, len(self.data.train_images), batch_size)
        return {"real": _images(self.data.train_images[chosen]),
                "latent": torch.from_numpy(rng.standard_normal((batch_size, self.latent_dim)).astype(np.float32))}

    def predict(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        return model(batch["latent"])

    def evaluate(self, model: nn.Module, device: torch.device, out_dir: Path, step: int) -> Evaluation:
        latents = torch.from_numpy(latent_vectors(EVALUATION_SEED, range(self.evaluation_samples),
                                                  self.latent_dim)).to(device)
        samples = torch.cat([model(chunk).float() for chunk in latents.split(500)]).clamp(0, 1).cpu()
        sheet = contact_sheet(to_uint8(samples[:SHEET].permute(0, 2, 3, 1).numpy()), 8)
        write_image(out_dir / "samples" / f"step_{step:06d}.png", Picture(color=sheet))
        if self.evaluator is None:  # no classifier for this data set: the sheets still show progress
            return Evaluation("frechet", float("nan"), higher_is_better=False)
        if self._reference is None:
            reference = self.data.train_images[np.random.default_rng(0).permutation(len(self.data.train_images))[:10000]]
            self._reference = FeatureStatistics.of(self.evaluator.embed(reference)[0])
        score = self.evaluator.score(samples, self._reference)
        return Evaluation("frechet", score.frechet, higher_is_better=False, details={
            "confident": score.confident, "least_class": min(score.class_shares),
            "most_class": max(score.class_shares)})

    def _find_evaluator(self) -> Evaluator | None:
        """--evaluator, else the one shipped for this data set, else none (training must not
        need a shipped evaluator: a user's own data set has none)."""
        path = self.options.get("evaluator")
        if not path:
            try:
                path = shipped_evaluator(self.data.name)
            except WeightsError as error:
                print(f"no evaluator for {self.data.name!r} ({error}); samples are not scored (val_frechet "
                      "stays nan and no best.safetensors is kept): the shipped evaluators go by the data set's "
                      "file or folder name (mnist_10k.npz, a folder named fashion-mnist); for another set give "
                      "--evaluator CKPT, e.g. one trained with `imgrestore train sample --network classifier`")
                return None
        return Evaluator(path)


class DCGANRecipe(_Generator):
    """Generator and discriminator, one Adam each (β₁ = 0.5 as in DCGAN), the non-saturating loss."""

    kind = "dcgan"

    def extra_networks(self) -> dict[str, nn.Module]:
        width = int(self.options.get("discriminator_features") or 2 * self.features)
        spectral = self.options.get("discriminator_norm") == "spectral"
        return {"discriminator": Discriminator(features=width, spectral=spectral, **self.sizes())}

    def phases(self) -> list[Phase]:
        return [Phase("generator", ("model",), betas=(0.5, 0.999)),
                Phase("discriminator", ("discriminator",), betas=(0.5, 0.999))]

    def phase_loss(self, phase: str, networks: dict[str, nn.Module], batch: Batch,
                   cache: dict[str, torch.Tensor]) -> torch.Tensor:
        discriminator = networks["discriminator"]
        if phase == "generator":
            cache["fake"] = networks["model"](batch["latent"])
            return generator_loss(discriminator(cache["fake"]))
        logits = discriminator(torch.cat([batch["real"], cache["fake"].detach()]))
        real, fake = logits.split(len(batch["real"]))
        return discriminator_loss(real, fake)


class VAERecipe(_Generator):
    """The negative ELBO per pixel: Bernoulli reconstruction cross-entropy plus the KL divergence
    of q(z|x) from N(0, I), with the reparameterisation z = μ + σ·ε."""

    kind = "vae"
    default_latent_dim = 16

    def loss(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        real = batch["real"]
        logits, mean, log_variance = model(batch["latent"], real)
        reconstruction = F.binary_cross_entropy_with_logits(logits.float(), real, reduction="sum")
        divergence = -0.5 * torch.sum(1 + log_variance - mean.pow(2) - log_variance.exp())
        return (reconstruction + divergence) / real.numel()


class ClassifierRecipe(_SampleSet):
    """The evaluator's classifier: cross-entropy on training images shifted by up to 2 pixels.
    Validated on 5% of the training split (the test split is left to the benchmark), by accuracy."""

    validation_metric = "accuracy"

    def __init__(self, options: dict[str, Any]) -> None:
        super().__init__(options)
        held_out = np.random.default_rng(0).permutation(len(self.data.train_images))
        cut = len(held_out) // 20
        self.validation, self.training = held_out[:cut], held_out[cut:]
        self.features = int(options.get("features") or 32)

    def model_config(self) -> dict[str, Any]:
        return {"kind": "classifier", "classes": self.data.classes, "channels": 1, "features": self.features}

    def build_model(self) -> nn.Module:
        return build(**self.model_config())

    def training_batch(self, rng: np.random.Generator, batch_size: int) -> Batch:
        chosen = self.training[rng.integers(0, len(self.training), batch_size)]
        images = np.pad(self.data.train_images[chosen], ((0, 0), (2, 2), (2, 2)))
        height, width = self.data.size
        shifted = np.stack([image[dy : dy + height, dx : dx + width]
                            for image, dy, dx in zip(images, rng.integers(0, 5, batch_size), rng.integers(0, 5, batch_size))])
        return {"image": _images(shifted), "label": torch.from_numpy(self.data.train_labels[chosen])}

    def loss(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        return F.cross_entropy(model(batch["image"]).float(), batch["label"])

    def predict(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        return model(batch["image"])

    def evaluate(self, model: nn.Module, device: torch.device, out_dir: Path, step: int) -> Evaluation:
        images = _images(self.data.train_images[self.validation])
        labels = torch.from_numpy(self.data.train_labels[self.validation])
        predicted = torch.cat([model(chunk.to(device)).argmax(1).cpu() for chunk in images.split(500)])
        return Evaluation("accuracy", float((predicted == labels).float().mean()))


def recipe(options: dict[str, Any]) -> Any:
    network = options.get("network") or "dcgan"
    recipes = {"dcgan": DCGANRecipe, "vae": VAERecipe, "classifier": ClassifierRecipe}
    if network not in recipes:
        raise ValueError(f"unknown --network {network!r}")
    return recipes[network](options)

