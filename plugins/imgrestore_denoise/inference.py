"""Inference-side hooks of the denoise task (numpy only)."""

from __future__ import annotations

from typing import Any

import numpy as np

from imgrestore.images import Picture
from imgrestore.inference import image_input
from imgrestore.noise import estimate_sigma
from imgrestore.runtime import ModelInfo


def select_model(options: dict[str, Any], picture: Picture | None) -> str:
    """Gray pictures go to the gray model, everything else to the colour one. A gray picture
    stored as RGB (three equal channels, as many scanners and converters write them) is gray:
    the colour model was 2-5 dB worse on it and put colour into the output."""
    return "denoise-gray" if picture is not None and is_gray(picture.color) else "denoise-color"


def is_gray(color: np.ndarray) -> bool:
    return color.shape[2] == 1 or bool(np.array_equal(color[..., 0], color[..., 1])
                                       and np.array_equal(color[..., 1], color[..., 2]))


NOISE_FREE = 0.5
"""A noise level (8-bit levels) below which there is nothing to remove: the picture comes back as
it is. Such a picture has nothing to gain and something to lose: the first models, which saw few
training patches that clean, shifted saturated colours by up to 26 levels on clean photos (PSNR
38 dB against the input)."""


def prepare(picture: Picture, options: dict[str, Any], info: ModelInfo) -> dict[str, np.ndarray] | None:
    if info.channels == 1 and not is_gray(picture.color):  # only --model can pair them
        raise ValueError("the gray model would drop this image's colour: leave out --model (colour images get the "
                         "colour model), or convert the image to gray first")
    image = image_input(picture, info)
    sigma = options.get("sigma")
    if sigma is None:
        sigma = estimate_sigma(image.transpose(1, 2, 0) * 255.0)
    if sigma < NOISE_FREE:
        return None
    return {"image": image, "sigma": np.array([sigma / 255.0], dtype=np.float32)}
