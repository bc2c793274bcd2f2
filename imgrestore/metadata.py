"""The colour profile, EXIF block, XMP packet, IPTC-IIM and PNG text of an input, carried to its output.

Why: a photographer's camera and phone files carry an ICC profile (Display P3, Adobe RGB) and
EXIF (camera, lens, date, GPS). Dropping the profile makes every viewer read the pixels as sRGB,
which visibly shifts wide-gamut colours; dropping EXIF loses the record of the shot, and dropping
XMP or IPTC the ratings, keywords, captions and credits of a photo library or a news desk
(imgrestore.xmp, imgrestore.iptc). So all are kept by default (`--strip-metadata` drops them,
e.g. for data sets shared without GPS tags).

What is written: the ICC profile unchanged when its colour space still matches the output (an RGB
profile is not put on a gray image), and the EXIF block byte for byte except three values patched
in place: Orientation becomes 1 (the reader already turned the pixels upright, and a viewer
must not turn them again) and PixelXDimension/PixelYDimension become the output's size. Patching
in place, rather than re-serialising with Pillow, keeps maker notes and tags Pillow does not know.

Written into JPEG (APP1/APP2/APP13 segments), PNG (iCCP/eXIf/iTXt and the carried text and
colour chunks) and WebP (ICCP/EXIF/XMP chunks of the extended format) and TIFF (tag 34675 for the
profile, 700 for XMP, 33723 for IPTC; EXIF's descriptive tags, Make, Model, date, artist,
copyright, join the file's first IFD with its Exif and GPS sub-IFDs, rewritten to the file's byte
order, less the maker note, whose private offsets point into the file it came from).
A TIFF input's EXIF is those same tags of its own first IFD. BMP outputs get pixels only. A
malformed block is dropped, never fatal.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from typing import Any

from imgrestore.iptc import iptc_of, photoshop_segment
from imgrestore.png_chunks import after_header, carried_chunks, png_chunk
from imgrestore.resolution import per_inch, stated_dpi
from imgrestore.tiff_tags import (BITS_PER_SAMPLE, EXIF_IFD, ICC_PROFILE, IPTC_NAA, LONG, ORIENTATION, RATIONAL,
                                  SAMPLES_PER_PIXEL, SHORT, X_RESOLUTION, XMP, Y_RESOLUTION, Directory, byte_order,
                                  byte_values, exif_block, exif_directory, first_value, fraction, ifd_entries,
                                  undefined, with_tags)
from imgrestore.xmp import carried_xmp, stated_orientation

_PIXEL_X_DIMENSION_TAG = 0xA002
_PIXEL_Y_DIMENSION_TAG = 0xA003
_EXIF_PREFIX = b"Exif\x00\x00"
_XMP_PREFIX = b"http://ns.adobe.com/xap/1.0/\x00"  # opens a JPEG APP1 segment that holds XMP
_PNG_XMP_KEYWORD = b"XML:com.adobe.xmp"
_ICC_CHUNK = 65519  # largest ICC piece one JPEG APP2 segment holds
_SEGMENT_MAX = 65533  # largest payload of one JPEG segment (its length field counts itself)


@dataclass(frozen=True)
class ImageMetadata:
    """icc_profile: the embedded ICC profile. exif: the EXIF block as a TIFF structure (starting
    b"II*\\0" or b"MM\\0*"), with Orientation already 1. xmp: the XMP packet (UTF-8), with
    Orientation already 1 and no declarations of data appended to the input (imgrestore.xmp).
    png_chunks: a PNG input's text and colour chunks, whole, for a PNG output (imgrestore.png_chunks).
    iptc: a JPEG or TIFF input's IPTC-IIM stream, for a JPEG or TIFF output (imgrestore.iptc)."""

    icc_profile: bytes | None = None
    exif: bytes | None = None
    xmp: bytes | None = None
    png_chunks: tuple[bytes, ...] = ()
    iptc: bytes | None = None

    def __bool__(self) -> bool:
        return bool(self.icc_profile or self.exif or self.xmp or self.png_chunks or self.iptc)


_HEADER_FORMATS = ("PNG", "JPEG", "TIFF", "WEBP", "BMP")


