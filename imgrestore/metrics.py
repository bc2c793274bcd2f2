"""Image quality metrics (numpy only, so benchmarks and inference-side tools need no torch)."""

from __future__ import annotations

import cv2
import numpy as np


def psnr(predicted: np.ndarray, reference: np.ndarray, data_range: float = 255.0) -> float:
    """Peak signal-to-noise ratio in dB over all samples."""
    error = np.mean((np.asarray(predicted, np.float64) - np.asarray(reference, np.float64)) ** 2)
    if error == 0:
        return float("inf")
    return float(10.0 * np.log10(data_range**2 / error))


def ssim(predicted: np.ndarray, reference: np.ndarray, data_range: float = 255.0) -> float:
    """SSIM of Wang et al. (2004): 11×11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03.

    H×W or H×W×C arrays; colour SSIM is the mean over channels (as scikit-image's channel_axis=-1).
    """
    x = np.asarray(predicted, np.float64)
    y = np.asarray(reference, np.float64)
    if x.ndim == 3:
        return float(np.mean([ssim(x[..., c], y[..., c], data_range) for c in range(x.shape[2])]))
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2

    def blur(a: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(a, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    numerator = (2 * mu_x * mu_y + c1) * (2 * cov + c2)
    denominator = (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    ssim_map = numerator / denominator
    pad = 5  # skip the border where the window is not full, as scikit-image does
    return float(ssim_map[pad:-pad, pad:-pad].mean())
