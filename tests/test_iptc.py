"""IPTC-IIM (caption, keywords, by-line) travels between JPEG and TIFF byte for byte, with the MD5
digest Photoshop expects in a JPEG; PNG has no place for it, --strip-metadata writes none, and a
stream that is not IIM is dropped."""

from __future__ import annotations

import hashlib
import io
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image, IptcImagePlugin

from imgrestore.cli import cli
from imgrestore.iptc import PHOTOSHOP_SIGNATURE
from imgrestore.tiff_tags import IPTC_NAA, LONG, Field, with_tags


def _dataset(record: int, number: int, value: bytes) -> bytes:
    return b"\x1c" + bytes([record, number]) + struct.pack(">H", len(value)) + value


STREAM = (_dataset(2, 0, b"\x00\x04") + _dataset(2, 120, "Hafen in der Dämmerung".encode())
          + _dataset(2, 25, b"harbour") + _dataset(2, 25, b"dusk") + _dataset(2, 80, b"A. Photographer")
          + _dataset(2, 116, b"(c) 2026"))


def _jpeg_with_iptc(path: Path, astronaut: np.ndarray, stream: bytes = STREAM) -> None:
    resource = b"8BIM" + struct.pack(">HHI", 0x0404, 0, len(stream)) + stream + b"\x00" * (len(stream) & 1)
    payload = PHOTOSHOP_SIGNATURE + resource
    jpeg = cv2.imencode(".jpg", cv2.cvtColor(astronaut[:60, :80], cv2.COLOR_RGB2BGR))[1].tobytes()
    path.write_bytes(jpeg[:2] + b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:])


def _iptc_of(path: Path) -> dict | None:
    with Image.open(path) as image:
        return IptcImagePlugin.getiptcinfo(image)


def _denoise(source: Path, target: Path, *options: str) -> None:
    result = CliRunner().invoke(cli, ["denoise", str(source), str(target), "--sigma", "5", *options])
    assert result.exit_code == 0, result.output


def test_jpeg_to_tiff_to_jpeg_keeps_the_stream_and_its_digest(tmp_path: Path, astronaut: np.ndarray) -> None:
    _jpeg_with_iptc(tmp_path / "wire.jpg", astronaut)
    _denoise(tmp_path / "wire.jpg", tmp_path / "out.jpg")
    _denoise(tmp_path / "wire.jpg", tmp_path / "out.tif")
    _denoise(tmp_path / "out.tif", tmp_path / "again.jpg")
    expected = _iptc_of(tmp_path / "wire.jpg")
    assert expected[(2, 120)] == "Hafen in der Dämmerung".encode() and expected[(2, 25)] == [b"harbour", b"dusk"]
    for name in ("out.jpg", "out.tif", "again.jpg"):
        assert _iptc_of(tmp_path / name) == expected
    with Image.open(tmp_path / "again.jpg") as image:
        resources = image.info["photoshop"]
    assert resources[0x0404] == STREAM
    assert resources[0x0425] == hashlib.md5(STREAM).digest()


def test_a_tiff_stream_stored_as_padded_longs_is_read_without_the_padding(tmp_path: Path,
                                                                           astronaut: np.ndarray) -> None:
    """Photoshop types the tag LONG, so the stream is padded with zeros to whole 4-byte units."""
    padded = STREAM + b"\x00" * (-len(STREAM) % 4)
    stream = io.BytesIO()
    Image.fromarray(astronaut[:60, :80]).save(stream, format="TIFF")
    tiff = with_tags(stream.getvalue(), {IPTC_NAA: Field(LONG, len(padded) // 4, padded, "<")})
    (tmp_path / "scan.tif").write_bytes(tiff)
    _denoise(tmp_path / "scan.tif", tmp_path / "out.jpg")
    with Image.open(tmp_path / "out.jpg") as image:
        assert image.info["photoshop"][0x0404] == STREAM  # the padding is gone


@pytest.mark.parametrize("target,options", [("out.png", ()), ("stripped.jpg", ("--strip-metadata",))])
def test_no_iptc_where_it_has_no_place_or_is_stripped(tmp_path: Path, astronaut: np.ndarray, target: str,
                                                      options: tuple[str, ...]) -> None:
    _jpeg_with_iptc(tmp_path / "wire.jpg", astronaut)
    _denoise(tmp_path / "wire.jpg", tmp_path / target, *options)
    assert b"harbour" not in (tmp_path / target).read_bytes()


def test_a_resource_that_is_not_iim_is_dropped(tmp_path: Path, astronaut: np.ndarray) -> None:
    _jpeg_with_iptc(tmp_path / "odd.jpg", astronaut, stream=b"not an IIM stream")
    _denoise(tmp_path / "odd.jpg", tmp_path / "out.jpg")
    assert b"IIM stream" not in (tmp_path / "out.jpg").read_bytes()


def test_a_last_value_ending_in_zeros_keeps_them(tmp_path: Path, astronaut: np.ndarray) -> None:
    """Only padding after the last whole dataset is cut, never bytes of a value."""
    stream = STREAM + _dataset(2, 231, b"note\x00\x00")
    _jpeg_with_iptc(tmp_path / "wire.jpg", astronaut, stream=stream)
    _denoise(tmp_path / "wire.jpg", tmp_path / "out.jpg")
    with Image.open(tmp_path / "out.jpg") as image:
        assert image.info["photoshop"][0x0404] == stream
