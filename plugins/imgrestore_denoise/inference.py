"""Inference-side hooks of the denoise task (numpy only)."""

from __future__ import annotations

from typing import Any

import numpy as np

from imgrestore.images import Picture
from imgrestore.inference import image_input
from imgrestore.noise import estimate_sigma
from imgrestore.runtime import ModelInfo


def select_model(options: dict[str, Any], picture: Picture | None) -> str:
    """Gray pictures go to the gray model, everything else to the colour one."""
    return "denoise-gray" if picture is not None and picture.channels == 1 else "denoise-color"


def prepare(picture: Picture, options: dict[str, Any], info: ModelInfo) -> dict[str, np.ndarray]:
    image = image_input(picture, info)
    sigma = options.get("sigma")
    if sigma is None:
        sigma = estimate_sigma(image.transpose(1, 2, 0) * 255.0)
    return {"image": image, "sigma": np.array([sigma / 255.0], dtype=np.float32)}