def open_unlimited(data: bytes) -> Any:
    """Pillow's parser on an encoded file's headers (pixels decode only on `.load()`), without
    Pillow's pixel-count limit.

    Why: `Image.open` refuses images over 179 megapixels (a guard for code that then decodes
    them) and warns above 89. Here Pillow decodes the pixels of TIFFs alone: gray + alpha ones,
    and compressed ones to check them after OpenCV decoded them under its own 1-gigapixel limit;
    so that guard would only fail a photographer's stitched panorama or print noise; the format's
    own opener is called directly instead of changing Pillow's global limit, which other threads
    and the user's code share."""
    from PIL import Image, UnidentifiedImageError

    Image.init()
    for name in _HEADER_FORMATS:
        opener, accept = Image.OPEN.get(name, (None, None))
        if opener is not None and (accept is None or accept(data[:16]) is True):
            try:
                return opener(io.BytesIO(data), None)
            except (SyntaxError, IndexError, TypeError, struct.error) as error:  # as Image.open words them
                raise UnidentifiedImageError(f"cannot parse the {name} header: {error}") from None
    raise UnidentifiedImageError("not a PNG, JPEG, TIFF, WebP or BMP file")


@dataclass(frozen=True)
class FileHeader:
    """What the reader takes from an encoded file's headers before OpenCV decodes its pixels."""

    orientation: int | None = None
    """EXIF orientation 1..8 (XMP's where EXIF states none), or None."""
    metadata: ImageMetadata | None = None
    """What to carry to the output, or None."""
    frames: int = 1
    """Pages of a TIFF, frames of an animated PNG or WebP."""
    format: str = ""
    mode: str = ""
    """Pillow's name for the stored colour model ("RGB", "CMYK", "P", ...), or ""."""
    tiff_samples: int = 0
    """Samples per pixel of a TIFF (2 = gray + alpha), read from its first IFD; 0 otherwise."""
    compression: str = ""
    """Pillow's name for a TIFF's compression ("raw", "tiff_lzw", "tiff_adobe_deflate", ...), or ""."""
    tiff_bits: int = 0
    """Bits per sample of a TIFF (its first sample's), read from its first IFD; 0 otherwise."""
    pixels: int = 0
    """Width × height as the header says; 0 when unknown."""
    tiff_orientation: int = 0
    """A TIFF's own Orientation tag (the one its decoders apply), 0 when absent or not a TIFF."""
    dpi: tuple[float, float] | None = None
    """The print resolution the file states, (x, y) pixels per inch of the stored pixels, or None."""


def _frame_count(image: Any) -> int:
    """Pages or frames; 1 when a damaged page chain makes them uncountable (the first page is
    still decodable, as before frames were counted)."""
    try:
        return int(getattr(image, "n_frames", 1))
    except Exception:  # Pillow walks the TIFF page chain here and may trip on any byte of it
        return 1


def read_header(data: bytes) -> FileHeader:
    """One pass of Pillow's parser over an encoded file's headers, never its pixels. A file
    Pillow cannot parse gives an empty header: the pixel decoder then says what is wrong."""
    from PIL import UnidentifiedImageError

    samples, bits, turn = _tiff_layout(data)
    try:
        with open_unlimited(data) as image:
            icc, exif, xmp = image.info.get("icc_profile") or None, image.info.get("exif"), image.info.get("xmp")
            exif = exif.removeprefix(_EXIF_PREFIX) if isinstance(exif, bytes) else None
            frames, kind, mode = _frame_count(image), image.format or "", image.mode or ""
            pixels = image.size[0] * image.size[1]
            compression = str(image.info.get("compression") or "")
            dpi = stated_dpi(image, exif, data)
            iptc = iptc_of(image.info.get("photoshop"), data if image.format == "TIFF" else None)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        return FileHeader(tiff_samples=samples, tiff_bits=bits, tiff_orientation=turn)
    # EXIF's orientation (a TIFF's own tag), else XMP's: read here, by namespace, for every format
    # alike (Pillow's getexif() falls back on XMP for some formats, and only under the prefix "tiff")
    orientation = (first_value(exif, ORIENTATION) if exif else turn) or (
        stated_orientation(xmp) if isinstance(xmp, bytes) else None)
    if exif:
        exif = _patched_exif(exif, {ORIENTATION: 1})
    elif kind == "TIFF":  # a TIFF's EXIF tags are its own IFD's (Pillow gives no block for them)
        exif = exif_block(exif_directory(data))
    else:
        exif = None
    xmp = carried_xmp(xmp) if isinstance(xmp, bytes) else None
    png_chunks = carried_chunks(data) if kind == "PNG" else ()
    metadata = ImageMetadata(icc_profile=icc, exif=exif, xmp=xmp, png_chunks=png_chunks, iptc=iptc)
    return FileHeader(orientation, metadata if metadata else None, frames, kind, mode, samples, compression, bits,
                      pixels, turn, dpi)


