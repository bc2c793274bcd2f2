"""XMP (ratings, keywords, captions) travels from input to output in every format, with what became
false fixed: orientation upright, the pixel size the output's, no claim of a Motion Photo video or
Ultra HDR gain map the output does not have. A packet that XMP forbids is dropped, not fatal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image, PngImagePlugin

from imgrestore.cli import cli
from imgrestore.images import read_image
from imgrestore.xmp import carried_xmp, stated_orientation

NAMESPACES = ('xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:T="http://ns.adobe.com/tiff/1.0/" '
              'xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
              'xmlns:GCamera="http://ns.google.com/photos/1.0/camera/" '
              'xmlns:Container="http://ns.google.com/photos/1.0/container/" '
              'xmlns:Item="http://ns.google.com/photos/1.0/container/item/" '
              'xmlns:hdrgm="http://ns.adobe.com/hdr-gain-map/1.0/" xmlns:xmpNote="http://ns.adobe.com/xmp/note/"')
KEPT = '<dc:subject><rdf:Bag><rdf:li>harbour</rdf:li><rdf:li>dusk</rdf:li></rdf:Bag></dc:subject>'
MOTION_PHOTO = ('<Container:Directory><rdf:Seq><rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="image/jpeg" '
                'Item:Semantic="Primary"/></rdf:li><rdf:li rdf:parseType="Resource"><Container:Item '
                'Item:Mime="video/mp4" Item:Semantic="MotionPhoto" Item:Length="52011"/></rdf:li></rdf:Seq>'
                '</Container:Directory>')


def _packet(orientation: int | None = 6, appended: bool = True, padding: int = 100) -> bytes:
    """A camera-app packet as a phone writes it: rating and keywords, orientation under a prefix
    other than "tiff" (prefixes are the file's choice), its size as an element, a Motion Photo."""
    attributes = 'xmp:Rating="4"' + (f' T:Orientation="{orientation}"' if orientation else "")
    attributes += ' exif:PixelXDimension="80"'
    if appended:
        attributes += (' GCamera:MotionPhoto="1" GCamera:MotionPhotoVersion="1" '
                       'GCamera:MotionPhotoPresentationTimestampUs="968644" hdrgm:Version="1.0" '
                       "xmpNote:HasExtendedXMP='0123456789ABCDEF'")
    body = KEPT + '<exif:PixelYDimension>60</exif:PixelYDimension>' + (MOTION_PHOTO if appended else "")
    return ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n<x:xmpmeta xmlns:x="adobe:ns:meta/">'
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            f'<rdf:Description rdf:about="" {NAMESPACES} {attributes}>{body}</rdf:Description>'
            f'</rdf:RDF></x:xmpmeta>\n{" " * padding}\n<?xpacket end="w"?>').encode()


def _save(image: Image.Image, path: Path, packet: bytes, exif_orientation: int | None = None) -> None:
    """`image` saved with `packet` where its format keeps XMP (and an EXIF orientation if given)."""
    suffix = path.suffix
    options: dict = {}
    if exif_orientation is not None and suffix != ".tif":
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        options["exif"] = exif.tobytes()
    if suffix == ".png":
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", packet.decode())
        options["pnginfo"] = info
    elif suffix == ".tif":
        options["tiffinfo"] = {700: packet, **({0x0112: exif_orientation} if exif_orientation else {})}
    else:
        options["xmp"] = packet
    image.save(path, quality=95, **options)


def _xmp_of(path: Path) -> bytes:
    with Image.open(path) as image:
        return image.info.get("xmp", b"")


def test_carried_packet_is_the_input_less_what_became_false() -> None:
    carried = carried_xmp(_packet(), size=(120, 160)).decode()
    expected = _packet(orientation=1, appended=False).decode()
    expected = expected.replace('exif:PixelXDimension="80"', 'exif:PixelXDimension="160"')
    expected = expected.replace("<exif:PixelYDimension>60<", "<exif:PixelYDimension>120<")
    assert carried == expected  # byte for byte elsewhere: keywords, prefixes, padding, xpacket wrapper
    assert stated_orientation(_packet(8)) == 8 and stated_orientation(_packet(None)) is None
    plain = _packet(orientation=None, appended=False)
    assert carried_xmp(plain + b"\x00" * 8) == plain  # NUL padding after the packet, as some writers leave it


@pytest.mark.parametrize("packet", [
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaa">]><x:xmpmeta xmlns:x="adobe:ns:meta/">&a;</x:xmpmeta>',
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>',  # cut short
    "<x:xmpmeta xmlns:x='adobe:ns:meta/'>é</x:xmpmeta>".encode("latin-1"),  # not UTF-8
])
def test_forbidden_or_broken_packets_are_dropped(packet: bytes) -> None:
    assert carried_xmp(packet) is None


