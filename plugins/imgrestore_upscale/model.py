"""The super-resolution network: a plain 3×3 convolution stack at low resolution, one sub-pixel
tail per scale, and an "anchor" residual.

Everything runs at the input's resolution; only the last convolution emits scale² × 3 channels
that PixelShuffle rearranges into the enlarged image. The anchor adds each input pixel to all
scale² output pixels it becomes (nearest-neighbour upsampling, done as a channel repeat before the
shuffle, so it costs nothing), so the network learns only the missing detail. Plain convolutions
and ReLUs are what onnxruntime's CPU kernels run fastest; no attention, no normalisation.

One body can carry tails for several scales: trained together, the shared body sees every
scale's data. Export picks one scale, so each shipped ONNX model is a single-scale network.
"""

from __future__ import annotations

import torch
from torch import nn


class SubPixelUpscaler(nn.Module):
    def __init__(self, scales: tuple[int, ...] = (2, 3, 4), features: int = 48, depth: int = 8,
                 channels: int = 3) -> None:
        super().__init__()
        self.scales = tuple(int(s) for s in scales)
        self.channels = channels
        self.head = nn.Conv2d(channels, features, 3, padding=1)
        self.body = nn.Sequential(*(
            layer for _ in range(depth) for layer in (nn.Conv2d(features, features, 3, padding=1), nn.ReLU(inplace=True))
        ))
        self.tails = nn.ModuleDict({
            str(s): nn.Conv2d(features, channels * s * s, 3, padding=1) for s in self.scales
        })
        # He initialisation keeps the features' scale through the ReLU stack (PyTorch's default
        # shrinks it ~6× per layer in variance, and a deep plain stack then never starts learning);
        # the tails start small, so training begins at the anchor (nearest neighbour).
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                nn.init.zeros_(module.bias)
        for tail in self.tails.values():
            tail.weight.data.mul_(0.1)
        self.scale = self.scales[0]
        """The scale `forward` produces; set by `use_scale` (export) or per batch in training."""

    def use_scale(self, scale: int) -> "SubPixelUpscaler":
        if scale not in self.scales:
            raise ValueError(f"this model has tails for scales {self.scales}, not {scale}")
        self.scale = scale
        return self

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        scale = self.scale
        features = self.body(torch.relu(self.head(image)))
        detail = self.tails[str(scale)](features)
        anchor = image.repeat_interleave(scale * scale, dim=1)
        return nn.functional.pixel_shuffle(detail + anchor, scale)


def build(scales: list[int] | tuple[int, ...] = (2, 3, 4), features: int = 48, depth: int = 8,
          channels: int = 3) -> SubPixelUpscaler:
    """Model factory named in the TaskSpec; keyword arguments are the checkpoint's model_config."""
    return SubPixelUpscaler(tuple(scales), features, depth, channels)


def multiply_adds_per_output_pixel(features: int, depth: int, scale: int, channels: int = 3) -> float:
    """Multiply-adds of one forward pass divided by the output pixels it produces."""
    per_input_pixel = 9 * (channels * features + depth * features * features + features * channels * scale * scale)
    return per_input_pixel / (scale * scale)
