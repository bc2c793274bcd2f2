"""Reading and writing images without losing what they had.

Decoding is OpenCV's (it keeps 16-bit samples and alpha, which Pillow does not for RGB), but for
8-bit JPEGs, decoded by `imgrestore.jpeg` so that damaged data is an error; the
orientation, the ICC profile, the EXIF block and the XMP packet come from Pillow's header parser
(OpenCV's IMREAD_UNCHANGED ignores them); `imgrestore.metadata` says what is carried to the output.
A picture is kept as colour (gray or RGB) plus an optional alpha plane, in the sample type it
came in.

Alpha policy: models see only the colour channels; the alpha plane is carried beside them and put
back unchanged when the output has the input's size, or resized (bicubic) when the task scales.
"""

from __future__ import annotations

import functools
import io
import struct
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from imgrestore.atomic_files import write_atomic
from imgrestore.jpeg import DamagedJPEG, chroma_subsampling, decode_jpeg, pixel_limit
from imgrestore.metadata import FileHeader, ImageMetadata, embed_metadata, open_unlimited, read_header
from imgrestore.png_chunks import PNG_SIGNATURE, chunk_spans, png_chunk
from imgrestore.resolution import output_dpi, print_size, with_resolution
from imgrestore.tiff_tags import EXTRA_SAMPLES, UNASSOCIATED_ALPHA, shorts, with_tags

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp"})
_LOSSY_8BIT = frozenset({".jpg", ".jpeg", ".webp", ".bmp"})
_NO_ALPHA = frozenset({".jpg", ".jpeg"})


_SAME_FORMAT = {".jpeg": ".jpg", ".tiff": ".tif"}


def same_format(first: Path, second: Path) -> bool:
    """Whether two file names have one image format (.jpg and .JPEG do)."""
    def normal(path: Path) -> str:
        suffix = path.suffix.lower()
        return _SAME_FORMAT.get(suffix, suffix)

    return normal(first) == normal(second)


LARGEST_SIDE = {".webp": 16383, ".jpg": 65500, ".jpeg": 65500}
"""The longest side each encoder writes (WebP's format limit; libjpeg's)."""


def check_encodable(path: Path, height: int, width: int) -> None:
    """Raise ValueError when `path`'s format cannot hold an image this large: said before the
    work, not by an OpenCV error after it."""
    largest = LARGEST_SIDE.get(path.suffix.lower())
    if largest is not None and max(height, width) > largest:
        raise ValueError(f"the output would be {width}×{height}, over the {largest}-pixel side a "
                         f"{path.suffix.lstrip('.').upper()} can hold: use --format png or tif")


def stored_upright(data: bytes) -> bool:
    """Whether an encoded file's pixels are stored the way they are shown (no EXIF turn): such a
    file can be passed through as it is; another must be written upright, as every output is."""
    return read_header(data).orientation in (None, 1)


def lossy_output(path: Path) -> bool:
    """Whether writing to `path` re-encodes with loss (JPEG; WebP as we write it)."""
    return path.suffix.lower() in {".jpg", ".jpeg", ".webp"}


class ImageReadError(ValueError):
    """The file is empty, truncated, corrupt or not an image. The message says which."""


