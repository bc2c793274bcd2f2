"""MATLAB-compatible bicubic `imresize`, in numpy.

The super-resolution literature's low-resolution test images (Set5, Set14, ... "LR_bicubic") are
MATLAB's `imresize(HR, 1/s, 'bicubic')`, which antialiases when shrinking (the cubic kernel is
stretched by 1/scale) and mirrors the image at its borders. OpenCV's and Pillow's bicubic differ
from it by several gray levels, and a model trained on one degradation loses about a dB on the
other, so training, tests and benchmarks all degrade through this one function.

Like MATLAB, the dimension with the larger shrink is resized first (rows first on a tie), and
8/16-bit inputs are rounded back to their integer type after each pass.
"""

from __future__ import annotations

import math

import numpy as np


def cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5 (MATLAB's and the papers')."""
    absx = np.abs(x)
    absx2, absx3 = absx**2, absx**3
    return (1.5 * absx3 - 2.5 * absx2 + 1) * (absx <= 1) + (
        -0.5 * absx3 + 2.5 * absx2 - 4 * absx + 2
    ) * ((absx > 1) & (absx <= 2))


def contributions(in_length: int, out_length: int, scale: float, antialias: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Source indices (out_length × taps) and their weights for one dimension, as MATLAB's
    `contributions`: output pixel i (1-based) samples the input at u = i/scale + (1 - 1/scale)/2,
    borders mirrored (symmetric, edge pixel repeated)."""
    shrink = scale < 1 and antialias
    kernel_width = 4.0 / scale if shrink else 4.0
    x = np.arange(1, out_length + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - kernel_width / 2)
    taps = int(math.ceil(kernel_width)) + 2
    indices = left[:, None] + np.arange(taps)[None, :]
    distance = u[:, None] - indices
    weights = scale * cubic(scale * distance) if shrink else cubic(distance)
    weights /= weights.sum(axis=1, keepdims=True)
    mirror = np.concatenate([np.arange(in_length), np.arange(in_length - 1, -1, -1)])
    indices = mirror[np.mod(indices.astype(np.int64) - 1, 2 * in_length)]
    used = np.any(weights != 0, axis=0)  # drop all-zero tap columns, as MATLAB does
    return indices[:, used], weights[:, used]


def _resize_axis(image: np.ndarray, axis: int, out_length: int, scale: float, antialias: bool) -> np.ndarray:
    indices, weights = contributions(image.shape[axis], out_length, scale, antialias)
    moved = np.moveaxis(image, axis, 0).astype(np.float64, copy=False)
    result = np.zeros((out_length,) + moved.shape[1:], dtype=np.float64)
    extra = (slice(None),) + (None,) * (moved.ndim - 1)
    for tap in range(indices.shape[1]):
        result += weights[:, tap][extra] * moved[indices[:, tap]]
    return np.moveaxis(result, 0, axis)


def imresize(image: np.ndarray, scale: float | None = None, size: tuple[int, int] | None = None,
             antialias: bool = True) -> np.ndarray:
    """Resize H×W or H×W×C like MATLAB's `imresize(image, scale, 'bicubic')`.

    Give `scale` (output size ceil(scale × input)) or `size` (height, width). Integer images come
    back in their type, rounded and clipped after each dimension as MATLAB does; float images
    come back as float32, unclipped."""
    height, width = image.shape[:2]
    if size is None:
        if scale is None:
            raise ValueError("give scale or size")
        size = (int(math.ceil(height * scale)), int(math.ceil(width * scale)))
        scales = (float(scale), float(scale))
    else:
        scales = (size[0] / height, size[1] / width)
    integer = np.issubdtype(image.dtype, np.integer)
    limit = np.iinfo(image.dtype).max if integer else None
    result: np.ndarray = image
    for axis in sorted((0, 1), key=lambda a: scales[a]):
        result = _resize_axis(result, axis, size[axis], scales[axis], antialias)
        if integer:
            result = np.clip(np.round(result), 0, limit).astype(image.dtype)
    return result if integer else result.astype(np.float32)


def modcrop(image: np.ndarray, multiple: int) -> np.ndarray:
    """Crop bottom/right so height and width are multiples (the usual SR test protocol)."""
    height, width = image.shape[:2]
    return image[: height - height % multiple, : width - width % multiple]


def rgb_to_y(image: np.ndarray) -> np.ndarray:
    """MATLAB `rgb2ycbcr` luma (BT.601, 16..235) from RGB on the 0..255 scale, as float64; the
    Y-PSNR of the super-resolution literature is computed on this."""
    image = image.astype(np.float64)
    return 16.0 + (65.481 * image[..., 0] + 128.553 * image[..., 1] + 24.966 * image[..., 2]) / 255.0
