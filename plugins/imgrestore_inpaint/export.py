"""What `imgrestore export inpaint` needs to know beyond the network itself."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from imgrestore.export import ExportSpec
from imgrestore.runtime import InputInfo, ModelInfo


def export_spec(model: nn.Module, model_config: dict[str, Any], options: dict[str, Any]) -> ExportSpec:
    generator = torch.Generator().manual_seed(0)
    return ExportSpec(
        example={"image": torch.rand(2, 3, 64, 64, generator=generator),
                 "mask": (torch.rand(2, 1, 64, 64, generator=generator) > 0.7).float()},
        info=ModelInfo(
            task="inpaint",
            inputs=(InputInfo("image", "image"), InputInfo("mask", "mask")),
            output="filled",
            channels=3,
            size_multiple=4,
            # two stride-2 stages, then dilations 2+4+8+16 at quarter resolution: ~130 px of context
            receptive_radius=136,
            extra={"model_config": model_config},
        ),
    )
