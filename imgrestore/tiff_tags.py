"""Add tags to the first IFD of a TIFF that another encoder (OpenCV, Pillow) wrote.

Why here and not in the encoders: OpenCV's TIFF writer takes no colour profile and writes an
alpha channel without the ExtraSamples tag that says it is alpha (libtiff then warns and calls it
an unspecified extra channel). The fix-up appends to the file instead of re-encoding it: the new
values, then a copy of the first IFD with the new entries in tag order, and the header is pointed
at the copy. Every existing offset (strips, other values) stays valid whatever wrote the file;
the old IFD stays behind as unused bytes (12 per entry).
"""

from __future__ import annotations

import struct

ICC_PROFILE = 34675
"""InterColorProfile: the embedded ICC profile (type UNDEFINED)."""
EXTRA_SAMPLES = 338
"""What each sample beyond the colour ones holds (SHORT; 2 = unassociated alpha)."""
UNASSOCIATED_ALPHA = 2
SHORT, UNDEFINED = 3, 7
_OFFSET_LIMIT = 2**32
_ORDERS = {b"II*\x00": "<", b"MM\x00*": ">"}


def with_tags(tiff: bytes, tags: dict[int, bytes | tuple[int, ...]]) -> bytes:
    """`tiff` with each tag of `tags` set in its first IFD, replacing an entry of the same tag:
    bytes are written as UNDEFINED, a tuple of ints as SHORTs. A file this cannot extend
    (BigTIFF, damaged, over 4 GB) comes back unchanged."""
    order = _ORDERS.get(tiff[:4])
    if order is None or not tags:
        return tiff
    try:
        (ifd0,) = struct.unpack_from(order + "I", tiff, 4)
        (count,) = struct.unpack_from(order + "H", tiff, ifd0)
        entries = [tiff[ifd0 + 2 + 12 * index:ifd0 + 14 + 12 * index] for index in range(count)]
        (next_ifd,) = struct.unpack_from(order + "I", tiff, ifd0 + 2 + 12 * count)
    except struct.error:
        return tiff
    values = {tag: (UNDEFINED, value, len(value)) if isinstance(value, bytes)
              else (SHORT, struct.pack(order + f"{len(value)}H", *value), len(value)) for tag, value in tags.items()}
    if len(tiff) + sum(len(value) + 1 for _, value, _ in values.values()) + 12 * (count + len(tags)) + 8 >= _OFFSET_LIMIT:
        return tiff

    def tag_of(entry: bytes) -> int:
        return int(struct.unpack_from(order + "H", entry)[0])

    extended = bytearray(tiff) + b"\x00" * (len(tiff) & 1)  # values and IFDs start on a word boundary
    entries = [entry for entry in entries if tag_of(entry) not in tags]
    for tag, (kind, value, units) in values.items():
        if len(value) <= 4:  # fits in the entry itself, left-justified
            entries.append(struct.pack(order + "HHI", tag, kind, units) + value.ljust(4, b"\x00"))
        else:
            entries.append(struct.pack(order + "HHII", tag, kind, units, len(extended)))
            extended += value + b"\x00" * (len(value) & 1)
    entries.sort(key=tag_of)
    struct.pack_into(order + "I", extended, 4, len(extended))
    extended += struct.pack(order + "H", len(entries)) + b"".join(entries) + struct.pack(order + "I", next_ifd)
    return bytes(extended)
