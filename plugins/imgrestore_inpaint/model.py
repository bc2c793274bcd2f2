"""The inpainting networks: a gated-convolution encoder-decoder with a dilated bottleneck (the
DeepFill v2 idea, sized for CPU training) and a PatchGAN discriminator.

Gated convolutions (features × sigmoid(gate)) let every layer learn where its input is valid,
which plain convolutions cannot tell across a hole's border. The bottleneck runs at a quarter of
the resolution with dilations 2, 4, 8 and 16, so a pixel in the middle of a 100-pixel hole still
sees real context. Only operators onnxruntime runs well (convolutions, sigmoid, nearest resize).

The generator refines a coarse fill (imgrestore_inpaint.coarse: Telea) that arrives in the holes
of its image input: it predicts a correction, and its last layer starts near zero, so training
starts from the classical result instead of from grey.
"""

from __future__ import annotations

import torch
from torch import nn


class GatedConv(nn.Module):
    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1, dilation: int = 1) -> None:
        super().__init__()
        padding = dilation * (kernel - 1) // 2
        self.conv = nn.Conv2d(cin, 2 * cout, kernel, stride=stride, padding=padding, dilation=dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features, gate = self.conv(x).chunk(2, dim=1)
        return nn.functional.elu(features) * torch.sigmoid(gate)


class GatedInpainter(nn.Module):
    """(image N×3×H×W in 0..1 with its holes coarsely filled, mask N×1×H×W, 1 = fill) -> filled
    image; H, W multiples of 4. Pixels outside the mask are passed through from the input."""

    def __init__(self, features: int = 24, dilations: tuple[int, ...] = (2, 4, 8, 16)) -> None:
        super().__init__()
        f = features
        self.encoder = nn.Sequential(
            GatedConv(4, f, 5), GatedConv(f, 2 * f, 3, stride=2), GatedConv(2 * f, 2 * f),
            GatedConv(2 * f, 4 * f, 3, stride=2), GatedConv(4 * f, 4 * f),
        )
        self.bottleneck = nn.Sequential(*(GatedConv(4 * f, 4 * f, dilation=d) for d in dilations),
                                        GatedConv(4 * f, 4 * f))
        self.decoder = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"), GatedConv(4 * f, 2 * f), GatedConv(2 * f, 2 * f),
            nn.Upsample(scale_factor=2, mode="nearest"), GatedConv(2 * f, f), GatedConv(f, f // 2),
            nn.Conv2d(f // 2, 3, 3, padding=1),
        )
        for module in self.modules():
            if isinstance(module, nn.Conv2d):  # He init: PyTorch's default shrinks the signal
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")  # layer by layer, and
                nn.init.zeros_(module.bias)  # 14 gated layers deep, the gradients vanish
        # the correction starts near zero (an untrained model returns about the coarse fill), but
        # not at zero, which would stop every gradient from reaching the layers before it
        nn.init.normal_(self.decoder[-1].weight, std=1e-3)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = torch.cat([image - 0.5, mask], dim=1)  # centred input; the mask says what is a guess
        correction = self.decoder(self.bottleneck(self.encoder(x)))
        filled = torch.clamp(image + correction, 0.0, 1.0)
        return filled * mask + image * (1 - mask)


class PatchDiscriminator(nn.Module):
    """70×70 PatchGAN (Isola et al.): a real/fake score per overlapping patch, mask as 4th input."""

    def __init__(self, features: int = 64) -> None:
        super().__init__()
        f = features

        def block(cin: int, cout: int, stride: int) -> list[nn.Module]:
            return [nn.utils.parametrizations.spectral_norm(nn.Conv2d(cin, cout, 4, stride=stride, padding=1)),
                    nn.LeakyReLU(0.2, inplace=True)]

        self.net = nn.Sequential(*block(4, f, 2), *block(f, 2 * f, 2), *block(2 * f, 4 * f, 2),
                                 *block(4 * f, 8 * f, 1), nn.Conv2d(8 * f, 1, 4, padding=1))

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([image - 0.5, mask], dim=1))


def build(features: int = 24, dilations: list[int] | tuple[int, ...] = (2, 4, 8, 16)) -> GatedInpainter:
    """Model factory named in the TaskSpec; keyword arguments are the checkpoint's model_config."""
    return GatedInpainter(features, tuple(dilations))
