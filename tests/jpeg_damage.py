"""JPEG files for the tests of damaged data: encoded with OpenCV, then damaged reproducibly."""

from __future__ import annotations

import cv2
import numpy as np


def encode_jpeg(pixels: np.ndarray) -> bytes:
    """H×W or H×W×3 (BGR) uint8 as JPEG bytes, quality 90."""
    return cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()


def damage_jpeg(data: bytes, seed: int = 0) -> bytes:
    """The file with up to 20 bytes of its entropy-coded data overwritten, none of them a 0xFF or
    the byte after one and none made 0xFF: no marker is made or lost, so the structure stays
    whole and the end marker is reached."""
    damaged = bytearray(data)
    rng = np.random.default_rng(seed)
    for position in rng.integers(len(data) // 3, 2 * len(data) // 3, 20):
        if 0xFF not in (damaged[position - 1], damaged[position], damaged[position] ^ 0x55):
            damaged[position] ^= 0x55
    return bytes(damaged)
