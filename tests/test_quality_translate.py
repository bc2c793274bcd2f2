"""The shipped CycleGAN translations against issue 7's bar, on test data no model was trained on
(../shared/data; skipped where it is absent). benchmarks/translate_quality.py measures the same
with the full tuning grid and writes the figures quoted in the README."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

import imgrestore
from imgrestore.weights import locate
from imgrestore_translate import evaluation as ev

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
PHOTOS = DATA / "domains" / "photo2outline"
DIGITS = DATA / "digits"


def _need(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path} not found (the test images are needed to measure translation quality)")


def test_photo_to_outline_beats_the_tuned_classical_outlines_in_ssim() -> None:
    _need(PHOTOS)
    train = ev.read_pairs(PHOTOS / "train")[::5]  # 25 of the 125 training pairs tune the baselines
    test = ev.read_pairs(PHOTOS / "test")
    truths = [outline for _, _, outline in test]
    ours = [imgrestore.run("translate", photo, model="photo2outline", direction="a2b", device="cpu")
            for _, photo, _ in test]
    ours_score = ev.score_outlines(ours, truths)
    for method, (draw, _) in ev.BASELINES.items():
        parameters, _ = ev.tune(method, [(photo, outline) for _, photo, outline in train])
        classical = ev.score_outlines([draw(photo, **parameters) for _, photo, _ in test], truths)
        assert ours_score.ssim > classical.ssim, (method, parameters, ours_score, classical)
    blank = ev.score_outlines([np.full_like(t, 255) for t in truths], truths)
    assert ours_score.psnr > blank.psnr  # more than an empty page: it draws the right lines


@lru_cache(maxsize=None)
def _digits() -> tuple[ev.DigitDomains, dict[str, ev.DigitReader]]:
    domains = ev.digit_domains(DIGITS)
    return domains, {"a": ev.DigitReader(domains.a.train_images, domains.a.train_labels),
                     "b": ev.DigitReader(domains.b.train_images, domains.b.train_labels)}


@pytest.mark.parametrize("direction", ["a2b", "b2a"])
def test_digit_translation_keeps_the_label_and_cycles_back(direction: str) -> None:
    _need(DIGITS)
    domains, readers = _digits()
    source, target = (domains.a, "b") if direction == "a2b" else (domains.b, "a")
    back = "b2a" if direction == "a2b" else "a2b"
    translated = ev.translate_digits(locate(f"translate-digits2mnist-{direction}").file, source.test_images)
    cycled = ev.translate_digits(locate(f"translate-digits2mnist-{back}").file, translated)
    assert readers[target].accuracy(translated, source.test_labels) >= 0.90
    assert ev.mean_psnr(cycled, source.test_images) >= 25.0
    # it is a translation, not a copy: the images change
    assert np.abs(translated.astype(int) - source.test_images).mean() > 2
