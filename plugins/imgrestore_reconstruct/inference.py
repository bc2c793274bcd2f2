"""Inference-side hooks of the reconstruct task (numpy only)."""

from __future__ import annotations

from typing import Any

import numpy as np

from imgrestore.images import Picture
from imgrestore.inference import image_input, mask_input
from imgrestore.mask_inputs import MaskError
from imgrestore.noise import estimate_sigma
from imgrestore.runtime import ModelInfo


def select_model(options: dict[str, Any], picture: Picture | None) -> str:
    return f"reconstruct-{options.get('mode') or 'denoise'}"


def check_model(options: dict[str, Any], info: ModelInfo) -> None:
    """--mode against a --model that codes the other way (fill was silently run as denoise)."""
    wanted, made = options.get("mode"), info.extra.get("mode")
    if wanted is not None and made is not None and wanted != made:
        raise ValueError(f"--mode {wanted} asked for, but the model is a {made} model")


def prepare(picture: Picture, options: dict[str, Any], info: ModelInfo) -> dict[str, np.ndarray]:
    """Every channel is coded on its own (the model takes any channel count)."""
    image = image_input(picture, info)
    if info.input("mask") is not None:
        return {"image": image, "mask": mask_input(picture)}
    if picture.mask is not None:  # the core would copy the noisy pixels back outside the mask
        raise MaskError("masks are for --mode fill; --mode denoise works on the whole image")
    sigma = options.get("sigma")
    if sigma is None:
        sigma = estimate_sigma(image.transpose(1, 2, 0) * 255.0)
    return {"image": image, "sigma": np.array([sigma / 255.0], dtype=np.float32)}
