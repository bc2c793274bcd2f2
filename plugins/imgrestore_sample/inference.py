"""Inference side of the sampling task (numpy only): which model, and its input."""

from __future__ import annotations

from typing import Any

import numpy as np

from imgrestore.runtime import ModelInfo

DEFAULT_MODEL = "dcgan-digits"


def select_model(options: dict[str, Any], picture: None = None) -> str:
    return DEFAULT_MODEL


def prepare(latents: np.ndarray, options: dict[str, Any], info: ModelInfo) -> dict[str, np.ndarray]:
    """N×latent_dim latents -> the model's inputs."""
    return {info.inputs[0].name: latents}
