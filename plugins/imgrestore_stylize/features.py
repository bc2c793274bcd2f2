"""The fixed feature network of the perceptual losses: VGG16's convolution trunk up to relu4_3.

Style and content are measured on its activations (Gatys et al.; Johnson et al.), so the network
only has to be a good, fixed image encoder; which VGG16 it is can change:

  - torchvision's ImageNet VGG16, used when its weights are already in the local torch cache
    (`torch.hub.get_dir()/checkpoints/vgg16-397923af.pth`); never downloaded here;
  - a file given with `--features PATH`:
      *.npz  13 conv layers named like torchvision's `features.N.weight/bias`, Caffe convention
             (BGR, 0..255 minus the channel means), e.g. ../shared/data/features/vgg16_hed.npz,
             the VGG16 trunk of the HED edge detector (fine-tuned from ImageNet);
      *.pth  a torchvision state dict (`features.N.*` keys, with or without the prefix),
             torchvision convention (RGB, 0..1, ImageNet mean/std).

Images enter in RGB 0..1 whatever the file; the input convention lives inside the module (the
Caffe file's first convolution is flipped to RGB at load time), so losses never care.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

# torchvision's vgg16().features indices: convolutions, and the ReLUs whose outputs we read
CONVOLUTIONS = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21)  # conv1_1 .. conv4_3
POOLS_AFTER = (2, 7, 14)  # a 2×2 max-pool follows conv1_2, conv2_2, conv3_3
LAYER_NAMES = ("relu1_1", "relu1_2", "relu2_1", "relu2_2", "relu3_1", "relu3_2", "relu3_3",
               "relu4_1", "relu4_2", "relu4_3")
CHANNELS = (64, 64, 128, 128, 256, 256, 256, 512, 512, 512)
TORCHVISION_FILE = "vgg16-397923af.pth"
CAFFE_MEANS_RGB = (122.67892, 116.66877, 104.00699)
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


class FeatureNetworkMissing(FileNotFoundError):
    """No feature network: the message says what to provide."""


class VGGFeatures(nn.Module):
    """VGG16 up to relu4_3, frozen. forward(image RGB 0..1) -> {layer name: activation} for the
    layers asked for at construction (the trunk stops after the deepest one)."""

    def __init__(self, weights: dict[str, torch.Tensor], convention: str, layers: tuple[str, ...]) -> None:
        super().__init__()
        if convention not in ("caffe", "torchvision"):
            raise ValueError(f"unknown input convention {convention!r}")
        self.layers = tuple(layers)
        depth = max(LAYER_NAMES.index(name) for name in layers) + 1
        self.convs = nn.ModuleList()
        in_channels = 3
        for position in range(depth):
            index = CONVOLUTIONS[position]
            conv = nn.Conv2d(in_channels, CHANNELS[position], 3, padding=1)
            weight = weights[f"features.{index}.weight"]
            if position == 0 and convention == "caffe":
                weight = weight.flip(1)  # BGR -> RGB input channels
            conv.weight.data.copy_(weight)
            conv.bias.data.copy_(weights[f"features.{index}.bias"])
            self.convs.append(conv)
            in_channels = CHANNELS[position]
        if convention == "caffe":
            scale, shift = [255.0] * 3, [-m for m in CAFFE_MEANS_RGB]
        else:
            scale = [1 / s for s in IMAGENET_STD]
            shift = [-m / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD)]
        self.register_buffer("scale", torch.tensor(scale).view(1, 3, 1, 1))
        self.register_buffer("shift", torch.tensor(shift).view(1, 3, 1, 1))
        self.pool = nn.MaxPool2d(2, 2, ceil_mode=True)  # Keras 'same' pooling; = floor on even sizes
        self.requires_grad_(False)
        self.eval()

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        x = image * self.scale + self.shift
        found = {}
        for position, conv in enumerate(self.convs):
            x = torch.relu(conv(x))
            name = LAYER_NAMES[position]
            if name in self.layers:
                found[name] = x
            if CONVOLUTIONS[position] in POOLS_AFTER and position + 1 < len(self.convs):
                x = self.pool(x)
        return found


def torchvision_cache_file() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / TORCHVISION_FILE


def load_weights(path: str | Path | None) -> tuple[dict[str, torch.Tensor], str]:
    """(state dict with `features.N.*` keys, input convention) of the feature network at `path`,
    or of torchvision's cached ImageNet VGG16 when `path` is None."""
    if path is None:
        cached = torchvision_cache_file()
        if not cached.is_file():
            raise FeatureNetworkMissing(
                "no feature network: style losses need VGG16 weights. Give --features PATH (a torchvision "
                f"VGG16 state dict .pth, or a Caffe-convention .npz such as ../shared/data/features/vgg16_hed.npz), "
                f"or put torchvision's ImageNet VGG16 at {cached} (nothing is downloaded)")
        path = cached
    path = Path(path)
    if not path.is_file():
        raise FeatureNetworkMissing(f"feature network not found: {path}")
    try:
        if path.suffix.lower() == ".npz":
            with np.load(path) as archive:
                weights = {key: torch.from_numpy(archive[key].astype(np.float32)) for key in archive.files}
            convention = "caffe"
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
            weights = {(key if key.startswith("features.") else f"features.{key}"): value.float()
                       for key, value in state.items() if not key.startswith("classifier.")}
            convention = "torchvision"
    except Exception as error:  # not a zip, a pickle of a whole module, text: say what is expected
        raise FeatureNetworkMissing(
            f"{path} is not a VGG16 feature file (a .npz of features.N.weight/bias arrays, or a torchvision "
            f"VGG16 state dict .pth): {type(error).__name__}: {str(error)[:200]}") from None
    missing = [f"features.{i}.{kind}" for i in CONVOLUTIONS for kind in ("weight", "bias")
               if f"features.{i}.{kind}" not in weights]
    if missing:
        raise ValueError(f"{path} is not a VGG16 trunk: missing {', '.join(missing[:3])}"
                         + (" ..." if len(missing) > 3 else ""))
    return weights, convention


def feature_network(path: str | Path | None, layers: tuple[str, ...]) -> VGGFeatures:
    weights, convention = load_weights(path)
    return VGGFeatures(weights, convention, layers)