def _tiff_layout(data: bytes) -> tuple[int, int, int]:
    """Samples per pixel, bits of the first sample (1 and 1 when absent, as the format says) and
    the Orientation tag (0 when absent), from a TIFF's first IFD; (0, 0, 0) for other files."""
    if byte_order(data) is None:
        return 0, 0, 0
    return (first_value(data, SAMPLES_PER_PIXEL) or 1, first_value(data, BITS_PER_SAMPLE) or 1,
            first_value(data, ORIENTATION) or 0)


def embed_metadata(encoded: bytes, suffix: str, metadata: ImageMetadata | None, size: tuple[int, int],
                   channels: int, alpha: bool, dpi: tuple[float, float] | None = None) -> bytes:
    """`encoded` (a JPEG, PNG, WebP or TIFF file of `size` = (height, width)) with `metadata`
    written in, its EXIF resolution set to `dpi` where it states one; a BMP, or no metadata,
    comes back unchanged."""
    if not metadata:
        return encoded
    icc = metadata.icc_profile if _profile_fits(metadata.icc_profile, channels) else None
    exif = None
    if metadata.exif:
        height, width = size
        values: dict[int, float] = {_PIXEL_X_DIMENSION_TAG: width, _PIXEL_Y_DIMENSION_TAG: height}
        factor = per_inch(metadata.exif)  # the block keeps its own unit
        if dpi is not None and factor is not None:
            values.update({X_RESOLUTION: dpi[0] / factor, Y_RESOLUTION: dpi[1] / factor})
        exif = _patched_exif(metadata.exif, values)
    xmp = carried_xmp(metadata.xmp, size) if metadata.xmp else None
    if not icc and not exif and not xmp and not metadata.png_chunks and not metadata.iptc:
        return encoded
    suffix = suffix.lower()
    if suffix in (".jpg", ".jpeg"):
        return _into_jpeg(encoded, icc, exif, xmp, metadata.iptc)
    if suffix == ".png":
        return _into_png(encoded, icc, exif, xmp, metadata.png_chunks)
    if suffix == ".webp":
        return _into_webp(encoded, icc, exif, xmp, size, alpha)
    if suffix in (".tif", ".tiff"):
        tags: Directory = exif_directory(exif) if exif else {}
        if icc:
            tags[ICC_PROFILE] = undefined(icc)
        if xmp:
            tags[XMP] = byte_values(xmp)
        if metadata.iptc:
            tags[IPTC_NAA] = undefined(metadata.iptc)
        return with_tags(encoded, tags)
    return encoded


def _profile_fits(profile: bytes | None, channels: int) -> bool:
    """The profile's data colour space (header bytes 16..20) matches the output's channels."""
    if not profile or len(profile) < 128:
        return False
    return profile[16:20] == (b"GRAY" if channels == 1 else b"RGB ")


# --- EXIF (a TIFF structure): patch SHORT/LONG values in place ---------------------------------


def _patched_exif(tiff: bytes, values: dict[int, float]) -> bytes | None:
    """`tiff` with the given tags of IFD0 or the Exif IFD set (where present and the value fits
    their type: SHORT, LONG or RATIONAL); None when the structure is malformed."""
    order = byte_order(tiff)
    if order is None:
        return None
    try:
        patched = bytearray(tiff)
        (ifd0,) = struct.unpack_from(order + "I", tiff, 4)
        entries = [entry for entry in ifd_entries(tiff, order, ifd0) if entry[2] == 1]
        pointer = next((offset for tag, kind, _, offset in entries if tag == EXIF_IFD and kind == LONG), None)
        if pointer is not None:
            (exif_ifd,) = struct.unpack_from(order + "I", tiff, pointer)
            entries += [entry for entry in ifd_entries(tiff, order, exif_ifd) if entry[2] == 1]
        for tag, kind, _, offset in entries:
            if tag in values:
                value = values[tag]
                if kind == SHORT and value <= 0xFFFF:
                    struct.pack_into(order + "H", patched, offset, int(value))
                elif kind == LONG:
                    struct.pack_into(order + "I", patched, offset, int(value))
                elif kind == RATIONAL:
                    struct.pack_into(order + "II", patched, offset, *fraction(value))
        return bytes(patched)
    except struct.error:
        return None