@dataclass(frozen=True)
class Picture:
    """An image as the pipeline carries it.

    color: H×W×C, C = 1 (gray) or 3 (RGB order), dtype uint8 or uint16.
    alpha: H×W of the same dtype, or None.
    mask: H×W bool (True = fill), for tasks that take a mask; or None.
    metadata: the input file's ICC profile, EXIF and XMP, written into the output; or None.
    jpeg_sampling: a colour JPEG input's chroma subsampling ("444", "422", "420", "440", "411"),
    which a JPEG output keeps; None otherwise (a JPEG output then gets OpenCV's 4:2:0).
    Why: photo editors export at 4:4:4 when the quality is high (Photoshop, Lightroom), and
    re-encoding such a file at 4:2:0 halves its colour resolution: red and blue edges blur.
    print_size: (width, height) in inches, as the input's stated resolution makes it; the output
    states the resolution that keeps it (imgrestore.resolution); None when the input states none.
    """

    color: np.ndarray
    alpha: np.ndarray | None = None
    mask: np.ndarray | None = None
    metadata: ImageMetadata | None = None
    jpeg_sampling: str | None = None
    print_size: tuple[float, float] | None = None

    @property
    def max_value(self) -> int:
        return 65535 if self.color.dtype == np.uint16 else 255

    @property
    def channels(self) -> int:
        return self.color.shape[2]

    @property
    def size(self) -> tuple[int, int]:
        """(height, width)."""
        return self.color.shape[0], self.color.shape[1]

    def color_float(self) -> np.ndarray:
        """Colour as float32 in 0..1, H×W×C."""
        return self.color.astype(np.float32) * np.float32(1.0 / self.max_value)

    def color_8bit(self) -> np.ndarray:
        if self.color.dtype == np.uint8:
            return self.color
        return np.round(self.color.astype(np.float32) / 257.0).astype(np.uint8)

    @property
    def transparent(self) -> np.ndarray | None:
        """H×W bool: alpha below half its range (what --mask-from-alpha fills); None without alpha."""
        return None if self.alpha is None else self.alpha < (self.max_value + 1) // 2

    def samples_from_float(self, color: np.ndarray) -> np.ndarray:
        """Float colour in 0..1 -> this picture's sample type, clipped and rounded."""
        scaled = np.clip(color, 0.0, 1.0) * self.max_value + 0.5
        return scaled.astype(self.color.dtype)


def to_uint8(pixels: np.ndarray) -> np.ndarray:
    """Float 0..1 (any shape) -> uint8, clipped and rounded: sheets, thumbnails and 8-bit
    results made from model outputs."""
    return np.round(np.clip(pixels, 0.0, 1.0) * 255).astype(np.uint8)


def to_color_mode(pixels: np.ndarray, mode: str) -> np.ndarray:
    """H×W×C colour to "gray" (ITU-R 601 luma, as Pillow's convert('L')) or "rgb"."""
    if mode == "gray":
        if pixels.shape[2] == 1:
            return pixels
        gray = cv2.cvtColor(np.ascontiguousarray(pixels), cv2.COLOR_RGB2GRAY)
        return gray[:, :, None]
    if mode == "rgb":
        return pixels if pixels.shape[2] == 3 else np.repeat(pixels, 3, axis=2)
    raise ValueError(f"unknown colour mode {mode!r}")


