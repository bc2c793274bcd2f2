"""The fast style network (Johnson et al. 2016), one network per style.

9×9 conv, two stride-2 3×3 convs, residual blocks, two (nearest ×2 upsampling + 3×3 conv) and a
9×9 conv back to RGB, with instance normalisation (Ulyanov et al.) after every conv but the last
and a sigmoid at the end, so outputs are 0..1 like every imgrestore model. Upsampling by resize
and convolution instead of transposed convolutions avoids checkerboard artefacts (Odena et al.).
The paper's network is F = 32 with 5 blocks; the default here is F = 16, 4× fewer operations,
so a 12-megapixel photo stylizes in seconds on a CPU.
"""

from __future__ import annotations

import torch
from torch import nn


def _conv(in_channels: int, out_channels: int, kernel: int, stride: int = 1) -> list[nn.Module]:
    return [nn.ReflectionPad2d(kernel // 2), nn.Conv2d(in_channels, out_channels, kernel, stride)]


def _conv_norm_relu(in_channels: int, out_channels: int, kernel: int, stride: int = 1) -> list[nn.Module]:
    return [*_conv(in_channels, out_channels, kernel, stride), nn.InstanceNorm2d(out_channels, affine=True),
            nn.ReLU(inplace=True)]


class ResidualBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(*_conv_norm_relu(channels, channels, 3), *_conv(channels, channels, 3),
                                  nn.InstanceNorm2d(channels, affine=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class StyleNetwork(nn.Module):
    def __init__(self, features: int = 16, blocks: int = 5) -> None:
        super().__init__()
        width = 4 * features
        self.body = nn.Sequential(
            *_conv_norm_relu(3, features, 9),
            *_conv_norm_relu(features, 2 * features, 3, stride=2),
            *_conv_norm_relu(2 * features, width, 3, stride=2),
            *[ResidualBlock(width) for _ in range(blocks)],
            nn.Upsample(scale_factor=2, mode="nearest"), *_conv_norm_relu(width, 2 * features, 3),
            nn.Upsample(scale_factor=2, mode="nearest"), *_conv_norm_relu(2 * features, features, 3),
            *_conv(features, 3, 9),
        )

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.body(image * 2 - 1))


SIZE_MULTIPLE = 4
"""Two stride-2 convolutions down, two upsamplings back: sides that are multiples of 4 come back whole."""


def stylize_whole(network: nn.Module, image: torch.Tensor) -> torch.Tensor:
    """N×3×H×W of any size: reflect-padded to a multiple of 4 (as the runtime does), cropped back."""
    height, width = image.shape[2:]
    padded = nn.functional.pad(image, (0, -width % SIZE_MULTIPLE, 0, -height % SIZE_MULTIPLE), mode="reflect")
    return network(padded)[:, :, :height, :width]


def receptive_radius(blocks: int) -> int:
    """Input pixels on each side that reach one output pixel: 4 (9×9) + 1 + 2 (stride-2 3×3s),
    8 per residual block at a quarter resolution, 4 + 2 (3×3s after the upsamplings), 4 (9×9)."""
    return 4 + 1 + 2 + 8 * blocks + 4 + 2 + 4


def build(features: int = 16, blocks: int = 5) -> StyleNetwork:
    return StyleNetwork(features, blocks)
