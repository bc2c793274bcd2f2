"""Colour profiles and EXIF travel from input to output, TIFF included: the profile unchanged (where it fits the
output's colour space), EXIF with orientation upright and the pixel size updated, nothing with
--strip-metadata, and a malformed block never costs the image."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image, ImageCms

from imgrestore.cli import cli
from imgrestore.images import Picture, read_image, write_image
from imgrestore.metadata import ImageMetadata

ORIENTATION, MAKE, EXIF_IFD, PIXEL_X, PIXEL_Y = 0x0112, 0x010F, 0x8769, 0xA002, 0xA003
GPS_IFD, DATE_TAKEN, EXPOSURE, MAKER_NOTE = 0x8825, 0x9003, 0x829A, 0x927C


@pytest.fixture(scope="module")
def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _camera_exif(orientation: int, width: int, height: int) -> Image.Exif:
    exif = Image.Exif()
    exif[ORIENTATION], exif[MAKE] = orientation, "TestCam"
    details = exif.get_ifd(EXIF_IFD)
    details[PIXEL_X], details[PIXEL_Y] = width, height
    return exif


def _metadata_of(path: Path) -> tuple[bytes | None, Image.Exif, tuple[int, int]]:
    with Image.open(path) as image:
        return image.info.get("icc_profile"), image.getexif(), image.size


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp"])
def test_denoise_keeps_profile_and_exif(tmp_path: Path, astronaut: np.ndarray, srgb_profile: bytes,
                                        suffix: str) -> None:
    """A camera file stored on its side (orientation 6): the output is upright, says so, and keeps
    the profile and the camera's tags, with the pixel size of what was written."""
    stored = astronaut[:96, :160]
    (tmp_path / "in").mkdir()
    Image.fromarray(stored).save(tmp_path / "in" / f"shot{suffix}", exif=_camera_exif(6, 160, 96),
                                 icc_profile=srgb_profile, quality=95)
    result = CliRunner().invoke(cli, ["denoise", str(tmp_path / "in"), str(tmp_path / "out")])
    assert result.exit_code == 0, result.output

    icc, exif, size = _metadata_of(tmp_path / "out" / f"shot{suffix}")
    assert icc == srgb_profile
    assert exif[ORIENTATION] == 1 and exif[MAKE] == "TestCam"
    assert size == (96, 160)  # upright: the stored 160×96 turned a quarter
    assert (exif.get_ifd(EXIF_IFD)[PIXEL_X], exif.get_ifd(EXIF_IFD)[PIXEL_Y]) == size


def test_tiff_input_and_output_keep_profile_and_camera_tags(tmp_path: Path, astronaut: np.ndarray,
                                                             srgb_profile: bytes) -> None:
    """Raw converters hand photographers 16-bit TIFFs in wide-gamut profiles (ProPhoto, Adobe RGB):
    without the profile every viewer reads the pixels as sRGB. A TIFF's EXIF tags are its own
    IFD's, read from it and written into it."""
    (tmp_path / "in").mkdir()
    Image.fromarray(astronaut[:64, :96]).save(tmp_path / "in" / "shot.tif", exif=_camera_exif(1, 96, 64),
                                              icc_profile=srgb_profile)
    result = CliRunner().invoke(cli, ["denoise", str(tmp_path / "in"), str(tmp_path / "out"), "--sigma", "5"])
    assert result.exit_code == 0, result.output
    icc, exif, size = _metadata_of(tmp_path / "out" / "shot.tif")
    assert icc == srgb_profile and size == (96, 64)
    assert exif[MAKE] == "TestCam"


