"""Noise protocol and noise-level estimation (on scikit-image photos, never our test sets)."""

from __future__ import annotations

import numpy as np
import pytest

from imgrestore.noise import add_gaussian_noise, estimate_sigma


def test_protocol_rounds_and_clips_to_8_bit(camera: np.ndarray) -> None:
    noisy = add_gaussian_noise(camera, 25, np.random.default_rng(0))
    assert noisy.dtype == np.uint8 and noisy.shape == camera.shape
    residual = noisy.astype(float) - camera
    assert 22 < residual.std() < 25.5  # clipping at 0 and 255 removes a little of the noise
    again = add_gaussian_noise(camera, 25, np.random.default_rng(0))
    np.testing.assert_array_equal(noisy, again)


@pytest.mark.parametrize("sigma", [10, 15, 25, 35, 50])
@pytest.mark.parametrize("name", ["camera", "astronaut", "coffee"])
def test_estimate_within_fifteen_percent(request: pytest.FixtureRequest, name: str, sigma: float) -> None:
    clean = request.getfixturevalue(name)
    noisy = add_gaussian_noise(clean, sigma, np.random.default_rng(sigma))
    estimate = estimate_sigma(noisy.astype(np.float64))
    assert abs(estimate - sigma) <= 0.15 * sigma, estimate


def test_large_image_is_subsampled_not_copied(coffee: np.ndarray) -> None:
    big = np.tile(coffee, (8, 8, 1))  # 3200×4800
    noisy = add_gaussian_noise(big, 20, np.random.default_rng(0))
    assert abs(estimate_sigma(noisy.astype(np.float64)) - 20) < 3
