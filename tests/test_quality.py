"""The shipped denoisers on real photos that were not in their training data (scikit-image's
bundled ihc, retina and the right view of the stereo motorcycle, whose left view was in
train/photos), against the noisy input and OpenCV NL-means with h chosen per image by oracle."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

import imgrestore
from imgrestore.metrics import psnr
from imgrestore.noise import add_gaussian_noise


def _photos() -> dict[str, np.ndarray]:
    from skimage import data

    return {
        "motorcycle": data.stereo_motorcycle()[1][100:356, 300:556],
        "ihc": data.immunohistochemistry()[128:384, 128:384],
        "retina": data.retina()[500:756, 400:656],
    }


def _best_nlmeans(noisy: np.ndarray, clean: np.ndarray, sigma: float) -> float:
    scores = []
    for factor in (0.7, 0.8, 0.9, 1.0, 1.1):
        if noisy.ndim == 2:
            out = cv2.fastNlMeansDenoising(noisy, None, h=factor * sigma, templateWindowSize=7, searchWindowSize=21)
        else:
            out = cv2.fastNlMeansDenoisingColored(noisy, None, factor * sigma, factor * sigma, 7, 21)
        scores.append(psnr(out, clean))
    return max(scores)


def _noisy_photo(name: str, mode: str, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """(clean, noisy): the named photo in colour or gray, with noise seeded by the photo's place."""
    photos = _photos()
    clean = photos[name]
    if mode == "gray":
        clean = cv2.cvtColor(clean, cv2.COLOR_RGB2GRAY)
    return clean, add_gaussian_noise(clean, sigma, np.random.default_rng(list(photos).index(name)))


def _marked(cases: list[tuple], shortfalls: set[tuple], reason: str) -> list:
    """pytest params, the known shortfalls among them as strict xfails: a better model turns them
    into failures, and the list must then shrink."""
    return [pytest.param(*case, marks=[pytest.mark.xfail(strict=True, reason=reason)] if case in shortfalls else [])
            for case in cases]


# Where the shipped models (trained ~13 CPU-core-hours gray, ~13 colour) do not yet beat NL-means by 1 dB.
# Strict: when a better model lands these turn into failures, and this list must shrink. (gray 15
# motorcycle left it with the gray fine-tune of 8,500 steps in commit e77d769; gray 25 retina, at
# 1.05 dB, with the 25,000-step fine-tune of commit edce0dd, after which gray 50 retina is level with
# NL-means, 1 dB short. The colour fine-tune of 14,000 steps after that took colour 15 / 25 retina
# from +0.23 / +0.70 dB to +0.42 / +0.76; colour 15 / 25 retina left it, at +1.20 / +1.45 dB, with the
# 8,000-step colour fine-tune that drew a quarter of its patches at sigma 0-5.)
KNOWN_SHORTFALLS = {
    ("gray", 50, "retina"),
}
CASES = _marked([(mode, sigma, name) for mode in ("color", "gray") for sigma in (15, 25, 50)
                  for name in ("motorcycle", "ihc", "retina")], KNOWN_SHORTFALLS,
                 "known shortfall of the current weights (dark, nearly flat retina crop; fine texture at low "
                 "noise): see KNOWN_SHORTFALLS")


@pytest.mark.parametrize("mode,sigma,name", CASES)
def test_beats_nlmeans_by_one_db(mode: str, sigma: float, name: str) -> None:
    clean, noisy = _noisy_photo(name, mode, sigma)
    ours = psnr(imgrestore.run("denoise", noisy, sigma=sigma), clean)
    assert ours > _best_nlmeans(noisy, clean, sigma) + 1.0


@pytest.mark.parametrize("mode", ["color", "gray"])
@pytest.mark.parametrize("sigma", [15, 25, 50])
def test_clearly_better_than_the_noisy_input(mode: str, sigma: float) -> None:
    for name in _photos():
        clean, noisy = _noisy_photo(name, mode, sigma)
        assert psnr(imgrestore.run("denoise", noisy, sigma=sigma), clean) > psnr(noisy, clean) + 3.0


@pytest.mark.parametrize("sigma", [10, 25, 45])
def test_blind_close_to_known_sigma(sigma: float) -> None:
    clean = _photos()["motorcycle"]
    noisy = add_gaussian_noise(clean, sigma, np.random.default_rng(3))
    known = psnr(imgrestore.run("denoise", noisy, sigma=sigma), clean)
    blind = psnr(imgrestore.run("denoise", noisy), clean)
    assert blind > known - 0.5, (blind, known)


