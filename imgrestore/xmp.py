"""XMP, Adobe's metadata packet, carried from an input to its output with what became false fixed.

Why: photographers keep star ratings, colour labels, keywords, titles and captions in XMP inside
the JPEG, TIFF, PNG or WebP itself (Lightroom, Bridge, digiKam, darktable write it there), and
a bulk tool that drops the packet loses years of cataloguing.

The packet travels byte for byte except for:
- Orientation (tiff:Orientation): becomes 1, as in EXIF, since the reader turned the pixels upright.
- The pixel size (exif:PixelXDimension/PixelYDimension, tiff:ImageWidth/ImageLength): becomes
  the output's (an upscaled photo is larger).
- Declarations of data stored after the image, which the output does not have: a Google Motion
  Photo's or Micro Video's video (GCamera:MotionPhoto*, GCamera:MicroVideo*), an Ultra HDR gain
  map (the hdrgm namespace), the Container:Directory that lists such items, and
  xmpNote:HasExtendedXMP (JPEG's extended XMP segments are not carried). A viewer that believed
  them would look for a video or gain map at the end of a file that ends with the image.

Properties are found by namespace URI, as XMP defines them, whatever prefix a file binds it to.
The edits are textual, not a parse and re-serialisation, so everything else (prefixes, layout,
the xpacket padding that lets editors rewrite in place) stays as the writer left it. A packet
that is not UTF-8, not well-formed XML, or that holds a DTD (XMP forbids one, and entity
expansion is the classic attack on XML parsers) is dropped, never fatal.
"""

from __future__ import annotations

import re
import xml.parsers.expat

_TIFF = "http://ns.adobe.com/tiff/1.0/"
_EXIF = "http://ns.adobe.com/exif/1.0/"
_GOOGLE_CAMERA = "http://ns.google.com/photos/1.0/camera/"
_GOOGLE_CONTAINER = "http://ns.google.com/photos/1.0/container/"
_GAIN_MAP = "http://ns.adobe.com/hdr-gain-map/1.0/"
_XMP_NOTE = "http://ns.adobe.com/xmp/note/"

_DROPPED = ((_GOOGLE_CAMERA, r"(?:MotionPhoto|MicroVideo)\w*"), (_GOOGLE_CONTAINER, r"Directory"),
            (_GAIN_MAP, r"[\w.-]+"), (_XMP_NOTE, r"HasExtendedXMP"))
"""(namespace, local-name pattern) of the properties that declare data stored after the image."""

_NAME = r"[A-Za-z_][\w.-]*"


def carried_xmp(packet: bytes, size: tuple[int, int] | None = None) -> bytes | None:
    """`packet` as the output should carry it: Orientation 1, pixel size `size` = (height, width)
    where the packet states one, declarations of appended data removed; None when the packet is
    not UTF-8, not well-formed or holds a DTD."""
    try:
        text = packet.rstrip(b"\x00").decode("utf-8")  # some writers pad the packet's segment with NULs
    except UnicodeDecodeError:
        return None
    if "<!DOCTYPE" in text or "<!ENTITY" in text or not _well_formed(text):
        return None
    prefixes = _prefixes(text)
    for namespace, local in _DROPPED:
        for prefix in prefixes.get(namespace, ()):
            text = _without_property(text, f"{re.escape(prefix)}:{local}")
    values = {(_TIFF, "Orientation"): 1}
    if size is not None:
        height, width = size
        values.update({(_EXIF, "PixelXDimension"): width, (_EXIF, "PixelYDimension"): height,
                       (_TIFF, "ImageWidth"): width, (_TIFF, "ImageLength"): height})
    for (namespace, local), value in values.items():
        for prefix in prefixes.get(namespace, ()):
            text = _with_value(text, f"{re.escape(prefix)}:{local}", str(value))
    return text.encode("utf-8") if _well_formed(text) else None


def stated_orientation(packet: bytes) -> int | None:
    """The packet's tiff:Orientation (1..8), or None. It counts where EXIF states none, as Pillow
    and exiftool read it: a photo library may record a turn there alone."""
    text = packet.decode("utf-8", errors="replace")
    for prefix in _prefixes(text).get(_TIFF, ()):
        name = f"{re.escape(prefix)}:Orientation"
        found = re.search(rf"""\s{name}\s*=\s*["']\s*([1-8])\s*["']|<{name}(?:\s[^>]*)?>\s*([1-8])\s*</""", text)
        if found:
            return int(found[1] or found[2])
    return None


def _well_formed(text: str) -> bool:
    parser = xml.parsers.expat.ParserCreate()
    try:
        parser.Parse(text, True)
    except xml.parsers.expat.ExpatError:
        return False
    return True


def _prefixes(text: str) -> dict[str, set[str]]:
    """Namespace URI → the prefixes bound to it anywhere in the packet."""
    bound: dict[str, set[str]] = {}
    for prefix, uri in re.findall(rf"""\bxmlns:({_NAME})\s*=\s*["']([^"']*)["']""", text):
        bound.setdefault(uri, set()).add(prefix)
    return bound


def _without_property(text: str, name: str) -> str:
    """`text` less the property `name` (a regular expression for prefix:local) in each RDF form:
    an attribute of rdf:Description, an empty element, or an element with its content."""
    text = re.sub(rf"""\s{name}\s*=\s*(?:"[^"]*"|'[^']*')""", "", text)
    text = re.sub(rf"<{name}(?:\s[^>]*)?/>", "", text)
    return re.sub(rf"<({name})(?:\s[^>]*)?>.*?</\1>", "", text, flags=re.DOTALL)


def _with_value(text: str, name: str, value: str) -> str:
    """`text` with the simple property `name` set to `value`, as an attribute or as an element."""
    text = re.sub(rf"""(\s{name}\s*=\s*)(["'])[^"']*\2""", lambda found: f"{found[1]}{found[2]}{value}{found[2]}",
                  text)
    return re.sub(rf"(<({name})(?:\s[^>]*)?>)[^<]*(</\2>)", lambda found: f"{found[1]}{value}{found[3]}", text)
