"""The shipped CycleGAN translations against issue 7's bar, on test data no model was trained on
(../shared/data; skipped where it is absent). benchmarks/translate_quality.py measures the same
with the full tuning grid and writes the figures quoted in the README."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

import imgrestore
from imgrestore.training.image_sets import ImageSet
from imgrestore.weights import locate
from imgrestore_translate import evaluation as ev

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
PHOTOS = DATA / "domains" / "photo2outline"
DIGITS = DATA / "digits"


PHOTO_REACHED_SSIM = 0.9475
"""The shipped photo2outline's SSIM on the 30 test pairs (benchmarks/results/translate_quality.json)."""


def _need(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path} not found (the test images are needed to measure translation quality)")


@lru_cache(maxsize=None)
def _outlines() -> tuple[ev.OutlineScore, dict[str, ev.OutlineScore], ev.OutlineScore]:
    """(ours, {method: classical}, blank page) on the 30 test pairs."""
    train = ev.read_pairs(PHOTOS / "train")[::5]  # 25 of the 125 training pairs tune the baselines
    test = ev.read_pairs(PHOTOS / "test")
    truths = [outline for _, _, outline in test]
    ours = ev.score_outlines([imgrestore.run("translate", photo, model="photo2outline", direction="a2b",
                                             device="cpu") for _, photo, _ in test], truths)
    classical = {}
    for method, (draw, _) in ev.BASELINES.items():
        parameters, _ = ev.tune(method, [(photo, outline) for _, photo, outline in train])
        classical[method] = ev.score_outlines([draw(photo, **parameters) for _, photo, _ in test], truths)
    return ours, classical, ev.score_outlines([np.full_like(t, 255) for t in truths], truths)


def test_issue_bar_photo_to_outline_beats_the_tuned_classical_outlines_in_ssim() -> None:
    _need(PHOTOS)
    ours, classical, _ = _outlines()
    assert all(ours.ssim > score.ssim for score in classical.values()), (ours, classical)


def test_photo_to_outline_keeps_what_it_reached() -> None:
    """Guards the shipped model's measured level, well above the bar, so a worse retrain fails."""
    _need(PHOTOS)
    ours, _, _ = _outlines()
    assert ours.ssim >= PHOTO_REACHED_SSIM - 0.02, ours


@lru_cache(maxsize=None)
def _digits() -> tuple[ev.DigitDomains, dict[str, ev.DigitReader]]:
    domains = ev.digit_domains(DIGITS)
    return domains, {"a": ev.DigitReader(domains.a.train_images, domains.a.train_labels),
                     "b": ev.DigitReader(domains.b.train_images, domains.b.train_labels)}


def _translated(direction: str) -> tuple[ImageSet, np.ndarray, np.ndarray]:
    """(source test split, its translations, their way back)."""
    domains, _ = _digits()
    source = domains.a if direction == "a2b" else domains.b
    back = "b2a" if direction == "a2b" else "a2b"
    translated = ev.translate_digits(locate(f"translate-digits2mnist-{direction}").file, source.test_images)
    return source, translated, ev.translate_digits(locate(f"translate-digits2mnist-{back}").file, translated)


@pytest.mark.parametrize("direction", ["a2b", "b2a"])
def test_digit_translation_keeps_the_label(direction: str) -> None:
    _need(DIGITS)
    _, readers = _digits()
    source, translated, _ = _translated(direction)
    assert readers["b" if direction == "a2b" else "a"].accuracy(translated, source.test_labels) >= 0.90
    # it is a translation, not a copy: the images change
    assert np.abs(translated.astype(int) - source.test_images).mean() > 2


@pytest.mark.parametrize("direction", ["a2b", "b2a"])
def test_digit_translation_cycles_back_above_25_db(direction: str) -> None:
    _need(DIGITS)
    source, _, cycled = _translated(direction)
    assert ev.mean_psnr(cycled, source.test_images) >= 25.0
