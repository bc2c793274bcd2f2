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


# Median raw estimate at each nominal sigma, gray and colour (their patches differ: 49 values,
# 147), measured by tools/calibrate_noise.py on crops of training data only (Train400 for gray,
# Sun_Hays80 for colour). Clipping to 0..255 removes part of strong noise, so the raw estimate
# reads low at high sigma; the model was trained on the nominal sigma.
_NOMINAL_SIGMA = (0.0, 2.0, 5.0, 10.0, 15.0, 25.0, 35.0, 50.0, 60.0)
_RAW_ESTIMATE = {
    "gray": (0.33, 1.65, 4.77, 9.77, 14.7, 24.51, 34.07, 47.16, 55.07),
    "color": (0.37, 2.03, 4.86, 9.65, 14.28, 23.83, 32.29, 44.25, 51.66),
}


def estimate_sigma(image: np.ndarray, calibrated: bool = True) -> float:
    """Noise sigma of an 8-bit-scale H×W(×C) image: the patch-PCA estimate, mapped to the nominal
    sigma of our noise protocol (see _RAW_ESTIMATE)."""
    raw = estimate_sigma_raw(image)
    if not calibrated:
        return raw
    table = _RAW_ESTIMATE["color" if np.ndim(image) == 3 and np.shape(image)[2] > 1 else "gray"]
    if raw > table[-1]:
        slope = (_NOMINAL_SIGMA[-1] - _NOMINAL_SIGMA[-2]) / (table[-1] - table[-2])
        return float(_NOMINAL_SIGMA[-1] + slope * (raw - table[-1]))
    return float(np.interp(raw, table, _NOMINAL_SIGMA))


MAX_VALUES = 200_000 * 49
"""Patch values the estimate reads at most (200,000 gray patches, a third as many colour ones):
~80 MB however large the photo."""
SATURATED_SHARE = 0.25
"""Patches with this share of pixels at 0 or 255 are left out: clipping removed their noise."""


def estimate_sigma_raw(image: np.ndarray, patch: int = 7, stride: int = 3) -> float:
    """Noise standard deviation of an H×W(×C) 8-bit-scale image (same units as the image).

    Chen, Zhu & Heng (ICCV 2015), "An Efficient Statistical Method for Image Noise Level
    Estimation": the covariance eigenvalues of image patches that belong to noise alone are the
    smallest ones and follow a known distribution, so the largest tail of eigenvalues whose mean
    equals their median is taken as the noise variance. A colour patch holds all its channels
    (7×7×3 values): the channels of real texture move together, noise does not, so texture stays
    out of the tail. Estimated per channel and averaged, a textured clean photo read as sigma 20
    and was blurred. Flat and clipped patches (sky burnt to white, black borders) hold no noise
    to measure and are left out when enough others remain. A gray image's estimate is then
    refined on its weak-texture patches (_weak_texture_estimate).
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 2:
        image = image[:, :, None]
    height, width, channels = image.shape
    if height < patch or width < patch:
        return 0.0
    # keep the patch matrix bounded on large photos: the estimate needs ~1e5 patches, not 1e7
    most_patches = MAX_VALUES // (channels * patch * patch)
    stride = max(stride, int(np.ceil(np.sqrt(height * width / most_patches))))
    if (height - patch) // stride * ((width - patch) // stride) < 20 * channels * patch * patch:
        stride = 1  # a small image: every patch it has
    windows = np.lib.stride_tricks.sliding_window_view(image, (patch, patch), axis=(0, 1))[::stride, ::stride]
    vectors = windows.reshape(-1, channels * patch * patch)
    informative = (((vectors <= 0) | (vectors >= 255)).mean(axis=1) < SATURATED_SHARE) & (vectors.std(axis=1) > 0)
    if informative.sum() >= 4 * vectors.shape[1]:
        windows = windows.reshape(-1, channels, patch, patch)[informative]
        vectors = vectors[informative]
    sigma = _eigenvalue_tail(vectors)
    if channels > 1:
        return sigma
    return _weak_texture_estimate(windows.reshape(-1, patch, patch), vectors, sigma)


WEAK_TEXTURE_CONFIDENCE = 0.99
WEAK_TEXTURE_ROUNDS = 8


def _weak_texture_estimate(patches: np.ndarray, vectors: np.ndarray, sigma: float) -> float:
    """Liu, Tanaka & Okutomi (2013), "Single-image noise level estimation for blind denoising":
    a gray patch's gradient energy (sum of squared horizontal and vertical differences) is, for
    noise alone, Gamma-distributed with a scale proportional to sigma². Patches above that
    distribution's 99th percentile hold texture; the estimate is redone on the others, and the
    threshold with it, until it settles. A gray 7×7 patch has too few values for the eigenvalue
    tail alone to keep texture out (clean BSD68 photos read up to sigma 20, sigma 2 read 5.7 in
    the median); colour patches already do (estimate_sigma_raw), and this step made them worse."""
    size = patches.shape[-1]
    energy = (np.diff(patches, axis=1) ** 2).sum(axis=(1, 2)) + (np.diff(patches, axis=2) ** 2).sum(axis=(1, 2))
    values = size * size
    threshold = _gamma_quantile(WEAK_TEXTURE_CONFIDENCE, shape=values / 2, scale=8 * size * (size - 1) / values)
    for _ in range(WEAK_TEXTURE_ROUNDS):
        weak = energy < sigma**2 * threshold
        if weak.sum() <= values:  # too few patches to estimate a covariance: keep what we have
            break
        settled, sigma = sigma, _eigenvalue_tail(vectors[weak])
        if abs(settled - sigma) < 1e-3:
            break
    return sigma


def _gamma_quantile(probability: float, shape: float, scale: float) -> float:
    """The Wilson-Hilferty approximation (within 0.03% of the exact quantile for the shapes used
    here), so the estimate needs no scipy."""
    z = {0.99: 2.3263478740408408, 0.95: 1.6448536269514722}[probability]
    return shape * scale * (1 - 1 / (9 * shape) + z * np.sqrt(1 / (9 * shape))) ** 3


def _eigenvalue_tail(vectors: np.ndarray) -> float:
    """Chen et al.'s noise level: the largest tail of the patch covariance's eigenvalues whose
    mean equals its median."""
    vectors = vectors - vectors.mean(axis=0, keepdims=True)
    covariance = vectors.T @ vectors / max(len(vectors) - 1, 1)
    eigenvalues = np.sort(np.clip(np.linalg.eigvalsh(covariance), 0, None))
    for count in range(len(eigenvalues), 0, -1):
        tail = eigenvalues[:count]
        if tail.mean() <= np.median(tail) + 1e-12 or count == 1:
            return float(np.sqrt(tail.mean()))
    return float(np.sqrt(eigenvalues[0]))
