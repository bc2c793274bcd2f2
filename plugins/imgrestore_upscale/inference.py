"""Inference-side hooks of the upscale task (numpy only)."""

from __future__ import annotations

from typing import Any

import numpy as np

from imgrestore.images import Picture
from imgrestore.inference import image_input
from imgrestore.runtime import ModelInfo

DEFAULT_SCALE = 4


def select_model(options: dict[str, Any], picture: Picture | None) -> str:
    return f"upscale-x{options.get('scale') or DEFAULT_SCALE}"


def check_model(options: dict[str, Any], info: ModelInfo) -> None:
    wanted = options.get("scale")
    if wanted is not None and int(wanted) != info.scale:
        raise ValueError(f"--scale {wanted} asked for, but the model enlarges ×{info.scale}")


def prepare(picture: Picture, options: dict[str, Any], info: ModelInfo) -> dict[str, np.ndarray]:
    """The RGB model enlarges gray pictures too (as R = G = B); the core turns them back to gray."""
    return {"image": image_input(picture, info)}
