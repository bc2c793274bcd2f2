"""A PNG's text chunks (tEXt, zTXt, iTXt) and colour chunks (gAMA, cHRM, sRGB), carried to a PNG
output as they were stored.

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

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_TEXT_KINDS = (b"tEXt", b"zTXt", b"iTXt")
_COLOUR_KINDS = (b"gAMA", b"cHRM", b"sRGB")
_LEFT_OUT = (b"XML:com.adobe.xmp", b"Raw profile type ")


def carried_chunks(data: bytes) -> tuple[bytes, ...]:
    """The text and colour chunks of a PNG file to carry, each whole (length, type, body, CRC), in
    file order; () for another file, or from where a damaged chunk list stops making sense."""
    if data[:8] != _PNG_SIGNATURE:
        return ()
    chunks, position = [], 8
    while position + 12 <= len(data):
        (length,) = struct.unpack_from(">I", data, position)
        kind = data[position + 4:position + 8]
        end = position + 12 + length
        if end > len(data) or kind == b"IEND":
            break
        if kind in _COLOUR_KINDS:
            chunks.append(data[position:end])
        elif kind in _TEXT_KINDS:
            keyword = data[position + 8:end - 4].split(b"\x00", 1)[0]
            if not any(keyword.startswith(prefix) for prefix in _LEFT_OUT):
                chunks.append(data[position:end])
        position = end
    return tuple(chunks)
