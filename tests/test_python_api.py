"""imgrestore.run on the arrays ML code passes around: float images in 0..1, gray + alpha, and a
clear error for what it cannot take (integer types other than 8/16-bit, channels-first)."""

from __future__ import annotations

from pathlib import Path

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


def test_options_are_checked_as_the_command_line_checks_them(astronaut: np.ndarray) -> None:
    """A typo must not run silently with the default (`sigm=25` would estimate the noise level)."""
    image = astronaut[:32, :32]
    with pytest.raises(TypeError, match=r"task 'denoise' has no option 'sigm' \(its options: sigma\)"):
        imgrestore.run("denoise", image, sigm=25)
    with pytest.raises(ValueError, match="option 'scale' of task 'upscale'.*not one of"):
        imgrestore.run("upscale", image, scale=5)
    with pytest.raises(ValueError, match="option 'strength' of task 'stylize'.*range"):
        imgrestore.run("stylize", image, style="udnie", strength=1.5)
    assert imgrestore.run("upscale", image, scale=2).shape == (64, 64, 3)  # an int is taken for the choice "2"


@pytest.mark.parametrize("task,option,value", [
    ("denoise", "sigma", float("nan")), ("stylize", "strength", float("nan")), ("reconstruct", "sigma", float("nan")),
    ("reconstruct", "sigma", -25.0), ("reconstruct", "sigma", 1e5), ("denoise", "sigma", float("inf")),
])
def test_nan_and_out_of_range_numbers_are_refused(astronaut: np.ndarray, task: str, option: str, value: float) -> None:
    """NaN compares false with both bounds of a click.FloatRange: --sigma nan wrote black images and
    exited 0; reconstruct's --sigma had no range at all (-25 ran)."""
    with pytest.raises(ValueError, match=f"option '{option}' of task '{task}'"):
        imgrestore.run(task, astronaut[:32, :32], **{option: value})


@pytest.mark.parametrize("truncation", [float("nan"), 1e-6, 0.0])
def test_truncation_is_refused_where_it_would_hang_or_mean_nothing(truncation: float) -> None:
    """Components are redrawn until they fall inside ±T: T = 1e-6 ran for minutes on one image, and
    NaN was silently no truncation."""
    with pytest.raises(ValueError, match="truncation must be at least 0.05"):
        imgrestore.sample_images(count=1, model="dcgan-digits", truncation=truncation)


def test_a_whole_float_seed_is_taken_as_its_integer() -> None:
    assert np.array_equal(imgrestore.sample_images(count=2, seed=1.0, model="dcgan-digits"),
                          imgrestore.sample_images(count=2, seed=1, model="dcgan-digits"))


def test_reconstruct_mode_and_masks_are_checked_against_the_model(astronaut: np.ndarray, tmp_path: Path,
                                                                  cli_runner) -> None:
    """--mode fill with the denoise model ran denoising; masks given to a model without a mask
    input failed every file at run time (exit 1) instead of one usage error."""
    from imgrestore.cli import cli
    from imgrestore.images import Picture, write_image

    image = astronaut[:40, :40]
    with pytest.raises(ValueError, match="--mode fill asked for, but the model is a denoise model"):
        imgrestore.run("reconstruct", image, mode="fill", model="reconstruct-denoise", mask=np.ones((40, 40), bool))
    with pytest.raises(ValueError, match="takes no mask"):
        imgrestore.run("reconstruct", image, model="reconstruct-denoise", mask=np.ones((40, 40), bool))
    # the fill model by name needs no --mode: the mode follows the model
    assert imgrestore.run("reconstruct", image, model="reconstruct-fill", mask=np.eye(40, dtype=bool)).shape == image.shape
    for index in range(2):
        write_image(tmp_path / "in" / f"{index}.png", Picture(color=image))
    write_image(tmp_path / "hole.png", Picture(color=np.full((40, 40, 1), 255, np.uint8)))
    result = cli_runner.invoke(cli, ["reconstruct", str(tmp_path / "in"), str(tmp_path / "out"), "--mask",
                                     str(tmp_path / "hole.png")])
    assert result.exit_code == 2 and "takes no mask" in result.output and not (tmp_path / "out").exists()


def test_masks_are_checked_against_the_task_and_the_image(astronaut: np.ndarray) -> None:
    image = astronaut[:48, :48]
    mask = np.zeros((48, 48), np.uint8)
    mask[10:20, 10:20] = 255
    with pytest.raises(ValueError, match="pass mask="):
        imgrestore.run("inpaint", image)
    with pytest.raises(ValueError, match=r"mask of shape \(12, 48\) does not match the image's \(48, 48\)"):
        imgrestore.run("inpaint", image, mask=mask[:12])
    with pytest.raises(ValueError, match="task 'denoise' takes no mask"):
        imgrestore.run("denoise", image, mask=mask)
    filled = imgrestore.run("inpaint", image, mask=mask[:, :, None])  # H×W×1 is taken as H×W
    assert np.array_equal(filled[mask == 0], image[mask == 0])


def test_a_generating_task_points_to_sample_images(astronaut: np.ndarray) -> None:
    with pytest.raises(ValueError, match="use imgrestore.sample_images"):
        imgrestore.run("sample", astronaut)


def test_floats_out_of_range_half_floats_and_empty_images(astronaut: np.ndarray) -> None:
    """0..255 data passed as floats was clipped to a white image; float16 overflowed when scaled to
    16 bits (values up to 0.05 came back); an empty array failed inside numpy's padding."""
    image = astronaut[:32, :32]
    with pytest.raises(ValueError, match="values up to 2.*divide 0..255 data by 255"):
        imgrestore.run("denoise", image.astype(np.float32), sigma=10)
    reference = imgrestore.run("denoise", image, sigma=10).astype(np.float32) / 255
    half = imgrestore.run("denoise", (image / 255).astype(np.float16), sigma=10)
    assert half.dtype == np.float16 and np.abs(half.astype(np.float32) - reference).max() < 0.01
    with pytest.raises(ValueError, match=r"image of shape \(0, 0, 3\) is empty"):
        imgrestore.run("denoise", np.zeros((0, 0, 3), np.uint8), sigma=10)


@pytest.mark.parametrize("option,value", [("count", 0), ("count", -1), ("seed", -1), ("batch_size", 0), ("count", 2.5)])
def test_sample_images_checks_its_numbers(option: str, value: float) -> None:
    """count=-1 returned an empty (0, 1, 1, 1) array; batch_size=0 failed inside range()."""
    arguments = {"count": 2, "seed": 0, "batch_size": 8, option: value}
    with pytest.raises(ValueError, match=f"{option} must be a whole number of at least"):
        imgrestore.sample_images(**arguments)
