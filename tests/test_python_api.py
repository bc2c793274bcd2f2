"""imgrestore.run on the arrays ML code passes around: float images in 0..1, gray + alpha, and a
clear error for what it cannot take (integer types other than 8/16-bit, channels-first)."""

from __future__ import annotations

import numpy as np
import pytest

import imgrestore


def test_float_images_run_like_their_8_bit_twins(astronaut: np.ndarray) -> None:
    image = astronaut[:64, :64]
    reference = imgrestore.run("denoise", image, sigma=10).astype(np.float32) / 255
    for dtype in (np.float32, np.float64):
        out = imgrestore.run("denoise", image.astype(dtype) / 255, sigma=10)
        assert out.dtype == dtype and out.shape == image.shape
        assert np.abs(out - reference).max() <= 0.6 / 255  # the same result, without 8-bit rounding


def test_gray_with_alpha_keeps_its_alpha(astronaut: np.ndarray) -> None:
    image = np.dstack([astronaut[:64, :64, 0], np.full((64, 64), 200, np.uint8)])
    out = imgrestore.run("denoise", image, sigma=10)
    assert out.shape == (64, 64, 2) and np.all(out[:, :, 1] == 200)
    assert np.array_equal(out[:, :, 0], imgrestore.run("denoise", image[:, :, 0], sigma=10))


@pytest.mark.parametrize("bad,error,words", [
    (np.zeros((32, 32, 3), np.int32), TypeError, "dtype int32"),
    (np.zeros((3, 32, 32), np.uint8), ValueError, "shape (3, 32, 32)"),
])
def test_what_it_cannot_take_is_a_clear_error(bad: np.ndarray, error: type, words: str) -> None:
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        imgrestore.run("denoise", bad, sigma=10)
