"""JPEG decoding through libjpeg-turbo in strict mode (simplejpeg), so that damaged data is an
error and not a picture.

OpenCV's decoder turns a JPEG whose entropy-coded data is damaged (a flipped bit, bytes
overwritten on a failing card) into an image of smeared blocks and says so only on stderr
("Corrupt JPEG data: ..."), where a batch of thousands buries it; the damage was then restored,
written and counted as done. libjpeg reports such damage as a warning, which simplejpeg's
`strict=True` turns into an exception we can read.

The pixels are those OpenCV gives (the same library, islow DCT and fancy upsampling: equal on
every JPEG of the shared data), a little faster (1.17× cv2.imdecode's megapixels per second on
2 idle cores, and no BGR-to-RGB conversion after it: benchmarks/jpeg_decode.py). What is
not plain 8-bit gray or colour (CMYK, 12-bit) is only checked here and left to OpenCV.
"""

from __future__ import annotations

import os
import re

import numpy as np
import simplejpeg

_HARMLESS_PADDING = re.compile(r"Corrupt JPEG data: [1-4] extraneous bytes? before marker 0xd9")
"""A few stray bytes before the end marker, after a complete scan: USB webcams' MJPEG frames
carry them. Damage that throws the decoder off leaves more unread there: over 56 photos with one
flipped bit that libjpeg noticed, 61 bytes at the median and 4 or fewer in 2 (those pass). A
flipped bit that decodes without any warning (3 in 4 single flips) no decoder can tell."""

_OUTPUT = {"Gray": "GRAY", "YCbCr": "RGB", "RGB": "RGB"}


def pixel_limit() -> int:
    """OpenCV's guard against decompression bombs, which simplejpeg and Pillow's unlimited opener
    (metadata.open_unlimited) have not, and its variable."""
    return int(os.environ.get("OPENCV_IO_MAX_IMAGE_PIXELS") or 1 << 30)


def chroma_subsampling(data: bytes) -> str | None:
    """A colour JPEG's chroma subsampling as libjpeg-turbo names it ("444", "422", "420", "440",
    "411"), from its frame header; None for gray, CMYK or an unreadable header."""
    try:
        _, _, colorspace, subsampling = simplejpeg.decode_jpeg_header(data)
    except ValueError:
        return None
    return subsampling if colorspace == "YCbCr" and subsampling in _SAMPLING_NAMES else None


_SAMPLING_NAMES = frozenset({"444", "422", "420", "440", "411"})


class DamagedJPEG(ValueError):
    """libjpeg found the entropy-coded data damaged; the message is libjpeg's own."""


def decode_jpeg(data: bytes) -> np.ndarray | None:
    """H×W×1 (gray) or H×W×3 RGB uint8: the pixels cv2.imdecode gives, in a Picture's channel
    order (which spares a conversion from OpenCV's BGR); None where OpenCV should decode instead
    (CMYK, 12-bit, a header simplejpeg cannot read, a harmless warning). Raises DamagedJPEG when
    libjpeg finds the data corrupt."""
    try:
        height, width, colorspace, _ = simplejpeg.decode_jpeg_header(data)
    except ValueError:
        return None
    if height * width > pixel_limit():
        return None  # OpenCV refuses it with its own message (simplejpeg would try to allocate it)
    output = _OUTPUT.get(colorspace)
    try:
        if output is None:  # checked at 1/8 scale: every coefficient is still entropy-decoded
            simplejpeg.decode_jpeg(data, colorspace="GRAY", min_factor=8, strict=True)
            return None
        pixels = simplejpeg.decode_jpeg(data, colorspace=output, strict=True)
    except ValueError as error:
        message = str(error)
        if message.startswith("Corrupt JPEG data") and not _HARMLESS_PADDING.match(message):
            raise DamagedJPEG(message.removeprefix("Corrupt JPEG data: ")) from None
        return None  # another warning ("Invalid SOS parameters for sequential JPEG"): OpenCV's decoding
    return pixels
