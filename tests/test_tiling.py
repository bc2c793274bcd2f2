"""Tile blending weights: a partition of unity for every length, tile and overlap, including
where the last tile (shifted back to the border) overlaps two others."""

from __future__ import annotations

import numpy as np
import pytest

from imgrestore.tiling import plan_tiles


@pytest.mark.parametrize("height,width,tile,overlap", [
    (150, 130, 81, 40),   # the last column tile overlaps two: this once left visible seams
    (1000, 700, 256, 40), (300, 300, 128, 64), (97, 211, 64, 16), (64, 64, 64, 16),
])
def test_weights_sum_to_one_everywhere(height: int, width: int, tile: int, overlap: int) -> None:
    total = np.zeros((height, width))
    for t in plan_tiles(height, width, tile, overlap):
        total[t.top : t.top + t.height, t.left : t.left + t.width] += t.weight
        assert (t.weight >= 0).all()
    np.testing.assert_allclose(total, 1.0, atol=1e-6)


def test_weight_is_zero_near_a_cut_edge() -> None:
    """Pixels within overlap/4 of a tile's inner edge get no weight from that tile (their
    output lacks context there)."""
    tiles = plan_tiles(40, 300, 128, 64)
    first = tiles[0]
    assert np.all(first.weight[:, -16:] == 0) and np.all(first.weight[:, :64] == 1)
