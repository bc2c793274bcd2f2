"""PNG's chunk structure: one walk over a file's chunks, the chunk writer, and the text chunks
(tEXt, zTXt, iTXt) and colour chunks (gAMA, cHRM, sRGB) carried to a PNG output as they were stored.

Why: PNG keeps its descriptive metadata in text chunks: Title, Author, Description, Copyright,
Creation Time, and the generation settings that image generators write (Stable Diffusion web UIs
store the prompt and seed under "parameters", ComfyUI its workflow under "prompt"). People
upscale and restore such images in bulk and expect to find the settings afterwards. And a PNG
without an ICC profile states its colour space with gAMA and cHRM: a linear-light PNG (gAMA
1.0) read without it is shown as sRGB, far too dark in the shadows.

The chunks are copied byte for byte (their CRCs stay valid), wherever the input held them, into
the output's header. Left out: XMP (keyword XML:com.adobe.xmp, carried on its own by
imgrestore.xmp, with what became false fixed), ImageMagick's "Raw profile type ..." chunks,
hex copies of EXIF, XMP or IPTC whose orientation and size would now be false, and the chunks
tied to how or when the input was stored (sBIT: its significant bits; bKGD: a background that
may name a palette entry; tIME: when it was last modified). pHYs is written afresh by
imgrestore.resolution, for the output's size.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_AFTER_HEADER = 8 + 8 + 13 + 4  # the signature, then IHDR: length, type, 13 bytes, CRC
_TEXT_KINDS = (b"tEXt", b"zTXt", b"iTXt")
_COLOUR_KINDS = (b"gAMA", b"cHRM", b"sRGB")
_LEFT_OUT = (b"XML:com.adobe.xmp", b"Raw profile type ")


def chunk_spans(data: bytes) -> Iterator[tuple[bytes, int, int]]:
    """(type, start, end) of each whole chunk of a PNG file, in order, up to and including IEND
    (its body is data[start + 8:end - 4]); nothing for another file, and nothing from a chunk
    that runs past the end of the data."""
    if data[:8] != PNG_SIGNATURE:
        return
    position = 8
    while position + 12 <= len(data):
        (length,) = struct.unpack_from(">I", data, position)
        kind, end = data[position + 4:position + 8], position + 12 + length
        if end > len(data):
            return
        yield kind, position, end
        if kind == b"IEND":
            return
        position = end


def png_chunk(kind: bytes, body: bytes) -> bytes:
    """One PNG chunk: length, type, body, CRC of type and body."""
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def after_header(png: bytes, chunks: bytes) -> bytes:
    """`png` with `chunks` (whole, encoded) right after IHDR, where every chunk that must precede
    the palette or the image data may stand."""
    return png[:_AFTER_HEADER] + chunks + png[_AFTER_HEADER:]


def carried_chunks(data: bytes) -> tuple[bytes, ...]:
    """The text and colour chunks of a PNG file to carry, each whole (length, type, body, CRC), in
    file order; () for another file, or from where a damaged chunk list stops making sense."""
    chunks = []
    for kind, start, end in chunk_spans(data):
        if kind in _COLOUR_KINDS:
            chunks.append(data[start:end])
        elif kind in _TEXT_KINDS:
            keyword = data[start + 8:end - 4].split(b"\x00", 1)[0]
            if not any(keyword.startswith(prefix) for prefix in _LEFT_OUT):
                chunks.append(data[start:end])
    return tuple(chunks)
