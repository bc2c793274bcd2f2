"""The networks of the sampling task: a DCGAN generator and discriminator, a convolutional VAE
and the small classifier whose features score them. Images are N×C×H×W in 0..1 everywhere
outside these modules; H and W are multiples of 4 (28 for MNIST-style sets).

Every exported network maps a latent batch (N×latent_dim) to images, so the runtime needs to
know nothing about GAN or VAE: `build(kind=...)` returns the module that is exported.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F


class Generator(nn.Module):
    """DCGAN generator (Radford et al. 2016): a projection to a (size/4)² map, then two stride-2
    transposed convolutions with batch norm and ReLU, and a tanh output mapped to 0..1."""

    def __init__(self, latent_dim: int = 64, features: int = 64, channels: int = 1, size: int = 28) -> None:
        super().__init__()
        if size % 4:
            raise ValueError(f"image size {size} is not a multiple of 4")
        self.latent_dim, self.base = latent_dim, size // 4
        width = 4 * features
        self.project = nn.Sequential(nn.Linear(latent_dim, width * self.base**2, bias=False),
                                     nn.BatchNorm1d(width * self.base**2), nn.ReLU(inplace=True))
        self.body = nn.Sequential(
            nn.ConvTranspose2d(width, 2 * features, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * features), nn.ReLU(True),
            nn.ConvTranspose2d(2 * features, features, 4, 2, 1, bias=False), nn.BatchNorm2d(features), nn.ReLU(True),
            nn.Conv2d(features, channels, 3, 1, 1),
        )
        for module in self.modules():  # DCGAN's initialisation
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                nn.init.normal_(module.weight, 0.0, 0.02)

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        x = self.project(latent).view(latent.shape[0], -1, self.base, self.base)
        return torch.tanh(self.body(x)) * 0.5 + 0.5


class Discriminator(nn.Module):
    """DCGAN discriminator: stride-2 convolutions with leaky ReLU and one logit. No batch norm,
    because real and fake images go through it in one call (one forward per phase under DDP),
    and batch statistics over that mixed batch would tell the two apart by themselves.

    `spectral=True` divides every weight by its largest singular value (Miyato et al. 2018), which
    bounds how sharply the discriminator can react to a small change of its input: on a small
    data set it keeps the discriminator from memorising the real images and handing the
    generator gradients that point nowhere."""

    def __init__(self, features: int = 64, channels: int = 1, size: int = 28, spectral: bool = False) -> None:
        super().__init__()
        layers = [nn.Conv2d(channels, features, 4, 2, 1), nn.Conv2d(features, 2 * features, 4, 2, 1),
                  nn.Conv2d(2 * features, 4 * features, 3, 1, 1), nn.Linear(4 * features * (size // 4) ** 2, 1)]
        for layer in layers:
            nn.init.normal_(layer.weight, 0.0, 0.02)
        if spectral:
            layers = [nn.utils.parametrizations.spectral_norm(layer) for layer in layers]
        *convolutions, self.head = layers
        self.body = nn.Sequential(*(module for conv in convolutions for module in (conv, nn.LeakyReLU(0.2, True))))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(images * 2 - 1).flatten(1)).squeeze(1)


class VAE(nn.Module):
    """Convolutional VAE (Kingma & Welling 2014). `forward(latent)` decodes, so the exported graph
    is the decoder alone; `encode` and `reconstruct` are for training."""

    def __init__(self, latent_dim: int = 16, features: int = 32, channels: int = 1, size: int = 28) -> None:
        super().__init__()
        if size % 4:
            raise ValueError(f"image size {size} is not a multiple of 4")
        self.latent_dim, self.base = latent_dim, size // 4
        flat = 2 * features * self.base**2
        self.encoder = nn.Sequential(
            nn.Conv2d(channels, features, 4, 2, 1), nn.ReLU(True),
            nn.Conv2d(features, 2 * features, 4, 2, 1), nn.ReLU(True), nn.Flatten(),
            nn.Linear(flat, 256), nn.ReLU(True),
        )
        self.to_moments = nn.Linear(256, 2 * latent_dim)
        self.project = nn.Sequential(nn.Linear(latent_dim, 256), nn.ReLU(True), nn.Linear(256, flat), nn.ReLU(True))
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(2 * features, features, 4, 2, 1), nn.ReLU(True),
            nn.ConvTranspose2d(features, channels, 4, 2, 1),
        )

    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of q(z | x)."""
        mean, log_variance = self.to_moments(self.encoder(images)).chunk(2, dim=1)
        return mean, log_variance

    def decode_logits(self, latent: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.project(latent).view(latent.shape[0], -1, self.base, self.base))

    def forward(self, latent: torch.Tensor, images: torch.Tensor | None = None) -> Any:
        """The decoder's mean image for `latent`, p(x | z) being a Bernoulli per pixel (what is
        exported). Given `images`, the training pass instead: encode them, take z = μ + σ·latent
        (the reparameterisation, `latent` being ε ~ N(0, I)) and return (decoder logits, μ, log σ²).
        One forward for both keeps DistributedDataParallel's gradient hooks in the loop."""
        if images is None:
            return torch.sigmoid(self.decode_logits(latent))
        mean, log_variance = self.encode(images)
        return self.decode_logits(mean + torch.exp(0.5 * log_variance) * latent), mean, log_variance


class Classifier(nn.Module):
    """The evaluator's classifier: three conv blocks and a 128-wide penultimate layer, whose
    activations are the features of the Fréchet distance."""

    feature_dim = 128

    def __init__(self, classes: int = 10, channels: int = 1, features: int = 32) -> None:
        super().__init__()

        def block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(True),
                                 nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(True))

        self.body = nn.Sequential(block(channels, features), nn.MaxPool2d(2), block(features, 2 * features),
                                  nn.MaxPool2d(2), block(2 * features, 4 * features), nn.AdaptiveAvgPool2d(1),
                                  nn.Flatten(), nn.Dropout(0.3), nn.Linear(4 * features, self.feature_dim),
                                  nn.ReLU(True))
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(self.feature_dim, classes))

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.body(images - 0.5)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))


def build(kind: str, **config: Any) -> nn.Module:
    """The exported network of a checkpoint (its model_config holds `kind` and the sizes)."""
    if kind == "dcgan":
        return Generator(**config)
    if kind == "vae":
        return VAE(**config)
    if kind == "classifier":
        return Classifier(**config)
    raise ValueError(f"unknown sampling network {kind!r} (dcgan, vae or classifier)")


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The GAN discriminator's cross-entropy: real -> 1, fake -> 0."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss, -log D(G(z)) (Goodfellow et al. 2014)."""
    return F.softplus(-fake_logits).mean()
