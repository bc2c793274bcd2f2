"""Image I/O keeps depth, alpha, gray, and applies EXIF orientation; bad files get clear errors."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from imgrestore.images import ImageReadError, Picture, read_image, write_image
from jpeg_damage import damage_jpeg, encode_jpeg


def _random(shape: tuple[int, ...], dtype: type) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, np.iinfo(dtype).max, size=shape, endpoint=True).astype(dtype)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("channels,with_alpha", [(1, False), (3, False), (3, True), (1, True)])
def test_lossless_round_trip(tmp_path: Path, suffix: str, dtype: type, channels: int, with_alpha: bool) -> None:
    if suffix == ".tif" and channels == 1 and with_alpha and dtype == np.uint16:
        pytest.skip("16-bit gray+alpha TIFF is written by no encoder here (it becomes RGBA)")
    picture = Picture(color=_random((37, 53, channels), dtype), alpha=_random((37, 53), dtype) if with_alpha else None)
    path = tmp_path / f"image{suffix}"
    write_image(path, picture)
    back = read_image(path)
    assert back.color.dtype == dtype
    assert back.channels == channels
    np.testing.assert_array_equal(back.color, picture.color)
    if with_alpha:
        np.testing.assert_array_equal(back.alpha, picture.alpha)
    else:
        assert back.alpha is None


def test_gray_alpha_png_stays_two_channel(tmp_path: Path) -> None:
    picture = Picture(color=_random((20, 30, 1), np.uint8), alpha=_random((20, 30), np.uint8))
    write_image(tmp_path / "la.png", picture)
    assert Image.open(tmp_path / "la.png").mode == "LA"


@pytest.mark.parametrize("suffix", [".jpg", ".webp", ".bmp"])
def test_lossy_and_8bit_formats(tmp_path: Path, astronaut: np.ndarray, suffix: str) -> None:
    picture = Picture(color=astronaut)
    write_image(tmp_path / f"a{suffix}", picture, quality=95)
    back = read_image(tmp_path / f"a{suffix}")
    assert back.color.shape == astronaut.shape
    assert np.abs(back.color.astype(int) - astronaut).mean() < 3


def test_sixteen_bit_to_jpeg_is_scaled_not_wrapped(tmp_path: Path) -> None:
    color = np.full((16, 16, 3), 65535, np.uint16)
    write_image(tmp_path / "white.jpg", Picture(color=color))
    assert read_image(tmp_path / "white.jpg").color.min() >= 250


@pytest.mark.parametrize("suffix", [".tif", ".jpg"])
def test_cmyk_is_read_as_rgb_without_an_alpha_plane(tmp_path: Path, astronaut: np.ndarray, suffix: str) -> None:
    """Print files come in CMYK. OpenCV's TIFF reader hands them over as BGR plus an opaque fourth
    channel, which became an alpha plane, so the output was an RGBA TIFF the input never was."""
    Image.fromarray(astronaut).convert("CMYK").save(tmp_path / f"print{suffix}", quality=95)
    picture = read_image(tmp_path / f"print{suffix}")
    assert picture.channels == 3 and picture.alpha is None
    expected = np.asarray(Image.open(tmp_path / f"print{suffix}").convert("RGB")).astype(int)
    assert np.abs(picture.color.astype(int) - expected).mean() < 3


def test_gray_alpha_tiff_keeps_its_alpha_or_is_refused_by_name(tmp_path: Path) -> None:
    """OpenCV decodes a gray + alpha TIFF as gray alone, and a 16-bit one as 8-bit: the alpha and
    the depth were lost without a word (the run said done, exit code 0)."""
    rng = np.random.default_rng(0)
    gray, alpha = rng.integers(0, 256, (20, 30), dtype=np.uint8), rng.integers(0, 256, (20, 30), dtype=np.uint8)
    Image.fromarray(np.dstack([gray, alpha]), "LA").save(tmp_path / "la.tif")
    picture = read_image(tmp_path / "la.tif")
    assert picture.channels == 1 and picture.color.dtype == np.uint8
    np.testing.assert_array_equal(picture.color[:, :, 0], gray)
    np.testing.assert_array_equal(picture.alpha, alpha)
    write_image(tmp_path / "back.tif", picture)
    assert Image.open(tmp_path / "back.tif").mode == "LA"  # and gray + alpha stays so when written
    # a 16-bit one, written by hand (baseline TIFF, one strip, ExtraSamples = unassociated alpha)
    pixels = np.dstack([gray, alpha]).astype("<u2") * 257
    entries = [(256, 3, 1, 30), (257, 3, 1, 20), (258, 3, 1, 16), (259, 3, 1, 1), (262, 3, 1, 1),
               (273, 4, 1, 0), (277, 3, 1, 2), (278, 3, 1, 20), (279, 4, 1, pixels.nbytes), (338, 3, 1, 2)]
    ifd = 8 + pixels.nbytes
    entries[5] = (273, 4, 1, 8)
    import struct

    body = b"II*\x00" + struct.pack("<I", ifd) + pixels.tobytes() + struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        body += struct.pack("<HHI", tag, kind, count) + (struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value))
    (tmp_path / "la16.tif").write_bytes(body + struct.pack("<I", 0))
    with pytest.raises(ImageReadError, match="gray \\+ alpha TIFF with 16-bit samples"):
        read_image(tmp_path / "la16.tif")


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
@pytest.mark.parametrize("orientation", [1, 6])
def test_a_tiff_with_alpha_from_other_software_keeps_its_colour_and_turns_upright(tmp_path: Path, mode: str,
                                                                                   orientation: int) -> None:
    """Photoshop, GIMP and Pillow mark a TIFF's alpha as unassociated (ExtraSamples 2), and OpenCV
    read such an 8-bit file with its colour multiplied by the alpha: half-transparent pixels came
    back darkened by up to 222 levels. And the TIFFs that Pillow decodes were not turned upright by
    their orientation tag."""
    rgba = _random((24, 40, 4), np.uint8)
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored = rgba if mode == "RGBA" else rgba[:, :, [0, 3]]
    Image.fromarray(stored, mode).save(tmp_path / "cut-out.tif", exif=exif.tobytes(), compression="tiff_lzw")
    with Image.open(tmp_path / "cut-out.tif") as image:
        assert image.tag_v2[338] == (2,)
        expected = np.asarray(ImageOps.exif_transpose(image))
    picture = read_image(tmp_path / "cut-out.tif")
    np.testing.assert_array_equal(picture.color, expected[:, :, :-1])
    np.testing.assert_array_equal(picture.alpha, expected[:, :, -1])


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_a_written_tiff_says_its_fourth_sample_is_alpha(tmp_path: Path, dtype: type) -> None:
    """OpenCV writes RGBA TIFFs without the ExtraSamples tag, so libtiff-based readers took the
    fourth sample for an unspecified extra channel rather than transparency."""
    picture = Picture(color=_random((20, 30, 3), dtype), alpha=_random((20, 30), dtype))
    write_image(tmp_path / "cut-out.tif", picture)
    with Image.open(tmp_path / "cut-out.tif") as image:
        assert image.tag_v2[338] == (2,)  # unassociated alpha: the colour is stored as it is
        if dtype == np.uint8:  # Pillow has no 16-bit RGBA mode to compare with
            np.testing.assert_array_equal(np.asarray(image), np.dstack([picture.color, picture.alpha]))


def test_palette_png_with_a_transparent_index_keeps_its_transparency(tmp_path: Path, astronaut: np.ndarray) -> None:
    palette = Image.fromarray(astronaut).convert("P", palette=Image.Palette.ADAPTIVE)
    palette.save(tmp_path / "icon.png", transparency=0)
    picture = read_image(tmp_path / "icon.png")
    index = np.asarray(palette)
    assert picture.channels == 3 and picture.alpha is not None
    np.testing.assert_array_equal(picture.alpha == 0, index == 0)


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp", ".tif"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow(tmp_path: Path, orientation: int, suffix: str) -> None:
    """In TIFF the orientation is a tag of the format itself, which OpenCV's decoder may already
    apply: it must be applied once, whoever does it."""
    rng = np.random.default_rng(orientation)
    base = np.kron(rng.integers(0, 255, (6, 4, 3)), np.ones((8, 8, 1))).astype(np.uint8)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"oriented{suffix}"
    options = {".jpg": {"quality": 100}, ".webp": {"lossless": True}}.get(suffix, {})
    Image.fromarray(base).save(path, exif=exif.tobytes(), **options)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))
    got = read_image(path).color
    assert got.shape == expected.shape
    assert np.abs(got.astype(int) - expected).max() <= 2


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageReadError, match="empty"):
        read_image(tmp_path / "empty.png")


def test_not_an_image(tmp_path: Path) -> None:
    (tmp_path / "notes.jpg").write_text("these are not pixels")
    with pytest.raises(ImageReadError, match="not a decodable image"):
        read_image(tmp_path / "notes.jpg")


@pytest.mark.parametrize("suffix,kind", [(".jpg", "JPEG"), (".png", "PNG")])
def test_truncated(tmp_path: Path, astronaut: np.ndarray, suffix: str, kind: str) -> None:
    buffer = io.BytesIO()
    Image.fromarray(astronaut).save(buffer, format=kind)
    data = buffer.getvalue()
    (tmp_path / f"cut{suffix}").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match="truncated"):
        read_image(tmp_path / f"cut{suffix}")


@pytest.mark.parametrize("kind,suffix,what", [("TIFF", ".tif", "2 pages"), ("PNG", ".png", "2 frames"),
                                              ("WEBP", ".webp", "2 frames")])
def test_multi_frame_files_are_refused_not_cut_to_one(tmp_path: Path, astronaut: np.ndarray, kind: str,
                                                      suffix: str, what: str) -> None:
    frames = [Image.fromarray(astronaut[:64, :64]), Image.fromarray(astronaut[64:128, :64])]
    path = tmp_path / f"stack{suffix}"
    frames[0].save(path, format=kind, save_all=True, append_images=frames[1:])
    with pytest.raises(ImageReadError, match=what):
        read_image(path)
    frames[0].save(path, format=kind)  # the same file with one frame reads as before
    assert read_image(path).size == (64, 64)


@pytest.mark.parametrize("channels", [1, 3])
def test_jpeg_output_flattens_alpha_on_white(tmp_path: Path, astronaut: np.ndarray, channels: int) -> None:
    color = astronaut[:64, :64] if channels == 3 else astronaut[:64, :64, :1]
    alpha = np.zeros((64, 64), np.uint8)
    alpha[:, 32:] = 255  # left half transparent, right half opaque
    write_image(tmp_path / "flat.jpg", Picture(color=color, alpha=alpha), quality=100)
    out = read_image(tmp_path / "flat.jpg")
    assert out.alpha is None and out.channels == channels
    assert out.color[:, :28].min() >= 250  # transparent -> white, not the hidden colour
    assert np.abs(out.color[:, 36:].astype(int) - color[:, 36:]).mean() < 3  # opaque -> unchanged


def test_write_is_atomic_and_leaves_no_temporary(tmp_path: Path, camera: np.ndarray) -> None:
    target = tmp_path / "out" / "camera.png"
    write_image(target, Picture(color=camera[:, :, None]))
    assert [p.name for p in target.parent.iterdir()] == ["camera.png"]


def test_unknown_output_format(tmp_path: Path, camera: np.ndarray) -> None:
    with pytest.raises(ValueError, match="cannot write"):
        write_image(tmp_path / "camera.xyz", Picture(color=camera[:, :, None]))


@pytest.mark.parametrize("kind,options", [("JPEG", {}), ("JPEG", {"progressive": True}), ("PNG", {})])
def test_bytes_after_the_end_are_no_damage_but_a_cut_anywhere_is(tmp_path: Path, astronaut: np.ndarray, kind: str,
                                                                  options: dict) -> None:
    """A Motion Photo carries its video after the JPEG's end marker and recovery tools pad files
    with zeros: both were refused as truncated, because the end marker was looked for only in
    the last few kilobytes. The structure is walked instead, so a cut is still caught wherever
    it falls, even just before the end marker."""
    buffer = io.BytesIO()
    Image.fromarray(astronaut).save(buffer, format=kind, **options)
    data = buffer.getvalue()
    for trailer in (b"\0" * 8192, b"\0\0\0\x18ftypmp42" + np.random.default_rng(0).bytes(100_000)):
        (tmp_path / "whole").write_bytes(data + trailer)
        assert np.array_equal(read_image(tmp_path / "whole").color, read_image_bytes(data))
    for cut in (1000, len(data) // 2, len(data) - 3):
        (tmp_path / "cut").write_bytes(data[:cut])
        with pytest.raises(ImageReadError, match="truncated"):
            read_image(tmp_path / "cut")


def read_image_bytes(data: bytes) -> np.ndarray:
    from imgrestore.images import decode_image

    return decode_image(data).color


@pytest.mark.parametrize("bits", [1, 8, 16])
def test_a_gray_png_colour_key_is_read_as_alpha(tmp_path: Path, camera: np.ndarray, bits: int) -> None:
    """A gray PNG marks a gray level transparent with tRNS (optipng and Pillow write binary gray
    transparency so); OpenCV drops it, so the hidden pixels came out opaque black."""
    pixels = camera[:32, :48].copy()
    pixels[:, :10] = 0  # the transparent strip, at the key level
    pixels[:, 10:] = np.maximum(pixels[:, 10:], 1)
    stored = {1: pixels > 0, 8: pixels, 16: pixels.astype(np.uint16) * 257}[bits]
    Image.fromarray(stored).save(tmp_path / "keyed.png", transparency=0)
    picture = read_image(tmp_path / "keyed.png")
    assert picture.channels == 1 and picture.alpha is not None
    assert (picture.alpha[:, :10] == 0).all() and (picture.alpha[:, 10:] == np.iinfo(picture.alpha.dtype).max).all()
    write_image(tmp_path / "again.png", picture)
    assert np.array_equal(read_image(tmp_path / "again.png").alpha, picture.alpha)


def test_an_image_over_the_decoders_pixel_limit_is_named_with_what_to_do(tmp_path: Path) -> None:
    """A 40000×40000 header (a decompression bomb, or a real giant) failed with OpenCV's raw
    assertion text as the reason."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 40000, 40000, 8, 0, 0, 0, 0)
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 40001))
            + chunk(b"IEND", b""))
    (tmp_path / "bomb.png").write_bytes(data)
    with pytest.raises(ImageReadError, match="over OpenCV's limit .* OPENCV_IO_MAX_IMAGE_PIXELS"):
        read_image(tmp_path / "bomb.png")



