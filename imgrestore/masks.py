"""Seeded free-form masks (brush strokes and boxes) for training, tests and benchmarks of tasks
that fill holes, and for `imgrestore masks` so users can build their own evaluation sets.

The strokes follow the free-form scheme of DeepFill v2 (Yu et al. 2019) and LaMa: random walks of
thick line segments with round joints; boxes are axis-aligned rectangles. Shapes are added until
the hole area reaches a target drawn uniformly from the requested range; a shape that would
overshoot the range is drawn thinner or smaller, so every mask lands inside it.

Mask `index` of seed `seed` depends only on (seed, index, size, area range, style), never on how
many masks are made, so an evaluation set can be extended or regenerated piecewise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import cv2
import numpy as np

STYLES = ("mixed", "strokes", "boxes")
LARGEST_MASK = 1 << 28
"""Pixels of the largest mask (268 MP): beyond that a typo in --size asks for petabytes."""


@dataclass(frozen=True)
class MaskSpec:
    height: int
    width: int
    area: tuple[float, float] = (0.1, 0.3)
    """Fraction of pixels to fill, low and high (inclusive)."""
    style: str = "mixed"

    def __post_init__(self) -> None:
        low, high = self.area
        if not 0 < low <= high < 1:
            raise ValueError(f"area range must satisfy 0 < low <= high < 1, got {low}-{high}")
        if self.style not in STYLES:
            raise ValueError(f"style must be one of {', '.join(STYLES)}")
        if min(self.height, self.width) < 8:
            raise ValueError("masks need at least 8×8 pixels")
        if self.height * self.width > LARGEST_MASK:
            raise ValueError(f"masks hold at most {LARGEST_MASK // 1_000_000} megapixels (e.g. 16384x16384)")


def free_form_mask(spec: MaskSpec, seed: int, index: int = 0) -> np.ndarray:
    """H×W uint8 mask, 255 = fill, with a hole fraction inside spec.area."""
    rng = np.random.default_rng([seed, index])
    low, high = spec.area
    target = rng.uniform(low, high)
    mask = np.zeros((spec.height, spec.width), np.uint8)
    total = spec.height * spec.width
    for _ in range(1000):
        if np.count_nonzero(mask) >= target * total:
            break
        use_box = spec.style == "boxes" or (spec.style == "mixed" and rng.random() < 0.3)
        candidate = mask.copy()
        (_draw_box if use_box else _draw_stroke)(candidate, rng, scale=1.0)
        shrink = 1.0
        while np.count_nonzero(candidate) > high * total and shrink > 0.05:  # overshoot: smaller shape
            shrink *= 0.6
            candidate = mask.copy()
            (_draw_box if use_box else _draw_stroke)(candidate, rng, scale=shrink)
        if np.count_nonzero(candidate) <= high * total:
            mask = candidate
    if np.count_nonzero(mask) < low * total:  # pathological tiny images: top up with single pixels
        free = np.flatnonzero(mask == 0)
        need = int(np.ceil(low * total)) - np.count_nonzero(mask)
        mask.flat[rng.choice(free, size=need, replace=False)] = 255
    return mask


def _draw_stroke(mask: np.ndarray, rng: np.random.Generator, scale: float) -> None:
    height, width = mask.shape
    side = min(height, width)
    thickness = max(1, int(rng.uniform(0.02, 0.08) * side * scale))
    y, x = rng.uniform(0, height), rng.uniform(0, width)
    angle = rng.uniform(0, 2 * np.pi)
    for _ in range(int(rng.integers(2, 7))):
        length = rng.uniform(0.05, 0.25) * side * max(scale, 0.3)
        angle += rng.uniform(-np.pi / 2, np.pi / 2)
        ny = float(np.clip(y + length * np.sin(angle), 0, height - 1))
        nx = float(np.clip(x + length * np.cos(angle), 0, width - 1))
        cv2.line(mask, (int(x), int(y)), (int(nx), int(ny)), 255, thickness, lineType=cv2.LINE_8)
        cv2.circle(mask, (int(nx), int(ny)), thickness // 2, 255, -1)
        y, x = ny, nx


def _draw_box(mask: np.ndarray, rng: np.random.Generator, scale: float) -> None:
    height, width = mask.shape
    box_h = max(1, int(rng.uniform(0.1, 0.4) * height * scale))
    box_w = max(1, int(rng.uniform(0.1, 0.4) * width * scale))
    top, left = int(rng.integers(0, height - box_h + 1)), int(rng.integers(0, width - box_w + 1))
    mask[top : top + box_h, left : left + box_w] = 255


def parse_size(text: str) -> tuple[int, int]:
    """"512x384" (width × height, as image sizes are written) -> (height, width)."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"expected WIDTHxHEIGHT, e.g. 512x512, got {text!r}") from None
    return height, width


