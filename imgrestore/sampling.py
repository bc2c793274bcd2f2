"""Generation from latent vectors: seeded draws, the truncation trick, latent walks and
contact sheets. numpy only; the tasks whose input is a latent vector (TaskSpec.inputs
("latent",)) run through here instead of the folder pipeline.

Sample i of seed s is drawn from its own generator, seeded with (s, i): it does not depend on
-n, on the batch size or on the device, so `-n 64` and `-n 1000` agree on their first 64 images
and an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import numpy as np

from imgrestore.options import SMALLEST_TRUNCATION


def latent_vectors(seed: int, indices: range | list[int], dim: int, truncation: float | None = None) -> np.ndarray:
    """len(indices)×dim standard-normal latents, float32. With `truncation` τ every component
    beyond ±τ is redrawn until it falls inside (the truncated normal of BigGAN's "truncation
    trick"): smaller τ trades variety for typical, cleaner samples."""
    if truncation is not None and not truncation >= SMALLEST_TRUNCATION:  # (NaN too)
        raise ValueError(f"truncation must be at least {SMALLEST_TRUNCATION}, got {truncation}")
    rows = np.empty((len(indices), dim), np.float32)
    for row, index in enumerate(indices):
        rng = np.random.default_rng([seed, index])
        vector = rng.standard_normal(dim)
        if truncation is not None:
            outside = np.abs(vector) > truncation
            while outside.any():
                vector[outside] = rng.standard_normal(int(outside.sum()))
                outside = np.abs(vector) > truncation
        rows[row] = vector
    return rows


def slerp(start: np.ndarray, end: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """Spherical interpolation between two latents, one row per fraction in 0..1. Linear
    interpolation between Gaussian latents passes near the origin, where a generator has seen
    few vectors (their norm concentrates around √dim); along the great circle it stays typical."""
    start, end = np.asarray(start, np.float64), np.asarray(end, np.float64)
    fractions = np.asarray(fractions, np.float64)[:, None]
    cosine = np.dot(start, end) / (np.linalg.norm(start) * np.linalg.norm(end) + 1e-12)
    angle = np.arccos(np.clip(cosine, -1.0, 1.0))
    if angle < 1e-6:
        return ((1 - fractions) * start + fractions * end).astype(np.float32)
    return ((np.sin((1 - fractions) * angle) * start + np.sin(fractions * angle) * end) / np.sin(angle)).astype(np.float32)


def contact_sheet(images: np.ndarray, columns: int, gap: int = 2, background: float = 0.5) -> np.ndarray:
    """N×H×W×C images (any dtype) tiled row by row into one image, `gap` pixels apart."""
    count, height, width, channels = images.shape
    columns = max(1, min(columns, count))
    rows = -(-count // columns)
    fill = np.asarray(background * (np.iinfo(images.dtype).max if images.dtype.kind in "ui" else 1)).astype(images.dtype)
    sheet = np.full((rows * height + (rows + 1) * gap, columns * width + (columns + 1) * gap, channels), fill,
                    dtype=images.dtype)
    for index, image in enumerate(images):
        top = gap + (index // columns) * (height + gap)
        left = gap + (index % columns) * (width + gap)
        sheet[top : top + height, left : left + width] = image
    return sheet


def square_columns(count: int) -> int:
    """Columns of a contact sheet that is as close to square as the count allows."""
    return max(1, int(np.ceil(np.sqrt(count))))
