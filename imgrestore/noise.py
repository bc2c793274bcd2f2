"""Gaussian noise as users meet it, and noise-level estimation.

The protocol (training, tests and benchmarks all use it): Gaussian noise of standard deviation
sigma (on the 0..255 scale) is added in float to the clean 8-bit image, then the result is rounded
and clipped to 8 bits, as a camera or an image file would store it.
"""

from __future__ import annotations

import numpy as np


def add_gaussian_noise(clean: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Noisy uint8 copy of a uint8 image: float add, round, clip."""
    noisy = clean.astype(np.float64) + rng.standard_normal(clean.shape) * sigma
    return np.clip(np.round(noisy), 0, 255).astype(np.uint8)


def estimate_sigma(image: np.ndarray, patch: int = 7, stride: int = 3) -> float:
    """Noise standard deviation of an H×W(×C) float image (same units as the image).

    Chen, Zhu & Heng (ICCV 2015), "An Efficient Statistical Method for Image Noise Level
    Estimation": the covariance eigenvalues of image patches that belong to noise alone are the
    smallest ones and follow a known distribution, so the largest tail of eigenvalues whose mean
    equals their median is taken as the noise variance. It is far less fooled by texture than the
    wavelet median-absolute-deviation rule. Colour images are estimated per channel and averaged.
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 3:
        return float(np.mean([estimate_sigma(image[..., c], patch, stride) for c in range(image.shape[2])]))
    height, width = image.shape
    if height < patch or width < patch:
        return 0.0
    windows = np.lib.stride_tricks.sliding_window_view(image, (patch, patch))[::stride, ::stride]
    vectors = windows.reshape(-1, patch * patch)
    vectors = vectors - vectors.mean(axis=0, keepdims=True)
    covariance = vectors.T @ vectors / max(len(vectors) - 1, 1)
    eigenvalues = np.sort(np.clip(np.linalg.eigvalsh(covariance), 0, None))
    for count in range(len(eigenvalues), 0, -1):
        tail = eigenvalues[:count]
        if tail.mean() <= np.median(tail) * 1.0 + 1e-12 or count == 1:
            return float(np.sqrt(tail.mean()))
    return float(np.sqrt(eigenvalues[0]))