@pytest.mark.parametrize("channels", [1, 3])
def test_a_jpeg_with_damaged_data_is_an_error_not_a_picture(tmp_path: Path, astronaut: np.ndarray,
                                                           channels: int) -> None:
    """OpenCV decoded it into smeared blocks, saying so only on stderr, and the batch restored it."""
    import cv2

    pixels = astronaut[:, :, ::-1] if channels == 3 else cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)
    (tmp_path / "damaged.jpg").write_bytes(damage_jpeg(encode_jpeg(np.ascontiguousarray(pixels))))
    assert cv2.imread(str(tmp_path / "damaged.jpg"), cv2.IMREAD_UNCHANGED) is not None  # what OpenCV did
    with pytest.raises(ImageReadError, match=r"corrupt JPEG data \(.+\)"):
        read_image(tmp_path / "damaged.jpg")


@pytest.mark.parametrize("channels", [1, 3])
def test_jpeg_pixels_are_those_opencv_decodes(tmp_path: Path, astronaut: np.ndarray, channels: int) -> None:
    import cv2

    pixels = np.ascontiguousarray(astronaut[:301, :207, ::-1] if channels == 3 else astronaut[:301, :207, 1])
    data = encode_jpeg(pixels)
    (tmp_path / "photo.jpg").write_bytes(data)
    expected = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    back = read_image(tmp_path / "photo.jpg")
    assert back.channels == channels
    np.testing.assert_array_equal(back.color.reshape(expected.shape), expected[:, :, ::-1] if channels == 3 else expected)