@pytest.mark.parametrize("out_suffix", [".jpg", ".png", ".webp", ".tif"])
@pytest.mark.parametrize("in_suffix", [".jpg", ".png", ".webp", ".tif"])
def test_upscale_carries_xmp_between_every_format(tmp_path: Path, astronaut: np.ndarray, in_suffix: str,
                                                  out_suffix: str) -> None:
    """Stored on its side by XMP alone: the output is turned upright, twice the size, and its
    packet says so, keeps the rating and keywords and no longer claims a video."""
    source = tmp_path / f"shot{in_suffix}"
    _save(Image.fromarray(astronaut[:60, :80]), source, _packet())
    target = tmp_path / f"out{out_suffix}"
    result = CliRunner().invoke(cli, ["upscale", str(source), str(target), "--scale", "2"])
    assert result.exit_code == 0, result.output

    with Image.open(target) as image:
        assert image.size == (120, 160)  # turned a quarter, then doubled
    packet = _xmp_of(target)
    assert b'xmp:Rating="4"' in packet and KEPT.encode() in packet
    assert b'T:Orientation="1"' in packet
    assert b'exif:PixelXDimension="120"' in packet and b"<exif:PixelYDimension>160<" in packet
    for claim in (b"MotionPhoto", b"Container:Directory", b"hdrgm:Version", b"HasExtendedXMP"):
        assert claim not in packet
    if out_suffix == ".webp":  # the extended format's flags announce the XMP chunk, as readers require
        data = target.read_bytes()
        assert data[12:16] == b"VP8X" and data[20] & 0x04


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp", ".tif"])
def test_xmp_orientation_turns_the_pixels_where_exif_states_none(tmp_path: Path, suffix: str) -> None:
    stored = np.zeros((4, 6, 3), np.uint8)
    stored[0, 0] = 255  # a white corner shows which way the picture turned
    source = tmp_path / f"shot{suffix}"
    _save(Image.fromarray(stored), source, _packet(orientation=6))
    picture = read_image(source)
    assert picture.color.shape[:2] == (6, 4)  # orientation 6: turn a quarter clockwise to view
    assert picture.color[0, -1].mean() > 127 and picture.color[0, 0].mean() < 128
    assert b'T:Orientation="1"' in picture.metadata.xmp


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp", ".tif"])
def test_exif_orientation_outranks_xmp(tmp_path: Path, suffix: str) -> None:
    """EXIF (a TIFF's own tag) says upright, XMP says on its side: EXIF wins, as Pillow and
    exiftool read it, and the packet is made to agree."""
    source = tmp_path / f"shot{suffix}"
    _save(Image.fromarray(np.zeros((4, 6, 3), np.uint8)), source, _packet(orientation=6), exif_orientation=1)
    picture = read_image(source)
    assert picture.color.shape[:2] == (4, 6)
    assert b'T:Orientation="1"' in picture.metadata.xmp


def test_strip_metadata_drops_xmp(tmp_path: Path, astronaut: np.ndarray) -> None:
    source = tmp_path / "shot.png"
    _save(Image.fromarray(astronaut[:60, :80]), source, _packet())
    result = CliRunner().invoke(cli, ["denoise", str(source), str(tmp_path / "out.png"), "--strip-metadata"])
    assert result.exit_code == 0, result.output
    assert _xmp_of(tmp_path / "out.png") == b""


def test_packet_over_one_jpeg_segment_is_left_out_of_a_jpeg_only(tmp_path: Path, astronaut: np.ndarray) -> None:
    """JPEG holds at most 65,502 bytes of XMP in its main segment (larger ones spill into extended
    XMP, not written here): such a packet is left out of a JPEG output, kept in a PNG."""
    source = tmp_path / "shot.png"
    _save(Image.fromarray(astronaut[:60, :80]), source, _packet(orientation=None, padding=70_000))
    for suffix in (".jpg", ".png"):
        result = CliRunner().invoke(cli, ["denoise", str(source), str(tmp_path / f"out{suffix}"), "--sigma", "5"])
        assert result.exit_code == 0, result.output
        with Image.open(tmp_path / f"out{suffix}") as image:
            image.load()  # the file decodes whole
    assert _xmp_of(tmp_path / "out.jpg") == b""
    assert b'xmp:Rating="4"' in _xmp_of(tmp_path / "out.png")