def parse_area(text: str) -> tuple[float, float]:
    """"0.1-0.3" -> (0.1, 0.3); a single value v means (v, v): masks of v, or the next whole pixel above."""
    try:  # split on a dash between numbers only: 1e-3 is one number
        parts = [float(part) for part in re.split(r"(?<=[0-9.])\s*-\s*(?=[0-9.])", text.strip())]
    except ValueError:
        raise ValueError(f"expected LOW-HIGH fractions, e.g. 0.1-0.3, got {text!r}") from None
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2:
        raise ValueError(f"expected LOW-HIGH fractions, e.g. 0.1-0.3, got {text!r}")
    return parts[0], parts[1]


def hole_boxes(mask: np.ndarray, margin: int, multiple: int = 1) -> list[tuple[int, int, int, int]]:
    """Boxes (top, left, bottom, right) around the holes of an H×W bool mask, each widened by
    `margin` pixels of context and set on the model's grid: top and left on a multiple of
    `multiple`, the size a multiple of it where the image allows. Boxes that overlap or touch are
    merged, so every hole pixel lies in exactly one box with its context.

    This is how a masked task handles a large photo: a few holes in a 4000×3000 image are
    filled from crops around them instead of the whole picture. On the grid, because a model
    that works in cells (a patch stride, a downsampling encoder) sees the whole image's cells
    from (0, 0): a crop starting between two cells filled its holes differently from the same
    model run on the whole image. Merging paints the boxes and takes the connected regions'
    bounding boxes until they stop changing: a few passes over the mask, where comparing every
    pair of boxes took 78 s for 3000 dead pixels of a 4000×3000 scan."""
    height, width = mask.shape
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    boxes = sorted(_on_grid(top - margin, left - margin, top + box_h + margin, left + box_w + margin,
                            multiple, height, width)
                   for left, top, box_w, box_h, _area in stats[1:count].tolist())
    while len(boxes) > 1:
        canvas = np.zeros((height, width), np.uint8)
        for top, left, bottom, right in boxes:
            canvas[top:bottom, left:right] = 1
        count, _, stats, _ = cv2.connectedComponentsWithStats(canvas, connectivity=4)
        merged = sorted(_on_grid(top, left, top + box_h, left + box_w, multiple, height, width)
                        for left, top, box_w, box_h, _area in stats[1:count].tolist())
        if merged == boxes:
            break
        boxes = merged
    return boxes


def _on_grid(top: int, left: int, bottom: int, right: int, multiple: int, height: int,
             width: int) -> tuple[int, int, int, int]:
    """The box clipped to the image, its corner moved onto the grid and its size grown to whole cells."""
    top, left = max(0, top) // multiple * multiple, max(0, left) // multiple * multiple
    bottom = min(height, top + -(-(min(height, bottom) - top) // multiple) * multiple)
    right = min(width, left + -(-(min(width, right) - left) // multiple) * multiple)
    return top, left, bottom, right
