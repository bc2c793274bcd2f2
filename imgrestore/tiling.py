"""Splitting an image into overlapping tiles and stitching the outputs without seams.

Neighbouring tiles overlap by `overlap` pixels. In the shared strip, each tile's weight is 0 on
the quarter nearest its own cut edge (where the missing context changes its output), ramps
linearly across the middle half, and is 1 beyond. Where two tiles overlap the ramps are
complementary; where the last (shifted) tile overlaps two, a per-axis normalisation makes the
weights of all tiles sum to exactly 1 at every pixel. For a CNN
whose receptive radius is at most overlap/4 the stitched result equals the untiled one (up to
float rounding); for models with wider context the ramp hides the transition.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of size `tile` covering [0, length) with at least `overlap` overlap.

    When length, tile and overlap are multiples of some m, so is every start."""
    if length <= tile:
        return [0]
    stride = max(1, tile - overlap)
    starts = list(range(0, length - tile, stride))
    starts.append(length - tile)
    return starts


def axis_weights(starts: list[int], tile: int, length: int) -> list[np.ndarray]:
    """1-D blending weights (length `min(tile, length)`) of each tile along one axis, summing
    to exactly 1 at every position.

    The last tile is shifted back to end at the border, so it can overlap two tiles; there the
    pairwise ramps alone would not sum to 1, so the weights are divided by their sum along the
    axis (a zero weight stays zero, so the exactness argument holds). The 2-D weights are outer
    products of these, so they sum to 1 too."""
    size = min(tile, length)
    weights = []
    for index, start in enumerate(starts):
        weight = np.ones(size, dtype=np.float32)
        if index > 0:  # overlap with the previous tile on the left
            shared = starts[index - 1] + size - start
            weight[:shared] = np.minimum(weight[:shared], _rise(shared))
        if index < len(starts) - 1:  # overlap with the next tile on the right
            shared = start + size - starts[index + 1]
            weight[size - shared :] = np.minimum(weight[size - shared :], _rise(shared)[::-1])
        weights.append(weight)
    total = np.zeros(length, dtype=np.float32)
    for start, weight in zip(starts, weights):
        total[start : start + size] += weight
    return [weight / total[start : start + size] for start, weight in zip(starts, weights)]


def _rise(shared: int) -> np.ndarray:
    """0 on the first quarter, linear over the middle half, 1 on the last quarter."""
    position = (np.arange(shared, dtype=np.float32) + 0.5) / shared
    return np.clip((position - 0.25) / 0.5, 0.0, 1.0)


@dataclass(frozen=True)
class Tile:
    top: int
    left: int
    height: int
    width: int
    weight: np.ndarray  # height × width (input resolution)


def plan_tiles(height: int, width: int, tile: int, overlap: int) -> list[Tile]:
    rows, cols = tile_starts(height, tile, overlap), tile_starts(width, tile, overlap)
    row_weights, col_weights = axis_weights(rows, tile, height), axis_weights(cols, tile, width)
    tiles = []
    for top, row_weight in zip(rows, row_weights):
        for left, col_weight in zip(cols, col_weights):
            tiles.append(Tile(top, left, len(row_weight), len(col_weight), np.outer(row_weight, col_weight)))
    return tiles


def upscale_weight(weight: np.ndarray, scale: int) -> np.ndarray:
    """Weights at output resolution for a task whose output is `scale` times its input."""
    if scale == 1:
        return weight
    return np.repeat(np.repeat(weight, scale, axis=0), scale, axis=1)