def test_a_few_padding_bytes_before_the_jpeg_end_are_no_damage(tmp_path: Path, astronaut: np.ndarray) -> None:
    """USB webcams write a byte or two between the last scan and the end marker: libjpeg calls it
    "Corrupt JPEG data: 2 extraneous bytes before marker 0xd9", but the picture is whole."""
    data = encode_jpeg(np.ascontiguousarray(astronaut[:64, :64]))
    assert data.endswith(b"\xff\xd9")
    (tmp_path / "webcam.jpg").write_bytes(data[:-2] + b"\x00\x00" + data[-2:])
    assert read_image(tmp_path / "webcam.jpg").size == (64, 64)


def test_a_jpeg_over_the_pixel_limit_is_refused_before_decoding(tmp_path: Path, astronaut: np.ndarray) -> None:
    """The strict decoder has no decompression-bomb guard of its own: OpenCV's limit holds for it."""
    data = bytearray(encode_jpeg(np.ascontiguousarray(astronaut[:16, :16])))
    frame = data.index(b"\xff\xc0")
    data[frame + 5 : frame + 9] = struct.pack(">HH", 40000, 40000)
    (tmp_path / "bomb.jpg").write_bytes(bytes(data))
    with pytest.raises(ImageReadError, match="over OpenCV's limit"):
        read_image(tmp_path / "bomb.jpg")


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_a_tiff_with_alpha_over_the_pixel_limit_is_refused_before_decoding(tmp_path: Path, mode: str) -> None:
    """Pillow decodes these TIFFs (OpenCV gets their alpha wrong), through an opener without
    Pillow's own limit: OpenCV's limit holds for them too."""
    from imgrestore.tiff_tags import ifd_entries

    stream = io.BytesIO()
    Image.fromarray(_random((16, 16, 4 if mode == "RGBA" else 2), np.uint8), mode).save(stream, format="TIFF")
    data = bytearray(stream.getvalue())
    for tag, kind, _, offset in list(ifd_entries(bytes(data), "<", struct.unpack_from("<I", data, 4)[0])):
        if tag in (256, 257):  # ImageWidth, ImageLength
            struct.pack_into("<H" if kind == 3 else "<I", data, offset, 40000)
    (tmp_path / "bomb.tif").write_bytes(bytes(data))
    with pytest.raises(ImageReadError, match="over OpenCV's limit"):
        read_image(tmp_path / "bomb.tif")


def test_a_compressed_tiff_with_damaged_strips_is_an_error_not_a_picture(tmp_path: Path, astronaut: np.ndarray) -> None:
    """OpenCV logged libtiff's "LZWDecode: Not enough data" and handed over the 8-bit picture with
    the damage in it; the batch restored it and counted it done."""
    import cv2

    data = bytearray(cv2.imencode(".tif", np.ascontiguousarray(astronaut[:, :, ::-1]))[1].tobytes())  # LZW
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(64)
    (tmp_path / "damaged.tif").write_bytes(bytes(data))
    with pytest.raises(ImageReadError, match=r"corrupt TIFF data \(libtiff: .+\)"):
        read_image(tmp_path / "damaged.tif")
