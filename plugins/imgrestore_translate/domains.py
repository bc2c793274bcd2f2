"""The two unpaired image domains a CycleGAN learns from, held in memory as uint8.

A domain is either
  - a folder of images (searched recursively), e.g. ../shared/data/domains/photo2outline/train/A:
    training draws random square crops with left-right flips (no rotations: people stand up);
    `--val-fraction` of the files, chosen by a hash of the name, are held out for validation;
  - an .npz of `images` (N×H×W uint8), e.g. ../shared/data/digits/mnist_10k.npz: the fixed
    train/test split of imgrestore.training.image_sets applies (the test images belong to the
    benchmark), whole images are used as they are (flipping a digit changes it), and 5% of the
    training images, chosen by a fixed seed, are held out for validation.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from imgrestore.images import to_color_mode
from imgrestore.training.data import PatchSampler, list_images, load_images, split_holdout
from imgrestore.training.image_sets import load_image_set

NPZ_VALIDATION_FRACTION = 0.05
COLORLESS_SPREAD = 8
"""A colour image is colorless (a gray drawing saved as RGB) when its channels differ by at most
this many levels in 99.9% of its pixels: scans and JPEGs of gray drawings carry a little chroma noise."""


@dataclass
class Domain:
    name: str
    train: list[np.ndarray]
    """H×W×C uint8 images."""
    validation: list[np.ndarray]
    crop: int | None
    """Side of the random training crops; None = whole images (which then all have one size)."""

    def __post_init__(self) -> None:
        self._sampler = PatchSampler(self.train, self.crop, rotate=False) if self.crop else None

    @property
    def gray(self) -> bool:
        return all(image.shape[2] == 1 for image in self.train + self.validation)

    @property
    def colorless(self) -> bool:
        """Every image is gray, or colour whose channels (nearly) agree: outline drawings, sketches."""
        return all(image.shape[2] == 1 or _channel_spread(image) <= COLORLESS_SPREAD
                   for image in self.train + self.validation)

    def in_mode(self, mode: str) -> "Domain":
        """The domain with every image in colour `mode` ("gray" or "rgb")."""
        return replace(self, train=[to_color_mode(image, mode) for image in self.train],
                       validation=[to_color_mode(image, mode) for image in self.validation])

    @property
    def size(self) -> int:
        """Side of the training images the networks see."""
        return self.crop or self.train[0].shape[0]

    def sample(self, rng: np.random.Generator, count: int) -> np.ndarray:
        """count×C×S×S float32 in 0..1."""
        if self._sampler is not None:
            return self._sampler.sample(rng, count)
        chosen = rng.integers(0, len(self.train), count)
        return np.stack([self.train[i].transpose(2, 0, 1) for i in chosen]).astype(np.float32) / 255


def _channel_spread(image: np.ndarray) -> float:
    """How far an RGB image's channels differ, in levels, at the 99.9th percentile of its pixels."""
    spread = image.max(axis=2).astype(np.int16) - image.min(axis=2)
    return float(np.percentile(spread, 99.9))


def load_domain(path: str | Path, crop: int, val_fraction: float, pad: int = 0) -> Domain:
    """The domain at `path`, each image with the channels it was stored with (an .npz is gray) and
    framed by `pad` black pixels (OpenCV's 20×20 digit cells padded by 4 sit in a 28×28 frame as
    MNIST's digits do). The recipe then puts both domains in one colour mode (Domain.in_mode)."""
    path = Path(path)
    if path.suffix == ".npz":
        images = load_image_set(path).train_images
        if pad:
            images = np.pad(images, ((0, 0), (pad, pad), (pad, pad)))
        pixels = list(images[:, :, :, None])
        order = np.random.default_rng(0).permutation(len(pixels))
        held = max(1, int(len(pixels) * NPZ_VALIDATION_FRACTION))
        return Domain(path.stem, [pixels[i] for i in order[held:]], [pixels[i] for i in order[:held]], None)
    if not path.is_dir():
        raise ValueError(f"{path}: a domain is a folder of images or an .npz of `images`")
    train_paths, validation_paths = split_holdout(list_images([path]), val_fraction)
    frame = ((pad, pad), (pad, pad), (0, 0))
    train = [np.pad(image, frame) for image in load_images(train_paths, None, min_size=crop)]
    validation = [np.pad(image, frame) for image in load_images(validation_paths, None)] if validation_paths else []
    return Domain(path.name, train, validation, crop)
