"""What `imgrestore export upscale` needs to know beyond the network itself."""

from __future__ import annotations

from typing import Any

import torch

from imgrestore.export import ExportSpec
from imgrestore.runtime import InputInfo, ModelInfo

from imgrestore_upscale.model import SubPixelUpscaler


def export_spec(model: SubPixelUpscaler, model_config: dict[str, Any], options: dict[str, Any]) -> ExportSpec:
    """One scale per ONNX file: the body and that scale's tail (`--scale`)."""
    scale = options.get("scale")
    if scale is None:
        if len(model.scales) > 1:
            raise ValueError(f"this checkpoint has scales {model.scales}: choose one with --scale")
        scale = model.scales[0]
    model.use_scale(int(scale))
    return ExportSpec(
        example={"image": torch.rand(2, model.channels, 40, 48)},
        info=ModelInfo(
            task="upscale",
            inputs=(InputInfo("image", "image"),),
            output="upscaled",
            channels=model.channels,
            scale=int(scale),
            size_multiple=1,
            # head, body and tail are 3×3 convolutions at input resolution: one pixel each
            receptive_radius=model_config["depth"] + 2,
            extra={"model_config": {**model_config, "scales": [int(scale)]}},
        ),
    )
