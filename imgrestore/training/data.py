"""Training data: images from folders held in memory, random augmented patches, a held-out split.

Images are kept decoded as uint8 arrays, so a training step costs a crop and a copy, not a
decode. That matters on CPU, where the same two cores do the decoding and the learning. It costs
memory: 36 MB per 12-megapixel colour photo (the training sets here are a few hundred MB), so the
total is printed when it passes a gigabyte, and a set larger than half the available memory is
memory-mapped from a decode cache instead (imgrestore.training.image_cache).
"""

from __future__ import annotations

import hashlib
import json
import sys
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence, TypeVar

import numpy as np

from imgrestore.atomic_files import write_atomic
from imgrestore.images import IMAGE_SUFFIXES, ImageReadError, read_image, to_color_mode
from imgrestore.training import image_cache


T = TypeVar("T")
RUN_MARKER = ".imgrestore-run"
"""Written into every run folder: list_images skips the folders that hold it."""


def list_images(folders: Iterable[str | Path]) -> list[Path]:
    """All image files under the folders (recursively), sorted so runs are reproducible, each
    once (`--data D --data D/a.png` does not count a.png twice). Hidden files and folders are
    skipped (a folder copied from a Mac holds `._IMG_1.jpg` resource forks beside the photos),
    and so are run folders (those holding RUN_MARKER): with `--out` inside `--data`, the sheets
    of samples a run writes would otherwise become training images when it resumes."""
    found: list[Path] = []
    for folder in folders:
        folder = Path(folder)
        if folder.is_file():
            found.append(folder)
            continue
        if not folder.is_dir():
            raise FileNotFoundError(f"training data folder not found: {folder}")
        entries = list(folder.rglob("*"))
        runs = {entry.parent for entry in entries if entry.name == RUN_MARKER}
        found += [p for p in entries if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
                  and not runs.intersection(p.parents)
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts)]
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(path.resolve(), path)
    return sorted(unique.values())


_SPLIT_RECORD: ContextVar[Path | None] = ContextVar("split_record", default=None)
SPLIT_RECORD_NAME = "validation_split.json"


@contextmanager
def recorded_split(record: Path | None) -> Iterator[None]:
    """Within this block, held-out splits are kept in (and, on resume, taken from) `record`: the
    run's validation images stay the same across sessions even when files are added to --data,
    so validation scores stay comparable and `best` is the best on one set. Without it, a
    small set's fallback image (split_holdout) could move into training when a file with a lower
    hash is added, and the hash rule would move new files into validation."""
    token = _SPLIT_RECORD.set(record)
    try:
        yield
    finally:
        _SPLIT_RECORD.reset(token)


def split_holdout(paths: Sequence[Path], fraction: float) -> tuple[list[Path], list[Path]]:
    """The images held out for validation, and the rest. Inside `recorded_split`, those the run
    held out before are held out again; otherwise `hash_holdout` chooses."""
    if fraction <= 0:
        return list(paths), []
    record = _SPLIT_RECORD.get()
    recorded = _read_split_record(record) if record is not None else set()
    held = [p for p in paths if str(p.resolve()) in recorded]
    if held:
        return [p for p in paths if str(p.resolve()) not in recorded], held
    kept, held = hash_holdout(paths, fraction)
    if record is not None and held:
        _write_split_record(record, recorded | {str(p.resolve()) for p in held})
    return kept, held


def _read_split_record(record: Path) -> set[str]:
    try:
        return set(json.loads(record.read_text())["held_out"])
    except FileNotFoundError:
        return set()
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{record} is damaged ({error}): delete it to hold out a new validation split") from None


def _write_split_record(record: Path, held: set[str]) -> None:
    record.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(record, json.dumps({"held_out": sorted(held)}, indent=1).encode())


