"""JPEG decoding: imgrestore's strict libjpeg-turbo path (imgrestore/jpeg.py) against
cv2.imdecode, which it replaced for 8-bit JPEGs, on the real photos of the shared data.

Prints and saves (benchmarks/results/jpeg_decode.json):
- speed: megapixels per second of cv2.imdecode, of `decode_jpeg` alone and of the whole
  `decode_image` (structure check, header, orientation), medians per file, and their ratio;
- sameness: whether every photo decodes to exactly OpenCV's pixels;
- damage found: each photo with one bit of its scan data flipped (5 positions a photo, the
  structure left whole), how often the strict path refuses it (OpenCV refuses none).

    python benchmarks/jpeg_decode.py [--repeats 5] [--flips 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import data_root, median_seconds, save  # noqa: E402

from imgrestore.images import ImageReadError, decode_image  # noqa: E402
from imgrestore.jpeg import decode_jpeg  # noqa: E402

FOLDERS = ("train/Sun_Hays80", "train/photos", "style/content")


def flipped(data: bytes, rng: np.random.Generator) -> bytes | None:
    """One bit flipped in the middle half of the file, where the scan is, away from any 0xFF
    (no marker made or lost); None when the chosen byte is next to one."""
    position = int(rng.integers(len(data) // 4, 3 * len(data) // 4))
    damaged = bytearray(data)
    damaged[position] ^= 1 << int(rng.integers(0, 8))
    if 0xFF in (data[position - 1], data[position], damaged[position]):
        return None
    return bytes(damaged)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--flips", type=int, default=5)
    args = parser.parse_args()
    root = data_root()
    files = sorted(path for folder in FOLDERS for path in (root / folder).glob("*.jpg"))
    if not files:
        print(f"SKIPPED: no JPEGs under {root} in {', '.join(FOLDERS)}")
        return
    rates: dict[str, list[float]] = {"cv2.imdecode": [], "decode_jpeg": [], "decode_image": []}
    same, megapixels = 0, 0.0
    for path in files:
        data = path.read_bytes()
        reference = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        ours = decode_jpeg(data)
        expected = reference[:, :, ::-1] if reference.ndim == 3 else reference[:, :, None]  # as RGB
        same += ours is not None and np.array_equal(ours, expected)
        pixels = reference.shape[0] * reference.shape[1] / 1e6
        megapixels += pixels
        for name, decode in (("cv2.imdecode", lambda: cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)),
                             ("decode_jpeg", lambda: decode_jpeg(data)), ("decode_image", lambda: decode_image(data))):
            rates[name].append(pixels / median_seconds(decode, repeats=args.repeats))
    rng = np.random.default_rng(0)
    tried = refused = 0
    for path in files:
        data = path.read_bytes()
        for _ in range(args.flips):
            damaged = flipped(data, rng)
            if damaged is None:
                continue
            tried += 1
            try:
                decode_image(damaged)
            except ImageReadError:
                refused += 1
    medians = {name: statistics.median(values) for name, values in rates.items()}
    print(f"{len(files)} photos, {megapixels:.1f} MP, median size {megapixels / len(files):.2f} MP")
    for name, value in medians.items():
        print(f"  {name:14s} {value:7.1f} MP/s  ({value / medians['cv2.imdecode']:.2f}x cv2.imdecode)")
    print(f"  same pixels as cv2.imdecode: {same} of {len(files)}")
    print(f"  one flipped bit refused: {refused} of {tried} ({refused / max(tried, 1):.0%}); cv2.imdecode refuses none")
    save("jpeg_decode", {
        "photos": len(files), "megapixels": round(megapixels, 2), "folders": list(FOLDERS),
        "median_megapixels_per_second": {name: round(value, 2) for name, value in medians.items()},
        "ratio_to_cv2": {name: round(value / medians["cv2.imdecode"], 2) for name, value in medians.items()},
        "same_pixels_as_cv2": same, "flipped_bit_files": tried, "flipped_bit_refused": refused,
    })


if __name__ == "__main__":
    main()
