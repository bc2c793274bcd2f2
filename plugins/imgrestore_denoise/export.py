"""What `imgrestore export denoise` needs to know beyond the network itself."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from imgrestore.export import ExportSpec
from imgrestore.runtime import InputInfo, ModelInfo


def export_spec(model: nn.Module, model_config: dict[str, Any], options: dict[str, Any]) -> ExportSpec:
    channels = model_config["channels"]
    return ExportSpec(
        example={"image": torch.rand(2, channels, 64, 64), "sigma": torch.full((2, 1), 25 / 255)},
        info=ModelInfo(
            task="denoise",
            inputs=(InputInfo("image", "image"), InputInfo("sigma", "scalar")),
            output="denoised",
            channels=channels,
            size_multiple=2,
            # each 3×3 convolution at half resolution widens the view by 2 pixels on each side
            receptive_radius=2 * model_config["depth"] + 2,
            extra={"sigma_units": "sigma / 255", "model_config": model_config},
        ),
    )
