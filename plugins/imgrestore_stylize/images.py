"""Images for the losses: a style image at the size its strokes should have, content at a working size."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from imgrestore.images import read_image, to_color_mode


def fit_long_side(image: np.ndarray, size: int | None) -> np.ndarray:
    """An H×W×C image shrunk (area filter) so its long side is at most `size`; never enlarged."""
    height, width = image.shape[:2]
    if not size or max(height, width) <= size:
        return image
    factor = size / max(height, width)
    shape = (max(1, round(width * factor)), max(1, round(height * factor)))
    resized = cv2.resize(image, shape, interpolation=cv2.INTER_AREA)
    return resized.reshape(shape[1], shape[0], image.shape[2])


def read_rgb(path: str | Path, size: int | None = None) -> np.ndarray:
    """H×W×3 float32 0..1 (gray expanded, alpha dropped), long side at most `size`."""
    picture = read_image(path)
    return fit_long_side(to_color_mode(picture.color_float(), "rgb"), size)


def as_batch(image: np.ndarray) -> "np.ndarray":
    """H×W×3 -> 1×3×H×W float32, contiguous (for torch.from_numpy)."""
    return np.ascontiguousarray(image.transpose(2, 0, 1)[None], dtype=np.float32)