# --- containers --------------------------------------------------------------------------------


def _into_jpeg(jpeg: bytes, icc: bytes | None, exif: bytes | None, xmp: bytes | None, iptc: bytes | None) -> bytes:
    """APP1 (Exif), APP1 (XMP), APP2 (ICC_PROFILE, split into numbered pieces) then APP13 (IPTC)
    after SOI and any APP0. An XMP packet or IIM stream over one segment is left out (JPEG's
    extended XMP is not written)."""
    position = 2
    if jpeg[2:4] == b"\xff\xe0":
        (length,) = struct.unpack_from(">H", jpeg, 4)
        position = 4 + length
    segments = b""
    if exif and len(_EXIF_PREFIX) + len(exif) <= _SEGMENT_MAX:
        segments += _jpeg_segment(0xE1, _EXIF_PREFIX + exif)
    if xmp and len(_XMP_PREFIX) + len(xmp) <= _SEGMENT_MAX:
        segments += _jpeg_segment(0xE1, _XMP_PREFIX + xmp)
    if icc:
        pieces = [icc[start:start + _ICC_CHUNK] for start in range(0, len(icc), _ICC_CHUNK)]
        if len(pieces) <= 255:
            for number, piece in enumerate(pieces, 1):
                segments += _jpeg_segment(0xE2, b"ICC_PROFILE\x00" + bytes([number, len(pieces)]) + piece)
    if iptc and len(photoshop_segment(iptc)) <= _SEGMENT_MAX:
        segments += _jpeg_segment(0xED, photoshop_segment(iptc))
    return jpeg[:position] + segments + jpeg[position:]


def _jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def _into_png(png: bytes, icc: bytes | None, exif: bytes | None, xmp: bytes | None,
              carried: tuple[bytes, ...]) -> bytes:
    """iCCP, eXIf, the XMP iTXt and the input's other carried chunks right after IHDR (all must,
    or should, precede the image data)."""
    chunks = b""
    if icc:
        chunks += png_chunk(b"iCCP", b"ICC profile\x00\x00" + zlib.compress(icc))
    if exif:
        chunks += png_chunk(b"eXIf", exif)
    if xmp:  # keyword, no compression (flag, method), no language tag, no translated keyword
        chunks += png_chunk(b"iTXt", _PNG_XMP_KEYWORD + b"\x00\x00\x00\x00\x00" + xmp)
    chunks += b"".join(carried)
    return after_header(png, chunks)


def _into_webp(webp: bytes, icc: bytes | None, exif: bytes | None, xmp: bytes | None, size: tuple[int, int],
               alpha: bool) -> bytes:
    """The extended format: VP8X (flags, canvas size), ICCP, the image chunks, EXIF, XMP."""
    chunks = _riff_chunks(webp)
    if chunks and chunks[0][0] == b"VP8X":
        header = bytearray(chunks.pop(0)[1])
    else:
        height, width = size
        header = bytearray(b"\x00" * 4 + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little"))
        if alpha:
            header[0] |= 0x10
    header[0] |= (0x20 if icc else 0) | (0x08 if exif else 0) | (0x04 if xmp else 0)
    body = _riff_chunk(b"VP8X", bytes(header))
    if icc:
        body += _riff_chunk(b"ICCP", icc)
    body += b"".join(_riff_chunk(kind, payload) for kind, payload in chunks)
    if exif:
        body += _riff_chunk(b"EXIF", exif)
    if xmp:
        body += _riff_chunk(b"XMP ", xmp)
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def _riff_chunks(webp: bytes) -> list[tuple[bytes, bytes]]:
    chunks, position = [], 12
    while position + 8 <= len(webp):
        kind = webp[position:position + 4]
        (length,) = struct.unpack_from("<I", webp, position + 4)
        chunks.append((kind, webp[position + 8:position + 8 + length]))
        position += 8 + length + (length & 1)
    return chunks


def _riff_chunk(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack("<I", len(payload)) + payload + (b"\x00" if len(payload) & 1 else b"")
