"""ONNX export of one direction of a CycleGAN pair (`--direction a2b|b2a`).

The generator is fully convolutional, so the graph takes any height and width (padded by the
runtime to a multiple of 2^downsamplings). Large images are tiled like every other task's, with
one caveat the metadata cannot hide: instance normalisation takes its statistics from the whole
input, so a tile is normalised by its own statistics, not the image's. The runtime's tiles are
large (1024 px on CPU, 2048 on a GPU), which keeps those statistics close to the image's, and
the overlap (4 receptive radii) is blended, so no seam shows on photos; below a tile's size the
result is exact.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from imgrestore.export import ExportSpec
from imgrestore.runtime import InputInfo, ModelInfo
from imgrestore_translate.networks import receptive_radius


def export_spec(model: nn.Module, model_config: dict[str, Any], options: dict[str, Any]) -> ExportSpec:
    direction = options.get("direction") or "a2b"
    channels, downsamplings = model_config["channels"], model_config["downsamplings"]
    return ExportSpec(
        example={"image": torch.rand(2, channels, 64, 64)},
        info=ModelInfo(
            task="translate",
            inputs=(InputInfo("image", "image"),),
            output="translated",
            channels=channels,
            size_multiple=2 ** downsamplings,
            receptive_radius=receptive_radius(model_config["blocks"], downsamplings),
            extra={"direction": direction, "model_config": model_config},
        ),
        module=model.direction(direction),  # type: ignore[operator]
    )
