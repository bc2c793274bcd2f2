"""CycleGAN's networks (Zhu et al. 2017): ResNet generators and PatchGAN discriminators.

Images enter and leave every network in 0..1 (the runtime's range); inside, they are mapped to
-1..1 and the generator ends in tanh, as in the paper. Normalisation is instance normalisation
without affine parameters, as in the authors' code: each image is normalised on its own, so a
batch of several images trains exactly as the images would one by one.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from imgrestore_translate.pool import HistoryPool


def _norm(channels: int) -> nn.Module:
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


class ResidualBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _norm(channels), nn.ReLU(inplace=True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _norm(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """c7s1-F, then `downsamplings` stride-2 convolutions doubling the channels, `blocks` residual
    blocks, as many stride-2 transposed convolutions back, c7s1-C and tanh. The paper's networks
    are F = 64 with 6 blocks (128 px) or 9 blocks (256 px).

    `gray_output`: the target domain is colorless (outline drawings stored as RGB), so the last
    convolution draws one channel and every output channel is a copy of it. A colour output there
    can only be wrong, and a CycleGAN uses the spare channels to hide what it needs to translate
    back (faint colour patterns in the drawings, the steganography Chu et al. 2017 describe)."""

    def __init__(self, channels: int, features: int = 64, blocks: int = 9, downsamplings: int = 2,
                 gray_output: bool = False) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(channels, features, 7), _norm(features),
                                   nn.ReLU(inplace=True)]
        width = features
        for _ in range(downsamplings):
            layers += [nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), _norm(2 * width), nn.ReLU(inplace=True)]
            width *= 2
        layers += [ResidualBlock(width) for _ in range(blocks)]
        for _ in range(downsamplings):
            layers += [nn.ConvTranspose2d(width, width // 2, 3, stride=2, padding=1, output_padding=1),
                       _norm(width // 2), nn.ReLU(inplace=True)]
            width //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, 1 if gray_output else channels, 7), nn.Tanh()]
        self.body = nn.Sequential(*layers)
        self.channels, self.gray_output = channels, gray_output

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        output = (self.body(image * 2 - 1) + 1) / 2
        return output.expand(-1, self.channels, -1, -1) if self.gray_output else output


def receptive_radius(blocks: int, downsamplings: int) -> int:
    """How far (input pixels) an output pixel sees: 3 for each 7×7 convolution, 2^d for each 3×3
    convolution at 1/2^d resolution (two per residual block at the bottom)."""
    bottom = 2 ** downsamplings
    return 3 + 3 + sum(2 ** d for d in range(downsamplings)) * 2 + 2 * blocks * bottom


class PatchDiscriminator(nn.Module):
    """PatchGAN: 4×4 convolutions, `layers` of them with stride 2 (the first without
    normalisation), one with stride 1, then a 1-channel map of real/fake scores, one per patch.
    layers = 3 with F = 64 is the paper's 70×70 PatchGAN; each layer fewer halves the patch."""

    def __init__(self, channels: int, features: int = 64, layers: int = 3) -> None:
        super().__init__()
        modules: list[nn.Module] = [nn.Conv2d(channels, features, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        width = features
        for index in range(1, layers + 1):
            wider = features * min(2 ** index, 8)
            stride = 2 if index < layers else 1
            modules += [nn.Conv2d(width, wider, 4, stride=stride, padding=1), _norm(wider), nn.LeakyReLU(0.2, True)]
            width = wider
        modules.append(nn.Conv2d(width, 1, 4, stride=1, padding=1))
        self.body = nn.Sequential(*modules)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.body(image * 2 - 1)


class CycleGAN(nn.Module):
    """The pair of generators, trained together and checkpointed as one model; each direction is
    exported on its own (`imgrestore export translate --direction a2b|b2a`).

    `forward(real_a, real_b)` is the whole generator pass of a training step in one call (so
    DistributedDataParallel sees one forward per backward): the translations, the cycles and the
    identity mappings. Each generator runs on a concatenated batch where it can, which is exact
    because instance normalisation treats every image separately. `gray_a`/`gray_b`: that domain is
    colorless, so the generator into it draws gray (ResnetGenerator's gray_output)."""

    def __init__(self, channels: int, features: int = 64, blocks: int = 9, downsamplings: int = 2,
                 gray_a: bool = False, gray_b: bool = False) -> None:
        super().__init__()
        self.a2b = ResnetGenerator(channels, features, blocks, downsamplings, gray_output=gray_b)
        self.b2a = ResnetGenerator(channels, features, blocks, downsamplings, gray_output=gray_a)

    def forward(self, real_a: torch.Tensor, real_b: torch.Tensor | None = None) -> Any:
        if real_b is None:  # inference: A -> B
            return self.a2b(real_a)
        count = len(real_a)
        fake_b, identity_b = self.a2b(torch.cat([real_a, real_b])).split(count)
        fake_a, identity_a = self.b2a(torch.cat([real_b, real_a])).split(count)
        return {"fake_b": fake_b, "fake_a": fake_a, "cycle_a": self.b2a(fake_b), "cycle_b": self.a2b(fake_a),
                "identity_a": identity_a, "identity_b": identity_b}

    def direction(self, name: str) -> ResnetGenerator:
        if name not in ("a2b", "b2a"):
            raise ValueError(f"direction must be 'a2b' or 'b2a', not {name!r}")
        return self.a2b if name == "a2b" else self.b2a


class Discriminators(nn.Module):
    """D_A (real A vs translated B->A) and D_B, called together once per phase, with the history
    pools of the fakes each one learns from (kept here so they are saved with the training state)."""

    def __init__(self, channels: int, features: int = 64, layers: int = 3, pool: int = 50, size: int = 128) -> None:
        super().__init__()
        self.a = PatchDiscriminator(channels, features, layers)
        self.b = PatchDiscriminator(channels, features, layers)
        self.pool_a = HistoryPool(pool, channels, size)
        self.pool_b = HistoryPool(pool, channels, size)

    def forward(self, images_a: torch.Tensor, images_b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.a(images_a), self.b(images_b)


def build(channels: int, features: int = 64, blocks: int = 9, downsamplings: int = 2, gray_a: bool = False,
          gray_b: bool = False, **_: Any) -> CycleGAN:
    """The model factory (keyword arguments from a checkpoint's model_config; one from before
    gray_a/gray_b has colour generators both ways)."""
    return CycleGAN(channels, features, blocks, downsamplings, gray_a, gray_b)
