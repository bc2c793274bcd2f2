"""ONNX export of a fast style network.

Fully convolutional, so any height and width (padded by the runtime to a multiple of 4). Large
photos are tiled like every other task's, with the instance-normalisation caveat of
imgrestore_translate.export: a tile is normalised by its own statistics. The runtime's tiles
are large (1024 px on CPU) and overlap by 2 receptive radii, blended; below a tile the result is
exact. Measured seams on a 4000×3000 photo: tests/test_stylize.py.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from imgrestore.export import ExportSpec
from imgrestore.runtime import InputInfo, ModelInfo
from imgrestore_stylize.networks import SIZE_MULTIPLE, receptive_radius


def export_spec(model: nn.Module, model_config: dict[str, Any], options: dict[str, Any]) -> ExportSpec:
    return ExportSpec(
        example={"image": torch.rand(2, 3, 64, 64)},
        info=ModelInfo(task="stylize", inputs=(InputInfo("image", "image"),), output="stylized", channels=3,
                       size_multiple=SIZE_MULTIPLE, receptive_radius=receptive_radius(model_config["blocks"]),
                       extra={"model_config": model_config}),
    )
