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


# Median raw estimate at each nominal sigma, per reading (see noise_reading), measured by
# tools/calibrate_noise.py on crops of training data only (Train400 for gray, Sun_Hays80 for
# colour). Clipping to 0..255 removes part of strong noise, so the raw estimate reads low at high
# sigma; the model was trained on the nominal sigma.
_NOMINAL_SIGMA = (0.0, 2.0, 5.0, 10.0, 15.0, 25.0, 35.0, 50.0, 60.0)
_RAW_ESTIMATE = {
    "gray": (0.33, 1.65, 4.77, 9.77, 14.7, 24.51, 34.07, 47.16, 55.07),
    "color": (0.37, 2.03, 4.86, 9.65, 14.28, 23.83, 32.29, 44.25, 51.66),
    "luma": (0.55, 1.36, 4.45, 9.49, 14.13, 24.11, 33.11, 47.8, 54.07),
}


def estimate_sigma(image: np.ndarray, calibrated: bool = True) -> float:
    """Noise sigma of an 8-bit-scale H×W(×C) image: the patch-PCA estimate, mapped to the nominal
    sigma of our noise protocol (see _RAW_ESTIMATE)."""
    kind, raw = noise_reading(image)
    if not calibrated:
        return raw
    table = _RAW_ESTIMATE[kind]
    if raw > table[-1]:
        slope = (_NOMINAL_SIGMA[-1] - _NOMINAL_SIGMA[-2]) / (table[-1] - table[-2])
        return float(_NOMINAL_SIGMA[-1] + slope * (raw - table[-1]))
    return float(np.interp(raw, table, _NOMINAL_SIGMA))


MAX_VALUES = 200_000 * 49
"""Patch values the estimate reads at most (200,000 gray patches, a third as many colour ones):
~80 MB however large the photo."""
SATURATED_SHARE = 0.25
"""Patches with this share of pixels at 0 or 255 are left out: clipping removed their noise."""
LUMA = np.array([0.299, 0.587, 0.114])
"""JPEG's luma weights (ITU-R BT.601): the channel a JPEG keeps at full resolution."""
LUMA_NOISE_GAIN = float(np.sqrt((LUMA**2).sum()))
"""Noise of sigma in each of R, G, B, independent, is noise of LUMA_NOISE_GAIN × sigma in luma."""
SUBSAMPLED_RATIO, SUBSAMPLED_LEAST = 2.0, 4.0
"""The luma reading is taken when it is over twice the joint one and over 4: a noisy 4:2:0 JPEG
reads 10-30 times more in luma, uncompressed noise reads alike both ways, and clean photos read
at most 3.2 in luma (every image of CBSD68, Kodak24 and McMaster; scikit-image's photos and
crops of them), which is fine detail and JPEG's own error, not noise to remove."""


def estimate_sigma_raw(image: np.ndarray) -> float:
    """Noise standard deviation of an H×W(×C) 8-bit-scale image, uncalibrated (noise_reading)."""
    return noise_reading(image)[1]


def noise_reading(image: np.ndarray, patch: int = 7, stride: int = 3) -> tuple[str, float]:
    """Which calibration table applies ("gray", "color" or "luma") and the raw noise standard
    deviation of an H×W(×C) 8-bit-scale image (same units as the image).

    Chen, Zhu & Heng (ICCV 2015), "An Efficient Statistical Method for Image Noise Level
    Estimation": the covariance eigenvalues of image patches that belong to noise alone are the
    smallest ones and follow a known distribution, so the largest tail of eigenvalues whose mean
    equals their median is taken as the noise variance. Flat and clipped patches (sky burnt to
    white, black borders) hold no noise to measure and are left out when enough others remain. A
    gray image's estimate is then refined on its weak-texture patches (_weak_texture_estimate).

    A colour patch holds all its channels (7×7×3 values): the channels of real texture move
    together, noise does not, so texture stays out of the noise tail (estimated per channel and
    averaged, a textured clean photo read as sigma 20 and was blurred). But a JPEG with the usual
    4:2:0 chroma subsampling has smoothed the colour difference of its noise away, so its
    channels' noise moves together too and the joint patches read sigma 20 as 1.5: the photo came
    back untouched. Its luma keeps the noise at full resolution, so the luma's gray estimate,
    scaled back by LUMA_NOISE_GAIN, is read as well, and taken when it is clearly the larger
    (SUBSAMPLED_RATIO); elsewhere the joint reading is the steadier one.
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 2 or image.shape[2] == 1:
        image = image.reshape(image.shape[0], image.shape[1], 1)
        return "gray", _patch_estimate(image, _clipped(image), patch, stride, weak_texture=True)
    joint, luma = colour_readings(image, patch, stride)
    if luma > SUBSAMPLED_LEAST and luma > SUBSAMPLED_RATIO * joint:
        return "luma", luma
    return "color", joint


def colour_readings(image: np.ndarray, patch: int = 7, stride: int = 3) -> tuple[float, float]:
    """The raw joint-patch and luma readings of an H×W×3 image (see noise_reading)."""
    image = np.asarray(image, dtype=np.float64)
    clipped = _clipped(image)
    joint = _patch_estimate(image, clipped, patch, stride, weak_texture=False)
    luma_image = (image @ LUMA)[:, :, None]
    # a luma pixel lost noise where any channel did (three ORs: .any(axis=2) took 0.16 s on 12 MP)
    luma_clipped = clipped[:, :, :1] | clipped[:, :, 1:2] | clipped[:, :, 2:3]
    return joint, _patch_estimate(luma_image, luma_clipped, patch, stride, weak_texture=True) / LUMA_NOISE_GAIN


def _clipped(image: np.ndarray) -> np.ndarray:
    """H×W×C: the values at 0 or 255 (their noise was clipped away, in part)."""
    return (image <= 0) | (image >= 255)


def _patch_estimate(image: np.ndarray, clipped: np.ndarray, patch: int, stride: int, weak_texture: bool) -> float:
    """The patch-PCA noise level of an H×W×C image whose values marked in `clipped` (H×W×C) lost
    part of their noise to clipping (see noise_reading)."""
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
    clipped_share = np.lib.stride_tricks.sliding_window_view(clipped, (patch, patch), axis=(0, 1))[::stride, ::stride]
    clipped_share = clipped_share.mean(axis=(2, 3, 4))
    informative = (clipped_share.reshape(-1) < SATURATED_SHARE) & (vectors.std(axis=1) > 0)
    if informative.sum() >= 4 * vectors.shape[1]:
        windows = windows.reshape(-1, channels, patch, patch)[informative]
        vectors = vectors[informative]
    sigma = _eigenvalue_tail(vectors)
    if not weak_texture:
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