def hash_holdout(paths: Sequence[Path], fraction: float) -> tuple[list[Path], list[Path]]:
    """Split by a hash of the file name: stable when files are added, no RNG state involved.
    When no name hashes below the fraction (a small set), the readable image whose hash is
    lowest is held out: not the first name, which in a folder copied from a Mac may be junk,
    and one that an added file displaces only if its hash is lower still. Likewise, when every
    name hashes below it, the readable image whose hash is highest is trained on (two images at
    --val-fraction 0.5 had both been held out, and the run said it found no usable images); a
    single image is trained on, with no validation."""
    held = [p for p in paths if _unit_hash(p.name) < fraction]
    kept = [p for p in paths if _unit_hash(p.name) >= fraction]
    if not held and len(kept) > 1:
        chosen = next((p for p in sorted(kept, key=lambda p: _unit_hash(p.name)) if _readable(p)), None)
        if chosen is not None:
            held, kept = [chosen], [p for p in kept if p != chosen]
    elif not kept and held:
        chosen = next((p for p in sorted(held, key=lambda p: -_unit_hash(p.name)) if _readable(p)), held[-1])
        kept, held = [chosen], [p for p in held if p != chosen]
    return kept, held


def _readable(path: Path) -> bool:
    try:
        read_image(path)
    except ImageReadError:
        return False
    return True


def training_and_validation_paths(options: dict, keep: Callable[[Path], bool] | None = None,
                                  kept_what: str = "accepted") -> tuple[list[Path], list[Path]]:
    """The images of `--data` (those `keep` accepts), and the validation images: those of `--val`
    when given, else a held-out `--val-fraction` of them (split_holdout). Every recipe reads its
    data this way. When `keep` refuses every image, the error says so with `kept_what` (what a
    kept image is, and what to do instead), not that the folder holds no images."""
    if not options.get("data"):
        raise ValueError("give the training images with --data (a folder or file; repeat for more)")
    found = list_images(options["data"])
    paths = [p for p in found if keep is None or keep(p)]
    if found and not paths:
        raise ValueError(f"none of the {len(found)} images of --data is {kept_what}")
    if options.get("val"):
        validation = list_images(options["val"])
        held = {p.resolve() for p in validation}
        training = [p for p in paths if p.resolve() not in held]
        if training and len(training) < len(paths):  # all of them: the same images, as one image must
            print(f"left out of training: {len(paths) - len(training)} image(s) of --data that are --val images",
                  file=sys.stderr)
            paths = training
        return paths, validation
    if len(paths) == 1:  # nothing to hold out: one image cannot be both
        raise ValueError(f"--data holds one image ({paths[0]}): give validation images with --val "
                         "(the same image will do to watch the loss)")
    return split_holdout(paths, options["val_fraction"])


