"""Training images larger than memory: decoded once into a cache folder and memory-mapped.

Training keeps its images decoded (imgrestore.training.data says why). A set that decodes to more
than the memory budget (half of the memory available when the run starts, or
IMGRESTORE_TRAIN_MEMORY such as `8G`) would end in the out-of-memory killer after a long decode.
Such a set is instead decoded once, image by image, into raw `.npy` files under the cache folder
(IMGRESTORE_CACHE, else ~/.cache/imgrestore/decoded) and opened with np.load(mmap_mode="r"): a
training step reads only the pages under its patches, and the operating system keeps the hot
ones in memory. A cached file is keyed by the image's path, size, modification time and colour
mode, so a resumed run, or a second run on the same photos, decodes nothing; an edited photo
is decoded again.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from imgrestore.atomic_files import write_atomic

MEMORY_VARIABLE = "IMGRESTORE_TRAIN_MEMORY"
CACHE_VARIABLE = "IMGRESTORE_CACHE"
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def memory_budget() -> float:
    """Bytes of decoded training images to hold in memory: IMGRESTORE_TRAIN_MEMORY (`8G`, `512M`,
    a byte count), else half the memory available now, shared among the processes torchrun
    started on this machine; unlimited where neither can be known."""
    text = os.environ.get(MEMORY_VARIABLE, "").strip()
    if text:
        match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?", text, flags=re.IGNORECASE)
        if match is None:
            raise ValueError(f"{MEMORY_VARIABLE}={text!r}: expected a size such as 8G, 512M or 1000000")
        return float(match[1]) * _UNITS[match[2].upper()]
    available = _available_memory()
    # under torchrun every process on this machine holds its own copy (a mapped set shares one)
    processes = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1") or 1))
    return available / 2 / processes if available else float("inf")


def _available_memory() -> int | None:
    try:
        with open("/proc/meminfo") as info:
            for line in info:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not on this system (Windows)
        return None


def cache_folder() -> Path:
    configured = os.environ.get(CACHE_VARIABLE)
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "imgrestore" / "decoded"


def estimated_bytes(paths: Sequence[Path], mode: str | None) -> int:
    """The decoded uint8 size of the images, from their headers alone (nothing is decoded): a
    file whose header cannot be read counts 0 (it is skipped, by name, when decoded)."""
    from PIL import Image

    total = 0
    for path in paths:
        try:
            with Image.open(path) as image:
                width, height = image.size
                bands = len(image.getbands())
        except Exception:  # Pillow raises many kinds on a damaged header; decoding names the file
            continue
        channels = {"gray": 1, "rgb": 3}.get(mode or "", 1 if bands < 3 else 3)
        total += width * height * channels
    return total


def cache_key(path: Path, mode: str | None) -> str:
    """Names the decoded form of this file as it is now: an edited or replaced file gets a new key."""
    stat = path.stat()
    identity = f"{path.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}\0{mode}"
    return hashlib.sha256(identity.encode()).hexdigest()[:32]


def cached(path: Path, mode: str | None, folder: Path) -> np.ndarray | None:
    """The memory-mapped decoded image, when it is in the cache."""
    file = folder / f"{cache_key(path, mode)}.npy"
    if not file.is_file():
        return None
    try:
        return np.load(file, mmap_mode="r")
    except (ValueError, OSError):  # a damaged cache file: decode again
        return None


def store(path: Path, mode: str | None, folder: Path, pixels: np.ndarray) -> np.ndarray:
    """Write the decoded pixels to the cache (atomically: runs under torchrun share the folder)
    and return them memory-mapped, so they leave memory."""
    file = folder / f"{cache_key(path, mode)}.npy"
    stream = io.BytesIO()
    np.lib.format.write_array(stream, np.ascontiguousarray(pixels), version=(1, 0))
    write_atomic(file, stream.getvalue())
    return np.load(file, mmap_mode="r")


def byte_size(count: float) -> str:
    """1.5 GB, 12 MB, 800 bytes: a budget of 1K read "0.0 GB" beside a set of "0.0 GB"."""
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{int(count)} bytes"


def check_cache_space(folder: Path, needed: int) -> None:
    """Refuse before decoding when the cache's disk cannot take the set."""
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if needed > free:
        raise ValueError(f"the training images decode to {byte_size(needed)}, more than the memory budget, "
                         f"and the cache folder {folder} has only {byte_size(free)} free: point "
                         f"{CACHE_VARIABLE} at a larger disk, or train on fewer or smaller images")


def announce(count: int, needed: int, budget: float, folder: Path, role: str) -> None:
    print(f"{role} images: {count} decode to about {byte_size(needed)}, more than the memory budget of "
          f"{byte_size(budget)} (half the available memory, or {MEMORY_VARIABLE}): they are decoded once "
          f"into {folder} and memory-mapped; delete that folder to reclaim the disk", file=sys.stderr)
