"""ONNX export of a sampling network: latent batch in, N×C×H×W images in 0..1 out."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from imgrestore.export import ExportSpec
from imgrestore.runtime import InputInfo, ModelInfo


def export_spec(model: nn.Module, model_config: dict[str, Any], options: dict[str, Any]) -> ExportSpec:
    kind = model_config["kind"]
    if kind == "classifier":
        raise ValueError("the classifier is an evaluator, not a sampling model: nothing to export")
    latent_dim = model_config["latent_dim"]
    return ExportSpec(
        example={"latent": torch.randn(2, latent_dim)},
        info=ModelInfo(task="sample", inputs=(InputInfo("latent", "latent"),), output="image",
                       channels=model_config["channels"], receptive_radius=0,
                       extra={"kind": kind, "latent_dim": latent_dim, "size": model_config["size"]}),
    )