def read_image(path: str | Path) -> Picture:
    """Decode a file; raises ImageReadError with a reason a user can act on."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise ImageReadError("is a directory") from None
    except OSError as error:
        raise ImageReadError(f"cannot read: {error.strerror or error}") from None
    return decode_image(data)


def decode_image(data: bytes) -> Picture:
    if not data:
        raise ImageReadError("empty file")
    _check_complete(data)
    header = read_header(data)
    _check_single_frame(header)
    picture, upright = _decode_pixels(data, header)
    sampling = chroma_subsampling(data) if data[:3] == b"\xff\xd8\xff" else None
    orientation = header.orientation
    decoder_turned = upright and header.tiff_orientation  # a decoder applies a TIFF's own tag, not XMP
    turned = orientation in (5, 6, 7, 8)  # a quarter turn: the stored x is the shown y
    stored_size = picture.size[::-1] if decoder_turned and turned else picture.size
    picture = replace(picture, metadata=header.metadata, jpeg_sampling=sampling,
                      print_size=print_size(header.dpi, stored_size, turned))
    if orientation in (None, 1) or decoder_turned:
        return picture
    return replace(picture, color=apply_orientation(picture.color, orientation),
                   alpha=None if picture.alpha is None else apply_orientation(picture.alpha, orientation))


def _decode_pixels(data: bytes, header: FileHeader) -> tuple[Picture, bool]:
    """The stored pixels, and whether the decoder already turned them upright (_orients_tiff).
    8-bit gray or colour JPEGs are decoded by `imgrestore.jpeg`, the TIFFs with alpha that OpenCV
    gets wrong by Pillow, everything else by OpenCV, with what it gets wrong mended."""
    if data[:3] == b"\xff\xd8\xff":
        try:
            color = decode_jpeg(data)
        except DamagedJPEG as error:
            raise ImageReadError(f"corrupt JPEG data ({error})") from None
        if color is not None:
            return Picture(color=color), False
    pillow_may_decode = header.pixels <= pixel_limit()  # else OpenCV refuses it, with its own message
    if header.tiff_samples == 2 and pillow_may_decode:
        return _split_channels(_gray_alpha_tiff(data, header), gray_alpha=True), _orients_tiff("pillow")
    if header.format == "TIFF" and header.mode in ("RGBA", "RGBa") and header.tiff_bits == 8 and pillow_may_decode:
        return _straight_alpha_tiff(data), _orients_tiff("pillow")
    try:
        decoded = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as error:  # OpenCV's size guard (a decompression bomb, or a vast panorama)
        if "CV_IO_MAX_IMAGE_PIXELS" in str(error):
            raise ImageReadError("over OpenCV's limit of 2^30 pixels (1.07 gigapixels); if the image is "
                                 "real, raise it with the environment variable OPENCV_IO_MAX_IMAGE_PIXELS") from None
        raise ImageReadError(f"not a decodable image ({str(error).strip().splitlines()[-1]})") from None
    if decoded is None or decoded.size == 0:
        raise ImageReadError("not a decodable image (corrupt or unsupported format)")
    if header.format == "TIFF" and header.compression not in ("", "raw"):
        _tiff_with_pillow(data)  # only to check: OpenCV's pixels keep their depth
    if decoded.dtype not in (np.uint8, np.uint16):
        raise ImageReadError(f"unsupported sample type {decoded.dtype} (8- and 16-bit are supported)")
    if header.mode == "CMYK" and decoded.ndim == 3 and decoded.shape[2] == 4:
        decoded = decoded[:, :, :3]  # OpenCV's TIFF reader converts CMYK to BGR plus an opaque filler
    key = _png_gray_transparent_key(data) if decoded.ndim == 2 else None
    if key is not None:  # OpenCV ignores a gray PNG's colour key: made into the alpha it means
        opaque = np.iinfo(decoded.dtype).max
        decoded = np.dstack([decoded, np.where(decoded == key, 0, opaque).astype(decoded.dtype)])
    gray_alpha = _is_png_gray_alpha(data) or key is not None
    return _split_channels(decoded, gray_alpha=gray_alpha), header.format == "TIFF" and _orients_tiff("opencv")


def _check_complete(data: bytes) -> None:
    """OpenCV decodes truncated JPEGs into half-grey images without complaint: catch that here.
    The file's structure is walked to its end marker, not searched for it near the end: bytes
    after the end are no damage (a phone's Motion Photo appends its video to the JPEG; recovery
    tools pad with zeros), and an end marker inside the EXIF thumbnail is no end of the image."""
    if data[:3] == b"\xff\xd8\xff" and not _jpeg_reaches_end(data):
        raise ImageReadError("truncated JPEG (no end-of-image marker)")
    if data[:8] == PNG_SIGNATURE and not _png_reaches_end(data):
        raise ImageReadError("truncated PNG (no IEND chunk)")


_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM and RSTn: markers without a length


def _jpeg_reaches_end(data: bytes) -> bool:
    """Whether the JPEG's segments lead to its EOI marker: each segment is skipped by its length;
    after a start of scan, the entropy-coded data runs to the next marker that is not a stuffed
    0xFF00 or a restart marker (a progressive JPEG has several scans)."""
    position, size = 2, len(data)
    while position + 1 < size:
        if data[position] != 0xFF:
            return False  # lost in the structure: damaged
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker == 0xD9:
            return True
        if marker in _JPEG_STANDALONE:
            position += 2
            continue
        if position + 4 > size:
            return False
        position += 2 + int.from_bytes(data[position + 2 : position + 4], "big")
        if marker == 0xDA:  # start of scan: entropy-coded data up to the next real marker
            while True:
                position = data.find(b"\xff", position)
                if position < 0 or position + 1 >= size:
                    return False
                following = data[position + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
                    position += 1 if following == 0xFF else 2
                    continue
                break
    return False


def _png_gray_transparent_key(data: bytes) -> int | None:
    """The gray level a gray PNG (colour type 0) marks transparent with a tRNS chunk (what
    optipng and Pillow write for gray with binary transparency), on the decoded 8- or 16-bit
    scale; None for any other PNG."""
    if data[:8] != PNG_SIGNATURE or data[12:16] != b"IHDR" or data[25] != 0:
        return None
    depth = data[24]
    for kind, start, end in chunk_spans(data):
        if kind == b"tRNS" and end - start >= 14:  # a body of 2 bytes or more
            key = int.from_bytes(data[start + 8:start + 10], "big")
            return key * 255 // ((1 << depth) - 1) if depth < 8 else key  # low depths decode to 8 bits
        if kind in (b"IDAT", b"IEND"):
            return None
    return None


def _png_reaches_end(data: bytes) -> bool:
    """Whether the PNG's chunks, each skipped by its length, lead to a whole IEND."""
    return any(kind == b"IEND" for kind, _, _ in chunk_spans(data))


