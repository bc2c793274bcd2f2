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


# Median raw estimate (averaged over 20 Train400 gray crops and 10 Sun_Hays80 colour crops, i.e.
# training data only) at each nominal sigma. Clipping to 0..255 removes part of strong noise, so
# the raw estimate reads low at high sigma; the model was trained on the nominal sigma.
_RAW_ESTIMATE = (0.0, 10.66, 15.24, 24.70, 33.42, 44.95, 52.10)
_NOMINAL_SIGMA = (0.0, 10.0, 15.0, 25.0, 35.0, 50.0, 60.0)


def estimate_sigma(image: np.ndarray, calibrated: bool = True) -> float:
    """Noise sigma of an 8-bit-scale H×W(×C) image: the patch-PCA estimate, mapped to the nominal
    sigma of our noise protocol (see _RAW_ESTIMATE)."""
    raw = estimate_sigma_raw(image)
    if not calibrated:
        return raw
    if raw > _RAW_ESTIMATE[-1]:
        slope = (_NOMINAL_SIGMA[-1] - _NOMINAL_SIGMA[-2]) / (_RAW_ESTIMATE[-1] - _RAW_ESTIMATE[-2])
        return float(_NOMINAL_SIGMA[-1] + slope * (raw - _RAW_ESTIMATE[-1]))
    return float(np.interp(raw, _RAW_ESTIMATE, _NOMINAL_SIGMA))


MAX_PATCHES = 200_000


def estimate_sigma_raw(image: np.ndarray, patch: int = 7, stride: int = 3) -> float:
    """Noise standard deviation of an H×W(×C) float image (same units as the image).

    Chen, Zhu & Heng (ICCV 2015), "An Efficient Statistical Method for Image Noise Level
    Estimation": the covariance eigenvalues of image patches that belong to noise alone are the
    smallest ones and follow a known distribution, so the largest tail of eigenvalues whose mean
    equals their median is taken as the noise variance. It is far less fooled by texture than the
    wavelet median-absolute-deviation rule. Colour images are estimated per channel and averaged.
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 3:
        return float(np.mean([estimate_sigma_raw(image[..., c], patch, stride) for c in range(image.shape[2])]))
    height, width = image.shape
    if height < patch or width < patch:
        return 0.0
    # keep the patch matrix bounded on large photos: the estimate needs ~1e5 patches, not 1e7
    stride = max(stride, int(np.ceil(np.sqrt(height * width / MAX_PATCHES))))
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
