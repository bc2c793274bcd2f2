"""Inference-side hooks of the inpaint task (numpy only)."""

from __future__ import annotations

from typing import Any

import numpy as np

from imgrestore.images import Picture
from imgrestore.inference import image_input, mask_input
from imgrestore.runtime import ModelInfo

from imgrestore_inpaint.coarse import coarse_fill


def select_model(options: dict[str, Any], picture: Picture | None) -> str:
    return "inpaint"


def prepare(picture: Picture, options: dict[str, Any], info: ModelInfo) -> dict[str, np.ndarray]:
    """The holes arrive pre-filled by Telea (imgrestore_inpaint.coarse), which the network
    refines; what the hole pixels held is discarded before that, so no model ever sees it."""
    mask = mask_input(picture)
    return {"image": coarse_fill(image_input(picture, info), mask), "mask": mask}
