"""Add tags to the first IFD of a TIFF that another encoder (OpenCV, Pillow) wrote.

Why here and not in the encoders: OpenCV's TIFF writer takes no colour profile and no EXIF, and
writes an alpha channel without the ExtraSamples tag that says it is alpha (libtiff then warns
and calls it an unspecified extra channel). The fix-up appends to the file instead of re-encoding
it: the new values and directories, then a copy of the first IFD with the new entries in tag
order, and the header is pointed at the copy. Every existing offset (strips, other values) stays
valid whatever wrote the file; the old IFD stays behind as unused bytes (12 per entry).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Union

ICC_PROFILE = 34675
"""InterColorProfile: the embedded ICC profile (type UNDEFINED)."""
XMP = 700
"""XMLPacket: the XMP packet (type BYTE, as the XMP specification asks)."""
IPTC_NAA = 33723
"""The IPTC-IIM stream (type UNDEFINED or LONG: its bytes in stream order either way)."""
EXTRA_SAMPLES = 338
"""What each sample beyond the colour ones holds (SHORT; 2 = unassociated alpha)."""
UNASSOCIATED_ALPHA = 2
EXIF_IFD, GPS_IFD = 34665, 34853
BITS_PER_SAMPLE, ORIENTATION, SAMPLES_PER_PIXEL = 258, 274, 277
BYTE, SHORT, LONG, RATIONAL, UNDEFINED, IFD = 1, 3, 4, 5, 7, 13
X_RESOLUTION, Y_RESOLUTION, RESOLUTION_UNIT = 282, 283, 296
"""Pixels per ResolutionUnit (RATIONAL) across and down; the unit (SHORT: 1 none, 2 inch, 3 cm)."""
_UNIT_FORMATS = {1: "B", 2: "B", 3: "H", 4: "I", 5: "II", 6: "b", 7: "B", 8: "h", 9: "i", 10: "ii", 11: "f",
                 12: "d", 13: "I"}
_OFFSET_LIMIT = 2**32
_ORDERS = {b"II*\x00": "<", b"MM\x00*": ">"}

_IFD0_DESCRIPTION_TAGS = frozenset({0x010E, 0x010F, 0x0110, 0x0131, 0x0132, 0x013B, 0x8298})
"""ImageDescription, Make, Model, Software, DateTime, Artist, Copyright: what EXIF's first IFD
says of the shot and its author. Its other tags describe the JPEG it came with (orientation,
resolution, YCbCr layout, the thumbnail), and the output TIFF has its own."""
_DROPPED_EXIF_TAGS = frozenset({0x927C, 0xA005})
"""MakerNote (a maker's private block whose offsets point into the file it came from, so it
would be garbage anywhere else) and the Interoperability IFD pointer (JPEG-only details)."""


@dataclass(frozen=True)
class Field:
    """A tag's value as it was stored: its TIFF type, count and bytes in `order` ("<" or ">")."""

    kind: int
    count: int
    data: bytes
    order: str

    def encoded(self, order: str) -> bytes:
        """The value's bytes in `order`: multi-byte units are swapped where the orders differ."""
        unit = _UNIT_FORMATS[self.kind]
        if order == self.order or struct.calcsize(unit) == 1:
            return self.data
        return struct.pack(order + unit * self.count, *struct.unpack(self.order + unit * self.count, self.data))


Directory = dict[int, Union[Field, "Directory"]]
"""An IFD: tag → value, or → a sub-IFD (Exif, GPS) that the tag points to."""


def undefined(data: bytes) -> Field:
    return Field(UNDEFINED, len(data), data, "<")


def byte_values(data: bytes) -> Field:
    return Field(BYTE, len(data), data, "<")


def rational(value: float) -> Field:
    return Field(RATIONAL, 1, struct.pack("<II", *fraction(value)), "<")


def fraction(value: float) -> tuple[int, int]:
    """A positive number as a TIFF RATIONAL's numerator and denominator (each 32-bit)."""
    from fractions import Fraction

    exact = Fraction(value).limit_denominator(10_000)
    numerator, denominator = exact.numerator, exact.denominator
    while numerator >= 2**32:
        numerator, denominator = numerator // 2, max(1, denominator // 2)
    return max(1, numerator), denominator


