"""Inference side of the stylize task: which model, its input, the strength blend, and the
optimisation method's engine. Numpy only, except --method optimize (which imports torch)."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from imgrestore.images import Picture, to_color_mode
from imgrestore.inference import image_input
from imgrestore.runtime import ModelInfo
from imgrestore_stylize import STYLES
from imgrestore_stylize.images import fit_long_side


def select_model(options: dict[str, Any], picture: Picture | None) -> str:
    """--style: a shipped style ("starry-night", which the core finds as the model
    "stylize-starry-night"), or the manifest name of another stylize model."""
    return options.get("style") or STYLES[0]


def prepare(picture: Picture, options: dict[str, Any], info: ModelInfo) -> dict[str, np.ndarray] | None:
    """The picture as the model's input, shrunk to --working-size on its long side when given
    (strokes are learned at a fixed pixel size: on a 12-megapixel photo they are tiny). None at
    --strength 0: the input is the answer, and the file itself is written (a JPEG is not
    re-encoded)."""
    if float(options.get("strength", 1.0)) <= 0:
        return None
    image = image_input(picture, info)
    size = options.get("working_size")
    if size and max(image.shape[1:]) > size:
        image = fit_long_side(image.transpose(1, 2, 0), int(size)).transpose(2, 0, 1)
    return {"image": np.ascontiguousarray(image)}


def finish(output: np.ndarray, picture: Picture, options: dict[str, Any]) -> np.ndarray:
    """Back to the picture's size (bicubic, when --working-size shrank it), then
    strength·stylized + (1 − strength)·input, in the output's colour mode; strength 0 gives the
    input's own samples back exactly."""
    height, width = picture.size
    if output.shape[:2] != (height, width):
        output = np.clip(cv2.resize(output, (width, height), interpolation=cv2.INTER_CUBIC), 0, 1)
        output = output.reshape(height, width, -1)
    strength = float(options.get("strength", 1.0))
    if strength >= 1:
        return output
    original = picture.color_float()
    if original.shape[2] != output.shape[2]:
        original = to_color_mode(original, "gray" if output.shape[2] == 1 else "rgb")
    if strength <= 0:
        return original
    return strength * output + (1 - strength) * original


OPTIMIZE_DEFAULTS = {"style_image": None, "features": None, "iterations": 300, "optimize_size": 512,
                     "style_size": 256, "content_weight": None, "style_weight": None, "tv_weight": None, "threads": 0}
"""Options only --method optimize reads, at their defaults: the fast method refuses others (a
network's style weight was fixed when it was trained; --style-weight 50 had changed nothing)."""


def engine(options: dict[str, Any], device: str) -> Any:
    """None for the fast networks (the task's ONNX models); for --method optimize, what builds the
    optimisation engine. An option of the other method is refused, not ignored: a --style-image given
    without --method optimize silently rendered Starry Night."""
    if options.get("method") != "optimize":
        given = [name for name, default in OPTIMIZE_DEFAULTS.items() if options.get(name, default) != default]
        if given:
            flags = ", ".join("--" + name.replace("_", "-") for name in given)
            raise ValueError(f"{flags}: for --method optimize (the fast method renders --style with its network)")
        return None
    if options.get("style") is not None:
        raise ValueError("--style names a fast network: --method optimize takes the painting as --style-image")
    from imgrestore_stylize.optimize import OptimizeEngine

    return lambda: OptimizeEngine(options, device)
