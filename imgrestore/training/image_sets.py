"""Small labelled image sets (digits, clothes), with the fixed train/test split every recipe and
benchmark shares: the sampling task's evaluator and the translation task's digit domains.
numpy only.

Two formats are read:
  - an .npz holding `images` (N×H×W uint8) and `labels` (e.g. ../shared/data/digits/mnist_10k.npz);
    it has no split of its own, so a fixed, seeded one is made here (TEST_FRACTION held out);
  - a folder of MNIST-style idx files (`train-images-idx3-ubyte[.gz]`, `t10k-images-idx3-ubyte[.gz]`
    and the label files), e.g. /usr/share/datasets/fashion-mnist from the Debian package
    `dataset-fashion-mnist`; its own train/test split is kept.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
TEST_FRACTION = 0.2
SPLIT_SEED = 20261122
"""Fixed for good: the evaluator's test images must never be trained on, by any recipe."""


@dataclass(frozen=True)
class ImageSet:
    name: str
    train_images: np.ndarray
    """N×H×W uint8."""
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray

    @property
    def classes(self) -> int:
        """How many classes the labels name (what a classifier needs; an unlabelled set has none)."""
        if self.train_labels.min(initial=0) < 0:
            raise ValueError(f"{self.name} has no labels: a classifier needs an .npz with `labels`")
        return int(max(self.train_labels.max(), self.test_labels.max())) + 1

    @property
    def size(self) -> tuple[int, int]:
        return self.train_images.shape[1], self.train_images.shape[2]


def load_image_set(path: str | Path) -> ImageSet:
    """The set at `path` (an .npz file or an idx folder), split into train and test."""
    path = Path(path)
    if path.is_dir():
        return _read_idx_folder(path)
    if path.suffix.lower() == ".npz":
        return _split_npz(path)
    raise ValueError(f"{path}: expected an .npz file (images, labels) or a folder of idx files")


def _split_npz(path: Path) -> ImageSet:
    try:
        with np.load(path) as archive:
            if "images" not in archive.files:
                raise ValueError(f"{path} holds {', '.join(archive.files) or 'nothing'}: expected `images` (N×H×W "
                                 "uint8) and optionally `labels` (N integers)")
            images = archive["images"]
            labels = archive["labels"] if "labels" in archive.files else np.full(len(images), -1, np.int64)
    except (OSError, EOFError) as error:  # not a zip, truncated
        raise ValueError(f"{path}: not a readable .npz ({error})") from None
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(f"{path}: `images` must be N×H×W uint8 (0..255), got {images.dtype} of shape {images.shape}")
    if labels.ndim != 1 or len(images) != len(labels) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{path}: `labels` must hold one integer class per image, got {labels.dtype} of shape "
                         f"{labels.shape} for {len(images)} images")
    # mnist_10k is sorted by class: a seeded permutation makes both halves class-balanced
    order = np.random.default_rng(SPLIT_SEED).permutation(len(images))
    test_count = int(round(len(images) * TEST_FRACTION))
    test, train = order[:test_count], order[test_count:]
    return ImageSet(path.stem, images[train], labels[train].astype(np.int64), images[test], labels[test].astype(np.int64))


def _read_idx_folder(folder: Path) -> ImageSet:
    def find(stem: str) -> Path:
        for candidate in (folder / stem, folder / f"{stem}.gz"):
            if candidate.is_file():
                return candidate
        raise FileNotFoundError(f"{folder} has no {stem}[.gz] (expected MNIST-style idx files)")

    return ImageSet(
        folder.name,
        _read_idx(find("train-images-idx3-ubyte")), _read_idx(find("train-labels-idx1-ubyte")).astype(np.int64),
        _read_idx(find("t10k-images-idx3-ubyte")), _read_idx(find("t10k-labels-idx1-ubyte")).astype(np.int64),
    )


def _read_idx(path: Path) -> np.ndarray:
    """An idx file: 2 zero bytes, a type byte (0x08 = uint8), a dimension count, big-endian sizes."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as stream:
        data = stream.read()
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] != 0x08:
        raise ValueError(f"{path}: not a uint8 idx file")
    dimensions = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dimensions))
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dimensions)
    if body.size != int(np.prod(shape)):
        raise ValueError(f"{path}: truncated ({body.size} of {int(np.prod(shape))} values)")
    return body.reshape(shape)