def shorts(*values: int) -> Field:
    return Field(SHORT, len(values), struct.pack(f"<{len(values)}H", *values), "<")


def byte_order(tiff: bytes) -> str | None:
    """"<" or ">" for a classic TIFF structure (a .tif file, or an EXIF block), else None."""
    return _ORDERS.get(tiff[:4])


def ifd_entries(tiff: bytes, order: str, ifd: int) -> Iterator[tuple[int, int, int, int]]:
    """(tag, type, count, offset of its value) of each entry of the IFD at `ifd`: the value sits in
    the entry itself when it fits 4 bytes (or its type is unknown), else where the entry points.
    Raises struct.error where the structure runs past the end."""
    (count,) = struct.unpack_from(order + "H", tiff, ifd)
    for index in range(count):
        entry = ifd + 2 + 12 * index
        tag, kind, number = struct.unpack_from(order + "HHI", tiff, entry)
        size = struct.calcsize(_UNIT_FORMATS[kind]) * number if kind in _UNIT_FORMATS else 0
        yield tag, kind, number, entry + 8 if size <= 4 else struct.unpack_from(order + "I", tiff, entry + 8)[0]


def first_value(tiff: bytes, tag: int) -> int | None:
    """The first SHORT or LONG value of `tag` in a TIFF's first IFD; None when absent, or when the
    file is no classic TIFF or too damaged to read."""
    field = _first_field(tiff, tag)
    if field is None or field.kind not in (SHORT, LONG) or not field.count:
        return None
    return int(struct.unpack_from(field.order + _UNIT_FORMATS[field.kind], field.data)[0])


def first_rational(tiff: bytes, tag: int) -> float | None:
    """The first RATIONAL value of `tag` in a TIFF's first IFD, as a number; None when absent,
    unreadable or with a zero denominator."""
    field = _first_field(tiff, tag)
    if field is None or field.kind != RATIONAL or not field.count:
        return None
    numerator, denominator = struct.unpack_from(field.order + "II", field.data)
    return numerator / denominator if denominator else None


def raw_value(tiff: bytes, tag: int) -> bytes | None:
    """The stored bytes of `tag`'s value in a TIFF's first IFD, whatever its type; None when
    absent, unreadable or running past the end."""
    field = _first_field(tiff, tag)
    return None if field is None else field.data


def _first_field(tiff: bytes, tag: int) -> Field | None:
    """`tag`'s entry in a TIFF's first IFD with its value's bytes; None when absent, of a type
    this reader does not know, or when the file is no classic TIFF or too damaged to read."""
    order = byte_order(tiff)
    if order is None:
        return None
    try:
        (ifd0,) = struct.unpack_from(order + "I", tiff, 4)
        for found, kind, count, offset in ifd_entries(tiff, order, ifd0):
            if found == tag and kind in _UNIT_FORMATS:
                return _stored(tiff, order, kind, count, offset)
    except struct.error:
        return None
    return None


def _stored(tiff: bytes, order: str, kind: int, count: int, start: int) -> Field | None:
    """The value of an entry of a known type as stored at `start`; None when it runs past the end."""
    size = struct.calcsize(_UNIT_FORMATS[kind]) * count
    return Field(kind, count, tiff[start:start + size], order) if start + size <= len(tiff) else None


def with_tags(tiff: bytes, tags: Directory) -> bytes:
    """`tiff` with each of `tags` set in its first IFD, replacing an entry of the same tag. A file
    this cannot extend (BigTIFF, damaged, over 4 GB) comes back unchanged."""
    order = byte_order(tiff)
    if order is None or not tags:
        return tiff
    try:
        (ifd0,) = struct.unpack_from(order + "I", tiff, 4)
        (count,) = struct.unpack_from(order + "H", tiff, ifd0)
        kept = [tiff[ifd0 + 2 + 12 * index:ifd0 + 14 + 12 * index] for index in range(count)]
        (next_ifd,) = struct.unpack_from(order + "I", tiff, ifd0 + 2 + 12 * count)
    except struct.error:
        return tiff
    if len(tiff) + _size(tags) + 12 * count >= _OFFSET_LIMIT:
        return tiff
    extended = bytearray(tiff)
    entries = {struct.unpack_from(order + "H", entry)[0]: entry for entry in kept}
    entries.update(_entries(extended, order, tags))
    _align(extended)
    struct.pack_into(order + "I", extended, 4, len(extended))
    extended += _directory(order, entries, next_ifd)
    return bytes(extended)


