"""Images smaller than a network's reflection padding (icons, 1-pixel strips) are padded up by
the runtime and cropped back, instead of failing inside onnxruntime. Shipped models, because
their padding is what users meet: 9×9 and 7×7 convolutions, 8×8 patches, stride-4 grids."""

from __future__ import annotations

import numpy as np
import pytest

import imgrestore

SHAPES = [(1, 1), (3, 5), (2, 50), (13, 7)]


@pytest.mark.parametrize("task,options", [("stylize", {}), ("translate", {}), ("reconstruct", {"sigma": 10}),
                                          ("denoise", {"sigma": 10}), ("upscale", {})])
def test_tiny_images_run_through_shipped_models(task: str, options: dict, astronaut: np.ndarray) -> None:
    for height, width in SHAPES:
        crop = np.ascontiguousarray(astronaut[100 : 100 + height, 200 : 200 + width])
        out = imgrestore.run(task, crop, **options)
        scale = out.shape[0] // height
        assert out.shape == (height * scale, width * scale, 3) and out.dtype == np.uint8, (task, height, width)
        assert scale == 1 or task == "upscale"


def test_padding_reaches_the_minimum_and_the_multiple() -> None:
    from imgrestore.runtime import pad_to_multiple

    batch = np.arange(15, dtype=np.float32).reshape(1, 1, 3, 5)
    padded = pad_to_multiple(batch, 4, minimum=8)
    assert padded.shape == (1, 1, 8, 8)
    assert np.array_equal(padded[:, :, :3, :5], batch)
    assert pad_to_multiple(np.zeros((1, 1, 9, 12), np.float32), 4, minimum=8).shape == (1, 1, 12, 12)