def _unit_hash(name: str) -> float:
    return int(hashlib.sha1(name.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def center_crop(image: np.ndarray, size: int) -> np.ndarray:
    """The size×size centre of an H×W×C image (validation crops: the same pixels every run)."""
    top, left = (image.shape[0] - size) // 2, (image.shape[1] - size) // 2
    return image[top : top + size, left : left + size]


def load_images(paths: Sequence[Path], mode: str | None, min_size: int = 0, role: str = "training"
                ) -> list[np.ndarray]:
    """Decode to H×W×C uint8 in `mode` ("gray" or "rgb"; None keeps each file's own channels);
    smaller than `min_size` is skipped. A file that cannot be read (corrupt, truncated, not an
    image) is named on stderr and skipped: one bad file among thousands must not stop a run.
    `role` names the images in the error raised when none is left. A set larger than the memory
    budget comes back memory-mapped from the decode cache (imgrestore.training.image_cache)."""
    budget = image_cache.memory_budget()
    needed = image_cache.estimated_bytes(paths, mode) if budget != float("inf") else 0
    folder = None
    if needed > budget:
        folder = image_cache.cache_folder()
        image_cache.check_cache_space(folder, needed)
        image_cache.announce(len(paths), needed, budget, folder, role)

    def decode(path: Path) -> np.ndarray:
        if folder is not None:
            found = image_cache.cached(path, mode, folder)
            if found is not None:
                return found
        picture = read_image(path)
        pixels = picture.color_8bit() if mode is None else to_color_mode(picture.color_8bit(), mode)
        pixels = np.ascontiguousarray(pixels)
        return pixels if folder is None else image_cache.store(path, mode, folder, pixels)

    images = []
    small = 0
    for pixels in read_each(paths, decode):
        if min(pixels.shape[:2]) >= min_size:
            images.append(pixels)
        else:
            small += 1
    if small and images:
        print(f"skipped {small} {role} image(s) smaller than {min_size}px on a side", file=sys.stderr)
    held = sum(image.nbytes for image in images if not isinstance(image, np.memmap))
    if held > 1 << 30:
        print(f"{role} images: {len(images)}, {image_cache.byte_size(held)} decoded in memory", file=sys.stderr)
    if not images:
        need = f" (need at least {min_size}px on each side)" if min_size else ""
        raise ValueError(f"no usable {role} images{need}")
    return images


def read_each(paths: Sequence[Path], read: Callable[[Path], T]) -> Iterator[T]:
    """`read(path)` of each path; a file that cannot be read (corrupt, truncated, not an image)
    is named on stderr and skipped: one bad file among thousands must not stop a run."""
    for path in paths:
        try:
            yield read(path)
        except ImageReadError as error:
            print(f"skipped {path}: {error}", file=sys.stderr)


def validation_crops(images: Sequence[np.ndarray], size: int, multiple: int = 1, smallest: int = 16
                     ) -> list[np.ndarray]:
    """Square centre crops of the validation images, all one size so they stack into one batch:
    `size`, from the images at least that large. When none is, the crops take the smallest
    image's shorter side (rounded down to `multiple`) instead, so that a set of small pictures
    validates at all: the 180×180 crops of Train400, the classic denoising training set, are all
    smaller than a 192-pixel crop."""
    large = [image for image in images if min(image.shape[:2]) >= size]
    if large:
        return [center_crop(image, size) for image in large]
    usable = [image for image in images if min(image.shape[:2]) // multiple * multiple >= smallest]
    if not usable:
        side = max(min(image.shape[:2]) for image in images) // multiple * multiple
        raise ValueError(f"validation images are too small: their centre crops would be {side}px, "
                         f"at least {smallest} are needed (give larger ones with --val)")
    if len(usable) < len(images):  # one thumbnail among the validation images must not stop the run
        print(f"left out of validation: {len(images) - len(usable)} image(s) smaller than {smallest}px on a side",
              file=sys.stderr)
    side = min(min(image.shape[:2]) for image in usable) // multiple * multiple
    return [center_crop(image, side) for image in usable]


@dataclass
class PatchSampler:
    """Draws random square patches with random flips and 90° rotations (`rotate=False`: left-right
    flips only, for content with an up, such as people standing).

    Images are drawn in proportion to their area, so a 1000×1000 photo is sampled more than a
    180×180 crop and every pixel of the set is about equally likely to be seen.
    """

    images: list[np.ndarray]
    patch_size: int
    rotate: bool = True

    def __post_init__(self) -> None:
        areas = np.array([img.shape[0] * img.shape[1] for img in self.images], dtype=np.float64)
        self._weights = areas / areas.sum()

    def sample(self, rng: np.random.Generator, count: int) -> np.ndarray:
        """Returns count×C×P×P float32 in 0..1."""
        size = self.patch_size
        channels = self.images[0].shape[2]
        out = np.empty((count, channels, size, size), dtype=np.float32)
        picks = rng.choice(len(self.images), size=count, p=self._weights)
        for i, pick in enumerate(picks):
            img = self.images[pick]
            top = rng.integers(0, img.shape[0] - size + 1)
            left = rng.integers(0, img.shape[1] - size + 1)
            patch = img[top : top + size, left : left + size]
            if self.rotate:
                patch = np.rot90(patch, k=int(rng.integers(4)))
            if rng.integers(2):
                patch = patch[:, ::-1]
            out[i] = patch.transpose(2, 0, 1)
        out *= 1.0 / 255.0
        return out