@functools.cache
def _orients_tiff(decoder: str) -> bool:
    """Whether a TIFF decoder ("opencv" or "pillow") already turns pixels upright by the file's
    Orientation tag. In TIFF that tag belongs to the format: OpenCV 5 applies it even with
    IMREAD_UNCHANGED, and Pillow's TIFF loader when it loads the pixels; for EXIF in JPEG, PNG
    and WebP OpenCV does not. Applying it again would turn the image twice, so this is probed
    once per decoder, on a 2×1 image mirrored by its tag, rather than assumed per version."""
    from PIL import Image

    probe = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 2  # mirrored left to right
    Image.fromarray(np.array([[0, 255]], np.uint8)).save(probe, format="TIFF", exif=exif.tobytes())
    if decoder == "pillow":
        with open_unlimited(probe.getvalue()) as image:
            decoded = np.asarray(image.convert("L"))
    else:
        decoded = cv2.imdecode(np.frombuffer(probe.getvalue(), np.uint8), cv2.IMREAD_UNCHANGED)
    return decoded is not None and int(decoded.reshape(-1)[0]) == 255


def _check_single_frame(header: FileHeader) -> None:
    """OpenCV decodes only the first page of a multi-page TIFF and the first frame of an animated
    PNG or WebP. Writing that frame alone would drop the rest without a word, so such a file is
    refused by name (the batch goes on) and the user can split it and run the pages."""
    if header.frames > 1:
        what = "pages (multi-page TIFF)" if header.format == "TIFF" else f"frames (animated {header.format})"
        raise ImageReadError(f"{header.frames} {what}: only single-image files are processed, and keeping "
                             "the first alone would lose the rest; split it into one file per "
                             "page or frame first")


def _gray_alpha_tiff(data: bytes, header: FileHeader) -> np.ndarray:
    """OpenCV decodes a gray + alpha TIFF as gray alone (and 16-bit ones as 8-bit), which lost
    the alpha without a word. Pillow decodes the 8-bit kind; the 16-bit kind neither can, so it
    is refused by name rather than written back flattened."""
    if header.mode != "LA":
        raise ImageReadError("gray + alpha TIFF with 16-bit samples: no decoder here keeps both its alpha and "
                             "its depth; save it as PNG, which does")
    return _tiff_with_pillow(data)


def _straight_alpha_tiff(data: bytes) -> Picture:
    """An 8-bit RGB + alpha TIFF as Pillow decodes it. OpenCV reads these through libtiff's RGBA
    interface, which multiplies the colour by the alpha when the file says its alpha is
    unassociated (ExtraSamples 2, what Photoshop, GIMP and Pillow write): half-transparent
    pixels came back darkened, and were written out so. Pillow keeps the stored colour, and turns
    premultiplied (associated) alpha into the straight alpha the pipeline carries."""
    with open_unlimited(data) as image:
        try:
            rgba = np.asarray(image.convert("RGBA"))
        except OSError as error:
            raise ImageReadError(f"corrupt TIFF data (libtiff: {error})") from None
    return Picture(color=np.ascontiguousarray(rgba[:, :, :3]), alpha=np.ascontiguousarray(rgba[:, :, 3]))