# Where the shipped models make a lightly noisy photo (sigma 1) worse than it came in. Measured
# (input 47.8 dB): colour, sigma given / blind, motorcycle 46.92 / 46.62, ihc 47.17 / 47.18, retina
# 47.75 / 47.75 (before the colour model drew a quarter of its training patches at sigma 0-5:
# 44.52 / 45.53, 46.54 / 46.37, 39.51 / 38.79); gray motorcycle 47.54 given, ihc 47.53 / 47.59, the
# gray model still trained with sigma drawn uniformly from 0-60, so about one patch in 60 at this
# end (README, "Little noise"). A gray fine-tune of 8,921 steps with --low-sigma-share 0.25 was not
# shipped: motorcycle 47.63 given, ihc 47.68 / 47.73, still below, and gray 25 retina fell to +0.98.
LIGHT_NOISE_SHORTFALLS = {
    ("color", "motorcycle", True), ("color", "ihc", True), ("color", "retina", True),
    ("color", "motorcycle", False), ("color", "ihc", False), ("color", "retina", False),
    ("gray", "motorcycle", True), ("gray", "ihc", True), ("gray", "ihc", False),
}
LIGHT_NOISE_CASES = _marked([(mode, name, given) for mode in ("color", "gray")
                             for name in ("motorcycle", "ihc", "retina") for given in (True, False)],
                            LIGHT_NOISE_SHORTFALLS,
                            "known shortfall of the current weights at sigma 1: see LIGHT_NOISE_SHORTFALLS")


@pytest.mark.parametrize("mode,name,sigma_given", LIGHT_NOISE_CASES)
def test_a_lightly_noisy_photo_is_not_made_worse(mode: str, name: str, sigma_given: bool) -> None:
    """Most photos users denoise in bulk are nearly clean: sigma 1 (with the level given, and
    estimated) must not come back further from the clean photo than it went in."""
    clean, noisy = _noisy_photo(name, mode, 1.0)
    restored = psnr(imgrestore.run("denoise", noisy, sigma=1.0 if sigma_given else None), clean)
    assert restored >= psnr(noisy, clean), (restored, psnr(noisy, clean))


def test_sixteen_bit_input_matches_eight_bit_quality() -> None:
    clean = _photos()["ihc"]
    noisy = add_gaussian_noise(clean, 25, np.random.default_rng(0))
    out8 = imgrestore.run("denoise", noisy, sigma=25)
    out16 = imgrestore.run("denoise", noisy.astype(np.uint16) * 257, sigma=25)
    assert out16.dtype == np.uint16
    assert abs(psnr(out16 / 257.0, clean) - psnr(out8, clean)) < 0.05


def test_a_clean_photo_comes_back_as_it_is(tmp_path) -> None:
    """The blind estimate of a clean photo is below half a level: nothing to remove. (At sigma 0
    the colour network shifted saturated colours by up to 26 levels.) `--sigma 0` likewise; and a
    JPEG comes back byte for byte."""
    from imgrestore.cli import cli
    from click.testing import CliRunner
    from imgrestore.images import Picture, write_image

    clean = _photos()["ihc"]
    assert np.array_equal(imgrestore.run("denoise", clean), clean)
    assert np.array_equal(imgrestore.run("denoise", clean, sigma=0), clean)
    write_image(tmp_path / "in" / "a.jpg", Picture(color=clean), quality=90)
    result = CliRunner().invoke(cli, ["denoise", str(tmp_path / "in"), str(tmp_path / "out"), "--sigma", "0"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "a.jpg").read_bytes() == (tmp_path / "in" / "a.jpg").read_bytes()


def test_a_gray_photo_stored_as_rgb_goes_to_the_gray_model() -> None:
    """It went to the colour model: 2-5 dB worse, and colour appeared in a gray photo."""
    clean = cv2.cvtColor(_photos()["motorcycle"], cv2.COLOR_RGB2GRAY)
    noisy = add_gaussian_noise(clean, 25, np.random.default_rng(0))
    as_rgb = imgrestore.run("denoise", np.dstack([noisy] * 3), sigma=25)
    assert as_rgb.shape == (*clean.shape, 3)
    assert np.array_equal(as_rgb[..., 0], as_rgb[..., 1]) and np.array_equal(as_rgb[..., 1], as_rgb[..., 2])
    assert np.abs(as_rgb[..., 0].astype(int) - imgrestore.run("denoise", noisy, sigma=25)).max() <= 1


def test_the_readme_first_command_cleans_its_sample_photos(tmp_path) -> None:
    """`imgrestore denoise examples/photos/ clean/` (the README's set-up command) on the photos
    examples/make_photos.py made, blind. coffee.jpg is stored with 4:2:0 chroma subsampling, as
    cameras and OpenCV store JPEGs; its noise level was read as 1.5 instead of 20 and it came
    back no cleaner (25.59 -> 25.54 dB)."""
    import importlib.util

    from click.testing import CliRunner

    from imgrestore.cli import cli
    from imgrestore.images import read_image

    examples = Path(__file__).resolve().parent.parent / "examples"
    loader = importlib.util.spec_from_file_location("make_photos", examples / "make_photos.py")
    make_photos = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(make_photos)  # the crops the photos were made from, not a copy of them
    photos = examples / "photos"
    result = CliRunner().invoke(cli, ["denoise", str(photos), str(tmp_path)])
    assert result.exit_code == 0, result.output
    for name, (clean, _sigma) in make_photos.clean_sources().items():
        noisy = read_image(photos / name).color_8bit().squeeze()
        cleaned = read_image(tmp_path / name).color_8bit().squeeze()
        assert psnr(cleaned, clean) > psnr(noisy, clean) + 4.0, name