def _entries(out: bytearray, order: str, tags: Directory) -> dict[int, bytes]:
    """12-byte IFD entries for `tags`, appending to `out` each value over 4 bytes and each
    sub-IFD (values and IFDs start on a word boundary, as TIFF asks)."""
    entries = {}
    for tag, value in tags.items():
        if isinstance(value, dict):
            sub_entries = _entries(out, order, value)
            _align(out)
            entries[tag] = struct.pack(order + "HHII", tag, LONG, 1, len(out))
            out += _directory(order, sub_entries, 0)
            continue
        data = value.encoded(order)
        if len(data) <= 4:  # held in the entry itself, left-justified
            entries[tag] = struct.pack(order + "HHI", tag, value.kind, value.count) + data.ljust(4, b"\x00")
        else:
            _align(out)
            entries[tag] = struct.pack(order + "HHII", tag, value.kind, value.count, len(out))
            out += data
    return entries


def _directory(order: str, entries: dict[int, bytes], next_ifd: int) -> bytes:
    return (struct.pack(order + "H", len(entries)) + b"".join(entries[tag] for tag in sorted(entries))
            + struct.pack(order + "I", next_ifd))


def _align(out: bytearray) -> None:
    if len(out) & 1:
        out += b"\x00"


def _size(tags: Directory) -> int:
    """Bytes that appending `tags` takes at most."""
    return sum(_size(value) + 18 if isinstance(value, dict) else len(value.data) + 13 for value in tags.values()) + 8


def exif_directory(exif: bytes) -> Directory:
    """What of an EXIF block (a TIFF structure, as JPEG's APP1 holds it) belongs in a TIFF file's
    first IFD: the descriptive tags of its IFD0 (_IFD0_DESCRIPTION_TAGS) and its Exif and GPS
    sub-IFDs, less what only made sense in the file it came from (_DROPPED_EXIF_TAGS). Empty
    when the block is malformed."""
    order = byte_order(exif)
    if order is None:
        return {}
    try:
        (ifd0,) = struct.unpack_from(order + "I", exif, 4)
        first = _read_directory(exif, order, ifd0)
        kept: Directory = {tag: value for tag, value in first.items() if tag in _IFD0_DESCRIPTION_TAGS}
        for pointer in (EXIF_IFD, GPS_IFD):
            value = first.get(pointer)
            if isinstance(value, Field) and value.kind in (LONG, IFD) and value.count == 1:
                (offset,) = struct.unpack(order + "I", value.data)
                sub = {tag: item for tag, item in _read_directory(exif, order, offset).items()
                       if tag not in _DROPPED_EXIF_TAGS}
                if sub:
                    kept[pointer] = sub
        return kept
    except (struct.error, KeyError, ValueError):
        return {}


def _read_directory(tiff: bytes, order: str, offset: int) -> dict[int, Field]:
    fields = {}
    for tag, kind, number, start in ifd_entries(tiff, order, offset):
        if kind not in _UNIT_FORMATS:
            continue  # a type this reader does not know: its size is unknown too
        field = _stored(tiff, order, kind, number, start)
        if field is None:
            raise ValueError("a value runs past the end of the EXIF block")
        fields[tag] = field
    return fields


def exif_block(directory: Directory) -> bytes | None:
    """A standalone EXIF block (a little-endian TIFF structure, as JPEG's APP1 holds it) with
    `directory` as its first IFD, or None when it is empty: how a TIFF input's own EXIF tags
    (exif_directory of the file) travel to an output of any format."""
    if not directory:
        return None
    block = bytearray(b"II*\x00\x00\x00\x00\x00")
    entries = _entries(block, "<", directory)
    _align(block)
    struct.pack_into("<I", block, 4, len(block))
    block += _directory("<", entries, 0)
    return bytes(block)
