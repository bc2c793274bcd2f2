"""The denoising network: a noise-level-conditioned residual CNN working at half resolution.

Why this shape: FFDNet (Zhang et al. 2018) showed that folding the image into four half-resolution
sub-images (pixel-unshuffle) and appending a noise-level map gives one non-blind network that covers
a wide range of sigma, at a quarter of DnCNN's cost per pixel and with a larger receptive field.
We add DnCNN's residual learning (the body predicts the noise) because it converges much faster,
which matters when the recipe has to train on CPUs.
"""

from __future__ import annotations

import torch
from torch import nn


class NoiseConditionedDenoiser(nn.Module):
    """Maps (noisy image N×C×H×W in 0..1, sigma N×1 in 0..1 units) to the clean estimate.

    H and W must be even (the runtime pads to the size multiple stored in the ONNX metadata).
    """

    def __init__(self, channels: int = 1, features: int = 64, depth: int = 15, batch_norm: bool = False) -> None:
        super().__init__()
        self.channels = channels
        folded = channels * 4
        layers: list[nn.Module] = [nn.Conv2d(folded + 1, features, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            layers.append(nn.Conv2d(features, features, 3, padding=1, bias=not batch_norm))
            if batch_norm:  # FFDNet/DnCNN: keeps the deep plain stack trainable from the first steps
                layers.append(nn.BatchNorm2d(features))
            layers.append(nn.ReLU(inplace=True))
        layers.append(nn.Conv2d(features, folded, 3, padding=1))
        self.body = nn.Sequential(*layers)
        self.fold = nn.PixelUnshuffle(2)
        self.unfold = nn.PixelShuffle(2)
        for module in self.body:
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
        # The last layer starts near zero so the untrained net is the identity, not a random filter.
        last = self.body[-1]
        nn.init.normal_(last.weight, std=1e-3)

    def forward(self, noisy: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        folded = self.fold(noisy)
        level = sigma.reshape(-1, 1, 1, 1).to(folded.dtype).expand(-1, 1, folded.shape[2], folded.shape[3])
        noise = self.unfold(self.body(torch.cat([folded, level], dim=1)))
        return noisy - noise


def build(channels: int = 1, features: int = 64, depth: int = 15, batch_norm: bool = False) -> NoiseConditionedDenoiser:
    """Model factory named in the TaskSpec (``imgrestore_denoise.model:build``)."""
    return NoiseConditionedDenoiser(channels=channels, features=features, depth=depth, batch_norm=batch_norm)
