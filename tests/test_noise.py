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


@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea"])
def test_texture_of_a_clean_colour_photo_is_not_taken_for_noise(name: str) -> None:
    """Estimated channel by channel, clean textured photos read sigma 10-20 and were blurred."""
    from skimage import data

    clean = getattr(data, name)()
    assert estimate_sigma(clean.astype(np.float64)) < 3
    noisy = add_gaussian_noise(clean, 5, np.random.default_rng(5))
    assert abs(estimate_sigma(noisy.astype(np.float64)) - 5) < 1.5


def test_clipped_and_flat_areas_do_not_hide_the_noise(astronaut: np.ndarray) -> None:
    """Black bars (letterboxing, a scan's border) held no noise and pulled the estimate to half."""
    framed = np.zeros((512, 900, 3), np.uint8)
    framed[:, 194:706] = astronaut
    noisy = add_gaussian_noise(framed, 25, np.random.default_rng(0))
    noisy[:, :194] = 0
    noisy[:, 706:] = 0
    assert abs(estimate_sigma(noisy.astype(np.float64)) - 25) <= 0.15 * 25


@pytest.mark.parametrize("name,clean_at_most,low_noise", [("camera", 1, True), ("brick", 1, True), ("moon", 1, True),
                                                          ("grass", 2.5, False), ("gravel", 2.5, False)])
def test_texture_of_a_clean_gray_photo_is_not_taken_for_noise(name: str, clean_at_most: float, low_noise: bool) -> None:
    """A gray 7×7 patch has too few values for the eigenvalue tail alone: clean, `grass` read
    sigma 10.9 and `camera` 3.1, and BSD68's sigma-2 images read 5.7 in the median, so the blind
    gray denoiser made a sigma-2 image worse than its input. Weak-texture patches (Liu et al.)
    fix that; on grass and gravel, texture at the noise's own scale, low noise still reads low."""
    from skimage import data

    clean = getattr(data, name)()
    assert estimate_sigma(clean.astype(np.float64)) < clean_at_most
    for sigma in (2, 5) if low_noise else ():
        noisy = add_gaussian_noise(clean, sigma, np.random.default_rng(sigma))
        assert abs(estimate_sigma(noisy.astype(np.float64)) - sigma) < 0.3 * sigma
    noisy = add_gaussian_noise(clean, 15, np.random.default_rng(15))
    assert abs(estimate_sigma(noisy.astype(np.float64)) - 15) < 0.1 * 15


@pytest.mark.parametrize("name", ["astronaut", "coffee"])
def test_a_small_image_is_estimated_from_all_its_patches(request: pytest.FixtureRequest, name: str) -> None:
    """A 40-pixel colour crop held 144 patches at the usual stride, fewer than a colour patch
    has values: the estimate was 0 and the noisy image came back untouched as 'clean'."""
    clean = request.getfixturevalue(name)
    for side in (48, 64):
        crop = clean[100 : 100 + side, 100 : 100 + side]
        for sigma in (15, 25):
            noisy = add_gaussian_noise(crop, sigma, np.random.default_rng(sigma))
            assert abs(estimate_sigma(noisy.astype(np.float64)) - sigma) <= 0.25 * sigma


@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea"])
@pytest.mark.parametrize("subsampling", ["4:2:0", "4:4:4"])
def test_noise_in_a_jpeg_with_subsampled_colour_is_found(name: str, subsampling: str) -> None:
    """A JPEG's usual 4:2:0 chroma subsampling smooths the colour difference of the noise, so the
    noise of the three channels moves together and whole-colour patches took it for texture: at
    quality 95, sigma 10 / 25 / 40 read 0.3-3 and the photo came back untouched as 'clean'."""
    import cv2
    from skimage import data

    factor = {"4:2:0": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420, "4:4:4": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444}[subsampling]
    clean = getattr(data, name)()
    for sigma in (10, 25, 40):
        noisy = add_gaussian_noise(clean, sigma, np.random.default_rng(sigma))
        ok, encoded = cv2.imencode(".jpg", noisy[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95,
                                                              cv2.IMWRITE_JPEG_SAMPLING_FACTOR, factor])
        stored = cv2.imdecode(encoded, cv2.IMREAD_COLOR)[:, :, ::-1]
        # quantisation at quality 95 takes some of the noise away and adds its own error (at sigma 10
        # the stored image differs from the clean one by 10.3 rms, the estimate reads 11.6)
        assert 0.8 * sigma <= estimate_sigma(stored.astype(np.float64)) <= 1.2 * sigma, sigma
