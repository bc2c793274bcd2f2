"""Inference-side hooks of the inpaint task (numpy only)."""

from __future__ import annotations

from typing import Any

import numpy as np

from imgrestore.images import Picture
from imgrestore.inference import image_input, mask_input
from imgrestore.runtime import ModelInfo


def select_model(options: dict[str, Any], picture: Picture | None) -> str:
    return "inpaint"


def prepare(picture: Picture, options: dict[str, Any], info: ModelInfo) -> dict[str, np.ndarray]:
    """The hole pixels are zeroed here, so no model (ours or a user's) ever sees what they held."""
    mask = mask_input(picture)
    return {"image": image_input(picture, info) * (1 - mask), "mask": mask}
