"""The print resolution an input states is kept at the same print size: the same dpi for a same-size
output, twice it after a 2× upscale, x and y swapped when the picture was turned; an input that
states none gets an output that states none."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from imgrestore.cli import cli


def _dpi(path: Path) -> tuple[float, float] | None:
    with Image.open(path) as image:
        if image.format == "TIFF" and 282 not in image.tag_v2:
            return None  # Pillow reads absent tags as 1 dpi
        return image.info.get("dpi")


def _run(*arguments: str) -> None:
    result = CliRunner().invoke(cli, list(arguments))
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("out_suffix", [".jpg", ".png", ".tif"])
@pytest.mark.parametrize("in_suffix", [".jpg", ".png", ".tif"])
def test_upscale_keeps_the_print_size(tmp_path: Path, astronaut: np.ndarray, in_suffix: str, out_suffix: str) -> None:
    source = tmp_path / f"scan{in_suffix}"
    Image.fromarray(astronaut[:60, :80]).save(source, dpi=(300, 150))
    _run("upscale", str(source), str(tmp_path / f"big{out_suffix}"), "--scale", "2")
    _run("denoise", str(source), str(tmp_path / f"same{out_suffix}"), "--sigma", "5")
    assert _dpi(tmp_path / f"big{out_suffix}") == pytest.approx((600, 300), rel=1e-3)
    assert _dpi(tmp_path / f"same{out_suffix}") == pytest.approx((300, 150), rel=1e-3)


@pytest.mark.parametrize("suffix", [".jpg", ".tif"])
def test_a_turned_picture_swaps_its_resolution(tmp_path: Path, astronaut: np.ndarray, suffix: str) -> None:
    """Orientation 6 (EXIF in a JPEG, the file's own tag in a TIFF, which its decoder applies)."""
    source = tmp_path / f"scan{suffix}"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(astronaut[:60, :80]).save(source, dpi=(300, 150), exif=exif.tobytes())
    _run("denoise", str(source), str(tmp_path / f"out{suffix}"), "--sigma", "5")
    with Image.open(tmp_path / f"out{suffix}") as image:
        assert image.size == (60, 80)
    assert _dpi(tmp_path / f"out{suffix}") == pytest.approx((150, 300), rel=1e-3)


@pytest.mark.parametrize("out_suffix", [".jpg", ".png", ".tif"])
@pytest.mark.parametrize("in_suffix", [".jpg", ".png", ".tif"])
def test_no_resolution_stays_no_resolution(tmp_path: Path, astronaut: np.ndarray, in_suffix: str,
                                           out_suffix: str) -> None:
    source = tmp_path / f"photo{in_suffix}"
    cv2.imwrite(str(source), cv2.cvtColor(astronaut[:60, :80], cv2.COLOR_RGB2BGR))  # OpenCV states none
    _run("upscale", str(source), str(tmp_path / f"out{out_suffix}"), "--scale", "2")
    assert _dpi(tmp_path / f"out{out_suffix}") is None


def test_exif_resolution_in_centimetres_is_read_and_kept_in_its_unit(tmp_path: Path, astronaut: np.ndarray) -> None:
    """A JPEG whose JFIF says nothing (units 0) and whose EXIF says 118.11 pixels per cm (300 dpi):
    the 2× output's JFIF says 600 dpi and its EXIF 236.22 pixels per cm."""
    exif = Image.Exif()
    exif[282], exif[283], exif[296] = 118.11, 118.11, 3
    stream = io.BytesIO()
    Image.fromarray(astronaut[:60, :80]).save(stream, format="JPEG", exif=exif.tobytes())
    (tmp_path / "scan.jpg").write_bytes(stream.getvalue())
    _run("upscale", str(tmp_path / "scan.jpg"), str(tmp_path / "out.jpg"), "--scale", "2")
    assert _dpi(tmp_path / "out.jpg") == pytest.approx((600, 600), abs=0.6)  # JFIF holds whole numbers
    with Image.open(tmp_path / "out.jpg") as image:
        written = image.getexif()
    assert (float(written[282]), written[296]) == (pytest.approx(236.22, rel=1e-4), 3)


def test_strip_metadata_keeps_the_resolution(tmp_path: Path, astronaut: np.ndarray) -> None:
    """The resolution is how the picture is to be printed, not who took it where."""
    Image.fromarray(astronaut[:60, :80]).save(tmp_path / "scan.png", dpi=(300, 300))
    _run("denoise", str(tmp_path / "scan.png"), str(tmp_path / "out.png"), "--sigma", "5", "--strip-metadata")
    assert _dpi(tmp_path / "out.png") == pytest.approx((300, 300), rel=1e-3)