def _tiff_with_pillow(data: bytes) -> np.ndarray:
    """A TIFF's pixels as Pillow decodes them, which raises where libtiff cannot decode a strip.

    Also the check of compressed TIFFs that OpenCV decoded: OpenCV hands over one whose strips
    libtiff could not decode ("LZWDecode: Not enough data", logged on stderr) with the damage in
    its pixels. Pillow catches about 1 in 3 to 1 in 2 flipped bits in LZW data; raw strips have
    nothing to check."""
    with open_unlimited(data) as image:
        try:
            return np.asarray(image)
        except OSError as error:
            raise ImageReadError(f"corrupt TIFF data (libtiff: {error})") from None


def _is_png_gray_alpha(data: bytes) -> bool:
    # IHDR is the first chunk; its colour type byte sits at offset 25 (4 = grey + alpha).
    return data[:8] == PNG_SIGNATURE and len(data) > 25 and data[25] == 4


def _split_channels(decoded: np.ndarray, gray_alpha: bool) -> Picture:
    if decoded.ndim == 2:
        return Picture(color=decoded[:, :, None])
    channels = decoded.shape[2]
    if channels == 1:
        return Picture(color=decoded)
    if channels == 2:
        return Picture(color=decoded[:, :, :1].copy(), alpha=decoded[:, :, 1].copy())
    if channels == 3:
        return Picture(color=cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB))
    alpha = decoded[:, :, 3].copy()
    if gray_alpha:
        return Picture(color=decoded[:, :, :1].copy(), alpha=alpha)
    return Picture(color=cv2.cvtColor(decoded[:, :, :3], cv2.COLOR_BGR2RGB), alpha=alpha)


