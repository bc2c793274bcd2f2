"""The coarse fill the inpainting network refines: OpenCV's Telea fast-marching inpainting.

Why a classical first pass: Telea propagates the colours at a hole's border smoothly inwards,
which is already a good low-frequency guess for wide holes that a small network trained on two
CPU cores cannot learn to match in its receptive field. The network then predicts a correction
on top of it (its last layer starts at zero, so an untrained model returns Telea exactly), and
spends its capacity on edges, texture and structure that continue across the hole.
Both inference (prepare) and training call this, so the network sees the same input in both.
"""

from __future__ import annotations

import cv2
import numpy as np

TELEA_RADIUS = 3
"""Neighbourhood of the fast-marching step: 3 px is ~2.5× faster than 5 and, as a start for
the network, as good (the benchmark's Telea baseline uses its own best radius)."""


def coarse_fill(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """image: 3×H×W float32 in 0..1; mask: 1×H×W (1 = fill). Returns 3×H×W float32: the image
    with its holes filled by Telea (computed on 8 bits; the known pixels are returned as given)."""
    hole = mask[0] > 0.5
    if not hole.any():
        return image.astype(np.float32, copy=True)
    pixels = np.clip(image.transpose(1, 2, 0) * 255 + 0.5, 0, 255).astype(np.uint8)
    pixels[hole] = 0  # what the hole held never reaches the fill
    filled = cv2.inpaint(np.ascontiguousarray(pixels), hole.astype(np.uint8), TELEA_RADIUS, cv2.INPAINT_TELEA)
    result = image.astype(np.float32, copy=True)
    result[:, hole] = filled[hole].T.astype(np.float32) / 255
    return result
