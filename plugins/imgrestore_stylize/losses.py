"""Content and style losses (Gatys et al. 2016), shared by training, the optimisation method and
the benchmark, so all three measure the same thing.

  content(x, c) = ||F(x) − F(c)||² / ||F(c)||²              at relu2_2
  style(x, s)   = mean over layers of ||G(x) − G(s)||² / ||G(s)||²
                  G = the Gram matrix of a layer's activations averaged over positions,
                  at relu1_2, relu2_2, relu3_3, relu4_3

Both are relative errors: they do not depend on the feature network's activation scale (the
Caffe-convention VGG's activations are ~60× torchvision's), so one set of weights works with
any VGG16, and the numbers read as "fraction of the target's energy missed". Gram matrices are
averaged over positions, so the style image and the output need not have the same size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from imgrestore_stylize.features import VGGFeatures, feature_network
from imgrestore_stylize.images import as_batch, read_rgb

STYLE_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
CONTENT_LAYER = "relu2_2"
LAYERS = tuple(sorted(set(STYLE_LAYERS) | {CONTENT_LAYER}))
DEFAULT_WEIGHTS = {"content_weight": 1.0, "style_weight": 2.0, "tv_weight": 0.0}


def loss_weights(options: dict[str, Any]) -> dict[str, float]:
    """--content-weight, --style-weight, --tv-weight, each defaulting to DEFAULT_WEIGHTS."""
    return {name: float(options[name]) if options.get(name) is not None else default
            for name, default in DEFAULT_WEIGHTS.items()}


def gram(activation: torch.Tensor) -> torch.Tensor:
    """N×C×H×W -> N×C×C, averaged over the H·W positions (in float32 whatever the autocast)."""
    batch, channels, height, width = activation.shape
    flat = activation.float().reshape(batch, channels, height * width)
    return flat @ flat.transpose(1, 2) / (height * width)


@dataclass
class Losses:
    """Per-image losses (N,) of a batch."""

    content: torch.Tensor
    style: torch.Tensor
    total_variation: torch.Tensor

    def total(self, content_weight: float, style_weight: float, tv_weight: float) -> torch.Tensor:
        return content_weight * self.content + style_weight * self.style + tv_weight * self.total_variation


class PerceptualLoss(nn.Module):
    """The losses against one style image, whose Gram matrices are computed once."""

    def __init__(self, features: VGGFeatures, style: torch.Tensor) -> None:
        """`style`: 1×3×H×W RGB 0..1, at the scale its brush strokes should have in the output."""
        super().__init__()
        self.features = features
        with torch.no_grad():
            activations = features(style)
        for name in STYLE_LAYERS:
            target = gram(activations[name])
            self.register_buffer(f"gram_{name}", target)
            self.register_buffer(f"energy_{name}", target.pow(2).mean())

    def content_activation(self, content: torch.Tensor) -> torch.Tensor:
        """What `forward` compares the output to (computed once per content image)."""
        with torch.no_grad():
            return self.features(content)[CONTENT_LAYER].float()

    def painting_gram(self, layer: str) -> torch.Tensor:
        """1×C×C: the style image's Gram matrix at one of STYLE_LAYERS."""
        return getattr(self, f"gram_{layer}")

    def style_by_layer(self, activations: dict[str, torch.Tensor]) -> torch.Tensor:
        """len(STYLE_LAYERS)×N: each style layer's relative Gram error (the style loss is their mean).
        Apart, they show which scale of the painting an output misses."""
        return torch.stack([
            (gram(activations[name]) - self.painting_gram(name)).pow(2).mean((1, 2)) / getattr(self, f"energy_{name}")
            for name in STYLE_LAYERS
        ])

    def forward(self, output: torch.Tensor, content_activation: torch.Tensor) -> Losses:
        activations = self.features(output)
        content = activations[CONTENT_LAYER].float()
        content_loss = (content - content_activation).pow(2).mean((1, 2, 3)) / content_activation.pow(2).mean((1, 2, 3))
        return Losses(content_loss, self.style_by_layer(activations).mean(0), total_variation(output))


def total_variation(image: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of neighbouring pixels, per image (0..1 scale). A side of one
    pixel has no neighbours along it: that direction counts 0 (the mean of nothing was NaN, and
    0 × NaN made the whole loss NaN, which broke the optimisation on a 1-pixel strip)."""
    image = image.float()
    none = image.new_zeros(image.shape[0])
    across = (image[:, :, :, 1:] - image[:, :, :, :-1]).abs().mean((1, 2, 3)) if image.shape[3] > 1 else none
    down = (image[:, :, 1:] - image[:, :, :-1]).abs().mean((1, 2, 3)) if image.shape[2] > 1 else none
    return across + down


def perceptual_loss(options: dict[str, Any]) -> PerceptualLoss:
    """The losses against `--style-image` shrunk to `--style-size`, measured by `--features` (or
    torchvision's cached VGG16): what training and --method optimize both build."""
    try:
        style = read_rgb(options["style_image"], int(options.get("style_size") or 256))
    except ValueError as error:  # which file is meant, among a folder of photos
        raise ValueError(f"--style-image {options['style_image']}: {error}") from None
    return PerceptualLoss(feature_network(options.get("features"), LAYERS), torch.from_numpy(as_batch(style)))