@pytest.mark.parametrize("endian", ["<", ">"])
def test_jpeg_exif_goes_into_a_tiff_in_its_byte_order_without_the_maker_note(tmp_path: Path, endian: str) -> None:
    """In a TIFF the EXIF tags join the file's own IFD, so their values are rewritten in the
    file's byte order; a maker note is left out (its private offsets point into the JPEG)."""
    exif = _camera_exif(1, 30, 20)
    exif.endian = endian
    details = exif.get_ifd(EXIF_IFD)
    details[DATE_TAKEN], details[EXPOSURE], details[MAKER_NOTE] = "2026:01:02 03:04:05", (1, 250), b"private"
    exif.get_ifd(GPS_IFD)[2] = (51.0, 30.0, 12.5)
    block = exif.tobytes().removeprefix(b"Exif\x00\x00")
    picture = Picture(color=np.full((20, 30, 3), 40000, np.uint16), metadata=ImageMetadata(exif=block))
    write_image(tmp_path / "shot.tif", picture)
    with Image.open(tmp_path / "shot.tif") as image:  # sub-IFDs are read lazily, from the open file
        written, size = image.getexif(), image.size
        details, gps = dict(written.get_ifd(EXIF_IFD)), dict(written.get_ifd(GPS_IFD))
    assert written[MAKE] == "TestCam" and size == (30, 20)
    assert details[DATE_TAKEN] == "2026:01:02 03:04:05" and details[EXPOSURE] == (1, 250)
    assert MAKER_NOTE not in details
    assert (details[PIXEL_X], details[PIXEL_Y]) == (30, 20)
    assert gps[2] == (51.0, 30.0, 12.5)
    back = read_image(tmp_path / "shot.tif")  # and it travels on from the TIFF, to a JPEG here
    np.testing.assert_array_equal(back.color, picture.color)
    write_image(tmp_path / "shot.jpg", back)
    with Image.open(tmp_path / "shot.jpg") as image:
        onward = image.getexif()
        assert onward[MAKE] == "TestCam" and onward.get_ifd(EXIF_IFD)[DATE_TAKEN] == "2026:01:02 03:04:05"


@pytest.mark.parametrize("channels,with_alpha", [(3, False), (3, True), (1, False)])
def test_sixteen_bit_tiff_keeps_its_profile_and_pixels(tmp_path: Path, srgb_profile: bytes, channels: int,
                                                       with_alpha: bool) -> None:
    """OpenCV writes the 16-bit TIFF (Pillow cannot); the profile is added to what it wrote."""
    profile = srgb_profile if channels == 3 else srgb_profile[:16] + b"GRAY" + srgb_profile[20:]
    rng = np.random.default_rng(0)
    picture = Picture(color=rng.integers(0, 65536, (33, 47, channels)).astype(np.uint16),
                      alpha=rng.integers(0, 65536, (33, 47)).astype(np.uint16) if with_alpha else None,
                      metadata=ImageMetadata(icc_profile=profile))
    write_image(tmp_path / "wide.tif", picture)
    back = read_image(tmp_path / "wide.tif")
    np.testing.assert_array_equal(back.color, picture.color)
    if with_alpha:
        np.testing.assert_array_equal(back.alpha, picture.alpha)
    assert back.metadata is not None and back.metadata.icc_profile == profile
    assert _metadata_of(tmp_path / "wide.tif")[0] == profile  # and Pillow finds it too


def test_strip_metadata_writes_none(tmp_path: Path, astronaut: np.ndarray, srgb_profile: bytes) -> None:
    (tmp_path / "in").mkdir()
    Image.fromarray(astronaut[:64, :64]).save(tmp_path / "in" / "shot.jpg", exif=_camera_exif(1, 64, 64),
                                              icc_profile=srgb_profile)
    result = CliRunner().invoke(cli, ["denoise", str(tmp_path / "in"), str(tmp_path / "out"), "--strip-metadata"])
    assert result.exit_code == 0, result.output
    icc, exif, _ = _metadata_of(tmp_path / "out" / "shot.jpg")
    assert icc is None and len(exif) == 0


def test_size_tags_follow_the_output(tmp_path: Path, astronaut: np.ndarray, srgb_profile: bytes) -> None:
    """A task that changes the size (here a 2× result written directly) updates the EXIF size."""
    Image.fromarray(astronaut[:40, :50]).save(tmp_path / "small.png", exif=_camera_exif(1, 50, 40),
                                              icc_profile=srgb_profile)
    picture = read_image(tmp_path / "small.png")
    enlarged = Picture(color=np.repeat(np.repeat(picture.color, 2, 0), 2, 1), metadata=picture.metadata)
    write_image(tmp_path / "large.jpg", enlarged)
    _, exif, size = _metadata_of(tmp_path / "large.jpg")
    assert size == (100, 80)
    assert (exif.get_ifd(EXIF_IFD)[PIXEL_X], exif.get_ifd(EXIF_IFD)[PIXEL_Y]) == (100, 80)


