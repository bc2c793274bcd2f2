"""The print resolution (pixels per inch) an input states, kept in its output at the same print size.

Why: a scan or a print file states its resolution (a 2400-dpi film scan, a 300-dpi print), and
that is what gives it a physical size in a layout program or a print dialog. OpenCV's writers
state none, which viewers take for 72 or 96 dpi (and Pillow, in a TIFF, for 1), so a restored
scan would print many times too large. The
output states the resolution that keeps the input's print size: the same dpi when the output has
the input's size, four times it after a 4× upscale (as an editor's "resample, keep document
size" does), and x and y swapped when the reader turned the picture a quarter.

Read from JPEG's JFIF density, PNG's pHYs, or the resolution tags of a TIFF or of an EXIF block.
Written as JPEG's JFIF density (the APP0 segment OpenCV writes), PNG's pHYs chunk (pixels per
metre) and TIFF's XResolution, YResolution and ResolutionUnit tags. WebP has no field for it (an
EXIF block carried there states it, see `imgrestore.metadata`); BMP outputs carry pixels only.
"""

from __future__ import annotations

import math
import struct
from typing import Any

from imgrestore.png_chunks import after_header, png_chunk
from imgrestore.tiff_tags import (RESOLUTION_UNIT, X_RESOLUTION, Y_RESOLUTION, Directory, first_rational, first_value,
                                  rational, shorts, with_tags)

_INCH = 2  # ResolutionUnit: inches
_METRES_PER_INCH = 0.0254
_JFIF_APP0 = b"\xff\xe0"


def stated_dpi(image: Any, exif: bytes | None, data: bytes) -> tuple[float, float] | None:
    """The print resolution a file states, (x, y) pixels per inch, from Pillow's parse of its
    header (`image`), its EXIF block and the file itself: JPEG's JFIF density in inches or
    centimetres, PNG's pHYs in metres, else the resolution tags of a TIFF or of the EXIF block.
    None where it states none, or none usable. Pillow's own `info["dpi"]` is not taken for TIFF
    and EXIF: it reads absent tags as 1 dpi, and a JPEG whose EXIF lacks them as 72."""
    kind = image.format
    if (kind == "JPEG" and image.info.get("jfif_unit") in (1, 2)) or kind == "PNG":
        dpi = image.info.get("dpi")
        return _usable(dpi[0], dpi[1]) if isinstance(dpi, tuple) and len(dpi) == 2 else None
    tags = data if kind == "TIFF" else exif
    factor = per_inch(tags) if tags else None
    x, y = (first_rational(tags, tag) for tag in (X_RESOLUTION, Y_RESOLUTION)) if tags else (None, None)
    return None if factor is None or x is None or y is None else _usable(x * factor, y * factor)


def per_inch(tags: bytes) -> float | None:
    """What one of a TIFF structure's resolution values is multiplied by to give pixels per inch:
    1 for inches (also when ResolutionUnit is absent, as TIFF and EXIF default), 2.54 for
    centimetres; None for no unit (an aspect ratio only)."""
    return {2: 1.0, 3: 2.54}.get(first_value(tags, RESOLUTION_UNIT) or 2)


def _usable(x: object, y: object) -> tuple[float, float] | None:
    try:
        dpi = (float(x), float(y))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return dpi if all(math.isfinite(value) and value > 0 for value in dpi) else None


def print_size(dpi: tuple[float, float] | None, size: tuple[int, int], turned: bool) -> tuple[float, float] | None:
    """(width, height) in inches of a picture stored at `size` = (height, width) with `dpi`, as
    shown: `turned` when the reader turned it a quarter (EXIF orientations 5-8)."""
    if dpi is None:
        return None
    height, width = size
    stored = (width / dpi[0], height / dpi[1])
    return (stored[1], stored[0]) if turned else stored


def output_dpi(inches: tuple[float, float], size: tuple[int, int]) -> tuple[float, float]:
    """(x, y) pixels per inch that give a picture of `size` = (height, width) that print size."""
    height, width = size
    return width / inches[0], height / inches[1]


def with_resolution(encoded: bytes, suffix: str, dpi: tuple[float, float]) -> bytes:
    """`encoded` (a file in the format of `suffix`) stating `dpi`; a format without a field for it
    comes back unchanged."""
    suffix = suffix.lower()
    if suffix in (".jpg", ".jpeg"):
        return _into_jfif(encoded, dpi)
    if suffix == ".png":
        return _into_png(encoded, dpi)
    if suffix in (".tif", ".tiff"):
        tags: Directory = {X_RESOLUTION: rational(dpi[0]), Y_RESOLUTION: rational(dpi[1]),
                           RESOLUTION_UNIT: shorts(_INCH)}
        return with_tags(encoded, tags)
    return encoded


def _into_jfif(jpeg: bytes, dpi: tuple[float, float]) -> bytes:
    """The JFIF APP0 segment's units set to dots per inch and its densities to `dpi` (whole
    numbers up to 65535, as the field holds). A JPEG without one comes back unchanged."""
    if jpeg[2:4] != _JFIF_APP0 or jpeg[6:11] != b"JFIF\x00":
        return jpeg
    x, y = (min(65535, max(1, round(value))) for value in dpi)
    return jpeg[:13] + struct.pack(">BHH", 1, x, y) + jpeg[18:]


def _into_png(png: bytes, dpi: tuple[float, float]) -> bytes:
    """A pHYs chunk (pixels per metre, unit 1 = metre) right after IHDR, as it must precede IDAT."""
    x, y = (min(2**32 - 1, max(1, round(value / _METRES_PER_INCH))) for value in dpi)  # the field's range
    return after_header(png, png_chunk(b"pHYs", struct.pack(">IIB", x, y, 1)))