def apply_orientation(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Turn stored pixels upright according to the EXIF orientation tag (1..8)."""
    transforms = {
        1: lambda a: a,
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.swapaxes(0, 1),
        6: lambda a: np.rot90(a, k=-1),
        7: lambda a: a.swapaxes(0, 1)[::-1, ::-1],
        8: lambda a: np.rot90(a, k=1),
    }
    transform = transforms.get(orientation, transforms[1])
    return np.ascontiguousarray(transform(pixels))


def encode_image(picture: Picture, suffix: str, quality: int = 95) -> bytes:
    """Encode for the format named by `suffix`, keeping depth and alpha where the format can."""
    suffix = suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise ValueError(f"cannot write {suffix!r} files (supported: {', '.join(sorted(IMAGE_SUFFIXES))})")
    if picture.color.dtype == np.uint16 and suffix in _LOSSY_8BIT:
        picture = replace(
            picture, color=picture.color_8bit(),
            alpha=None if picture.alpha is None else np.round(picture.alpha / 257.0).astype(np.uint8),
        )
    if suffix in _NO_ALPHA and picture.alpha is not None:
        picture = replace(picture, color=flatten_on_white(picture.color, picture.alpha), alpha=None)
    alpha = picture.alpha
    # gray is written as gray unless a format without gray+alpha must take RGBA (WebP, BMP; and
    # 16-bit TIFF, which no encoder here writes as gray + alpha)
    gray_alpha_tiff = suffix in (".tif", ".tiff") and picture.color.dtype == np.uint8
    stays_gray = picture.channels == 1 and (alpha is None or suffix == ".png" or gray_alpha_tiff)
    if stays_gray and alpha is not None and suffix == ".png":
        encoded = _encode_gray_alpha_png(picture.color[:, :, 0], alpha)
    elif stays_gray and alpha is not None:
        encoded = _encode_gray_alpha_tiff(picture.color[:, :, 0], alpha)
    else:
        encoded = _encode_with_opencv(picture.color, alpha, suffix, quality, picture.jpeg_sampling)
    dpi = output_dpi(picture.print_size, picture.size) if picture.print_size else None
    encoded = embed_metadata(encoded, suffix, picture.metadata, picture.size, channels=1 if stays_gray else 3,
                             alpha=alpha is not None, dpi=dpi)
    return with_resolution(encoded, suffix, dpi) if dpi else encoded


def flatten_on_white(color: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Colour composited over white, for a format without alpha (JPEG). Dropping alpha alone
    would show whatever colour the transparent pixels happen to hold (often black or noise);
    white is what image editors flatten onto by default."""
    peak = float(np.iinfo(color.dtype).max)
    weight = alpha.astype(np.float32)[:, :, None] / peak
    flat = color.astype(np.float32) * weight + peak * (1.0 - weight)
    return np.clip(np.round(flat), 0, peak).astype(color.dtype)


_SAMPLING_FACTORS = {"444": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444, "422": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_422,
                     "420": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420, "440": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_440,
                     "411": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_411}


def _encode_with_opencv(color: np.ndarray, alpha: np.ndarray | None, suffix: str, quality: int,
                        jpeg_sampling: str | None = None) -> bytes:
    if color.shape[2] == 1 and alpha is None:
        pixels = color[:, :, 0]
    else:
        rgb = np.repeat(color, 3, axis=2) if color.shape[2] == 1 else color
        pixels = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)
        if alpha is not None:
            pixels = np.dstack([pixels, alpha])
    params: list[int] = []
    if suffix in (".jpg", ".jpeg"):
        params = [cv2.IMWRITE_JPEG_QUALITY, min(quality, 100)]  # 101 means lossless WebP; JPEG tops out at 100
        if jpeg_sampling in _SAMPLING_FACTORS:
            params += [cv2.IMWRITE_JPEG_SAMPLING_FACTOR, _SAMPLING_FACTORS[jpeg_sampling]]
    elif suffix == ".webp":
        params = [cv2.IMWRITE_WEBP_QUALITY, quality]
    elif suffix == ".png":
        params = [cv2.IMWRITE_PNG_COMPRESSION, 3]
    ok, encoded = cv2.imencode(suffix, pixels, params)
    if not ok:
        raise ValueError(f"OpenCV could not encode a {suffix} image")
    if alpha is not None and suffix in (".tif", ".tiff"):  # OpenCV leaves out what its 4th sample is
        return with_tags(encoded.tobytes(), {EXTRA_SAMPLES: shorts(UNASSOCIATED_ALPHA)})
    return encoded.tobytes()


def _encode_gray_alpha_png(gray: np.ndarray, alpha: np.ndarray) -> bytes:
    """Gray + alpha PNG (colour type 4) at 8 or 16 bits. Neither OpenCV (no 2-channel PNG) nor
    Pillow (no 16-bit LA) writes it, and the format is simple enough to write here."""
    height, width = gray.shape
    depth = 16 if gray.dtype == np.uint16 else 8
    pixels = np.dstack([gray, alpha]).astype(">u2" if depth == 16 else np.uint8)
    rows = np.concatenate([np.zeros((height, 1), np.uint8), pixels.reshape(height, -1).view(np.uint8)], axis=1)
    header = struct.pack(">IIBBBBB", width, height, depth, 4, 0, 0, 0)
    return (PNG_SIGNATURE + png_chunk(b"IHDR", header)
            + png_chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)) + png_chunk(b"IEND", b""))


def _encode_gray_alpha_tiff(gray: np.ndarray, alpha: np.ndarray) -> bytes:
    """8-bit gray + alpha TIFF (LZW, as OpenCV compresses its TIFFs): OpenCV writes no 2-channel
    TIFF, Pillow's LA mode does."""
    from PIL import Image

    stream = io.BytesIO()
    Image.fromarray(np.dstack([gray, alpha]), "LA").save(stream, format="TIFF", compression="tiff_lzw")
    return stream.getvalue()


def write_image(path: str | Path, picture: Picture, quality: int = 95) -> None:
    write_atomic(path, encode_image(picture, Path(path).suffix, quality=quality))
