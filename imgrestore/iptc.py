"""IPTC-IIM (caption, headline, keywords, by-line, credit, copyright), carried between JPEG and TIFF.

Why: news agencies, photo desks and stock libraries read these fields in their IIM form (Photo
Mechanic writes them, newsroom systems index them); a restored or upscaled photo that loses them
arrives at the desk without its caption and credit. XMP holds the same fields for newer tools
(imgrestore.xmp); IIM is what the older ones read, so both travel.

Read from a JPEG's Photoshop APP13 segment (image resource 0x0404) or a TIFF's IPTC-NAA tag
(33723); written the same way, as the IIM stream byte for byte. A JPEG gets the MD5 digest
resource (0x0425) beside it, as Photoshop and exiftool write it: it tells a reader that the IIM
was not changed behind the XMP's back. PNG and WebP have no place for IIM. The stream is cut
after its last whole dataset (TIFF pads it); one that does not start like IIM is dropped.
"""

from __future__ import annotations

import hashlib
import struct

from imgrestore.tiff_tags import IPTC_NAA, raw_value

PHOTOSHOP_SIGNATURE = b"Photoshop 3.0\x00"
_IPTC_RESOURCE, _DIGEST_RESOURCE = 0x0404, 0x0425
_TAG_MARKER = 0x1C


def iptc_of(photoshop_resources: object, tiff: bytes | None) -> bytes | None:
    """The IIM stream of a JPEG (Pillow's `info["photoshop"]`, resource id → bytes) or of a TIFF
    (the file itself, `tiff`); None where there is none, or none that reads as IIM."""
    stream = None
    if isinstance(photoshop_resources, dict):
        stream = photoshop_resources.get(_IPTC_RESOURCE)
    elif tiff is not None:
        stream = raw_value(tiff, IPTC_NAA)
    if not isinstance(stream, bytes):
        return None
    end = _datasets_end(stream)
    return stream[:end] if end else None  # TIFF writers pad it with zeros to whole LONGs


def _datasets_end(stream: bytes) -> int:
    """Where the stream's last whole dataset ends (0x1C, record, number, a 2-byte size, or an
    extended size of n bytes flagged by the high bit, then the value); 0 when it does not begin
    with one."""
    position = 0
    while position + 5 <= len(stream) and stream[position] == _TAG_MARKER:
        (size,) = struct.unpack_from(">H", stream, position + 3)
        header = 5
        if size & 0x8000:  # extended dataset: the size is in the next (size & 0x7FFF) bytes
            header += size & 0x7FFF
            size = int.from_bytes(stream[position + 5:position + header], "big")
        if position + header + size > len(stream):
            break
        position += header + size
    return position


def photoshop_segment(stream: bytes) -> bytes:
    """A JPEG APP13 payload: the Photoshop signature, then the IIM and its MD5 digest as image
    resources (type "8BIM", id, an empty even-padded name, size, data padded to even)."""
    return PHOTOSHOP_SIGNATURE + _resource(_IPTC_RESOURCE, stream) + _resource(_DIGEST_RESOURCE,
                                                                               hashlib.md5(stream).digest())


def _resource(identifier: int, data: bytes) -> bytes:
    return b"8BIM" + struct.pack(">HHI", identifier, 0, len(data)) + data + b"\x00" * (len(data) & 1)