def test_rgb_profile_is_not_put_on_a_gray_image(tmp_path: Path, srgb_profile: bytes) -> None:
    gray = Picture(color=np.full((8, 8, 1), 128, np.uint8), metadata=ImageMetadata(icc_profile=srgb_profile))
    write_image(tmp_path / "gray.png", gray)
    assert _metadata_of(tmp_path / "gray.png")[0] is None
    rgb = Picture(color=np.full((8, 8, 3), 128, np.uint8), metadata=ImageMetadata(icc_profile=srgb_profile))
    write_image(tmp_path / "rgb.png", rgb)
    assert _metadata_of(tmp_path / "rgb.png")[0] == srgb_profile


def test_webp_with_alpha_keeps_alpha_and_metadata(tmp_path: Path, astronaut: np.ndarray,
                                                  srgb_profile: bytes) -> None:
    alpha = np.tile(np.linspace(0, 255, 48).astype(np.uint8), (32, 1))
    picture = Picture(color=astronaut[:32, :48], alpha=alpha,
                      metadata=ImageMetadata(icc_profile=srgb_profile))
    for quality in (90, 101):  # lossy (VP8 + ALPH) and lossless (VP8L)
        path = tmp_path / f"q{quality}.webp"
        write_image(path, picture, quality=quality)
        back = read_image(path)
        assert np.abs(back.alpha.astype(int) - alpha).max() <= 2
        assert back.metadata is not None and back.metadata.icc_profile == srgb_profile


def test_sixteen_bit_png_keeps_metadata(tmp_path: Path, srgb_profile: bytes) -> None:
    color = np.random.default_rng(0).integers(0, 65535, (20, 30, 3), endpoint=True).astype(np.uint16)
    write_image(tmp_path / "deep.png", Picture(color=color, metadata=ImageMetadata(icc_profile=srgb_profile)))
    back = read_image(tmp_path / "deep.png")
    np.testing.assert_array_equal(back.color, color)
    assert back.metadata is not None and back.metadata.icc_profile == srgb_profile


def test_malformed_exif_is_dropped_not_fatal(tmp_path: Path, astronaut: np.ndarray) -> None:
    """An APP1 block that claims to be EXIF but holds no TIFF structure: the pixels still load."""
    Image.fromarray(astronaut[:32, :32]).save(tmp_path / "plain.jpg")
    data = (tmp_path / "plain.jpg").read_bytes()
    payload = b"Exif\x00\x00" + b"XX" + b"\x00" * 30
    broken = data[:2] + b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload + data[2:]
    (tmp_path / "broken.jpg").write_bytes(broken)
    picture = read_image(tmp_path / "broken.jpg")
    assert picture.size == (32, 32)
    assert picture.metadata is None or picture.metadata.exif is None


def test_gray_with_alpha_written_as_rgba_takes_the_rgb_profile(tmp_path: Path, srgb_profile: bytes) -> None:
    """WebP has no gray+alpha, so such a picture is written as RGBA: the profile must fit what was
    written (RGB), not the picture's one channel."""
    picture = Picture(color=np.full((8, 8, 1), 90, np.uint8), alpha=np.full((8, 8), 200, np.uint8),
                      metadata=ImageMetadata(icc_profile=srgb_profile))
    write_image(tmp_path / "gray_alpha.webp", picture, quality=101)
    with Image.open(tmp_path / "gray_alpha.webp") as image:
        assert image.mode == "RGBA"
        assert image.info.get("icc_profile") == srgb_profile


def test_headers_of_a_panorama_over_pillows_pixel_limit_are_read(recwarn: pytest.WarningsRecorder) -> None:
    """225 megapixels: Image.open would refuse it (over 179 MP) and warn above 89 MP, though only
    its header is parsed; the orientation must still come through, silently."""
    import io

    from imgrestore.metadata import read_header

    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    Image.new("1", (15000, 15000)).save(buffer, format="TIFF", compression="group4", exif=exif.tobytes())
    assert read_header(buffer.getvalue()).orientation == 6
    assert not [w for w in recwarn if "decompression" in str(w.message).lower()]
