"""Training data: images from folders held in memory, random augmented patches, a held-out split.

Images are kept as uint8 arrays (the training sets here are a few hundred MB at most once decoded),
so a training step costs a crop and a copy, not a decode. That matters on CPU, where the same two
cores do the decoding and the learning.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from imgrestore.images import IMAGE_SUFFIXES, ImageReadError, read_image, to_color_mode


RUN_MARKER = ".imgrestore-run"
"""Written into every run folder: list_images skips the folders that hold it."""


def list_images(folders: Iterable[str | Path]) -> list[Path]:
    """All image files under the folders (recursively), sorted so runs are reproducible. Run
    folders (those holding RUN_MARKER) are skipped: with `--out` inside `--data`, the sheets of
    samples a run writes would otherwise become training images when it resumes."""
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
                  and not runs.intersection(p.parents)]
    return sorted(found)


def split_holdout(paths: Sequence[Path], fraction: float) -> tuple[list[Path], list[Path]]:
    """Split by a hash of the file name: stable when files are added, no RNG state involved."""
    if fraction <= 0:
        return list(paths), []
    held = [p for p in paths if _unit_hash(p.name) < fraction]
    kept = [p for p in paths if _unit_hash(p.name) >= fraction]
    if not held and len(kept) > 1:
        held, kept = kept[:1], kept[1:]
    return kept, held


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
        return paths, list_images(options["val"])
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
    `role` names the images in the error raised when none is left."""
    images = []
    for path in paths:
        try:
            picture = read_image(path)
        except ImageReadError as error:
            print(f"skipped {path}: {error}", file=sys.stderr)
            continue
        pixels = picture.color_8bit() if mode is None else to_color_mode(picture.color_8bit(), mode)
        if min(pixels.shape[:2]) >= min_size:
            images.append(np.ascontiguousarray(pixels))
    if not images:
        need = f" (need at least {min_size}px on each side)" if min_size else ""
        raise ValueError(f"no usable {role} images{need}")
    return images


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
    side = min(min(image.shape[:2]) for image in images) // multiple * multiple
    if side < smallest:
        raise ValueError(f"validation images are too small: their centre crops would be {side}px, "
                         f"at least {smallest} are needed (give larger ones with --val)")
    return [center_crop(image, side) for image in images]


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
