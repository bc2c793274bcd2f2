"""What `imgrestore export reconstruct` needs to know beyond the network itself."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from imgrestore.export import ExportSpec
from imgrestore.runtime import InputInfo, ModelInfo


def export_spec(model: nn.Module, model_config: dict[str, Any], options: dict[str, Any]) -> ExportSpec:
    """The stride is the export's choice (the weights do not depend on it): 1 codes every patch."""
    stride = options.get("stride", 2)
    if not 1 <= stride <= model.patch:
        raise ValueError(f"--stride must be between 1 and the patch side {model.patch}")
    model.stride = stride
    model_config = {**model_config, "stride": stride}
    generator = torch.Generator().manual_seed(0)
    side = stride * -(-64 // stride)  # a multiple of the stride, as the exported shape says every input is
    image = torch.rand(2, 2, side, side, generator=generator)  # 2 channels: torch.export fixes a size-1 dim
    if model.mode == "denoise":
        example = {"image": image, "sigma": torch.full((2, 1), 25 / 255)}
        inputs = (InputInfo("image", "image"), InputInfo("sigma", "scalar"))
    else:
        example = {"image": image, "mask": (torch.rand(2, 1, side, side, generator=generator) > 0.5).float()}
        inputs = (InputInfo("image", "image"), InputInfo("mask", "mask"))
    return ExportSpec(
        example=example,
        info=ModelInfo(
            task="reconstruct",
            inputs=inputs,
            output="reconstructed",
            channels=0,  # every channel is coded on its own
            receptive_radius=model.patch - 1,
            # patches are cut on a stride grid from (0, 0): tiles and hole crops must start on it,
            # or a tile at an odd offset codes other patches than the whole image does
            size_multiple=stride,
            extra={"mode": model.mode, "sigma_units": "sigma / 255", "model_config": model_config},
        ),
    )
