"""The shipped sampling models against the issue's bar, scored by the shipped evaluator and the
shipped feature statistics of the real images (so no data set is needed): 10,000 samples of
seed 0 through onnxruntime, as `benchmarks/sample_quality.py` scores them against the real test
images. The classifier's own test accuracy needs the images and is checked where they exist."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest

import imgrestore
from imgrestore.training.image_sets import FASHION_MNIST, load_image_set
from imgrestore_sample.evaluator import Evaluator, SampleScore, frechet_distance, shipped_evaluator, shipped_statistics

REPO = Path(__file__).resolve().parent.parent
DATASETS = {"digits": "mnist_10k", "fashion": "fashion-mnist"}
SAMPLES = 10000


@lru_cache(maxsize=None)
def _score(set_name: str, kind: str, seed: int = 0) -> SampleScore:
    dataset = DATASETS[set_name]
    samples = imgrestore.sample_images(count=SAMPLES, seed=seed, model=f"{kind}-{set_name}", device="cpu", batch_size=500)
    return Evaluator(shipped_evaluator(dataset)).score(samples.transpose(0, 3, 1, 2), shipped_statistics(dataset)["test"])


def _floor(set_name: str) -> float:
    statistics = shipped_statistics(DATASETS[set_name])
    return frechet_distance(statistics["train"], statistics["test"])


BAR_SEEDS = (0, 1, 2)
SHORTFALL = pytest.mark.xfail(strict=True, reason=(
    "issue 6's MNIST confidence bar is met by the shipped dcgan-digits (14k CPU steps, width 64, spectral-norm "
    "discriminator) on seed 0 with no margin (exactly 9,000 of 10,000 samples), but not on seeds 1 and 2 "
    "(89.59%, 89.89%): 89.83% over the 30,000, bar 90%"))


@SHORTFALL
def test_issue_bar_digit_dcgan_samples_are_confidently_classified() -> None:
    """Over three seeds' 30,000 samples: on 10,000 the share moves by about ±0.3 points from seed
    to seed, so one seed alone can meet the bar by chance."""
    shares = [_score("digits", "dcgan", seed).confident for seed in BAR_SEEDS]
    assert sum(shares) / len(shares) >= 0.90, shares


def test_issue_bar_digit_dcgan_covers_every_class_evenly() -> None:
    shares = _score("digits", "dcgan").class_shares
    assert len(shares) == 10 and all(0.07 <= share <= 0.13 for share in shares), shares


def test_issue_bar_digit_dcgan_is_within_ten_times_the_real_floor() -> None:
    assert _score("digits", "dcgan").frechet <= 10 * _floor("digits"), (_score("digits", "dcgan"), _floor("digits"))


def test_digit_dcgan_keeps_what_it_reached() -> None:
    """Guards on the shipped model's measured confidence (see SHORTFALL), so a worse retrain fails:
    ≥ 89% confident on seed 0 (measured 90.0%) and more confident than the VAE, whose classes are less even."""
    gan, vae = _score("digits", "dcgan"), _score("digits", "vae")
    assert gan.confident >= 0.89 and gan.confident > vae.confident
    assert max(gan.class_shares) - min(gan.class_shares) < max(vae.class_shares) - min(vae.class_shares)


@pytest.mark.parametrize("set_name", sorted(DATASETS))
def test_dcgan_beats_the_vae(set_name: str) -> None:
    assert _score(set_name, "dcgan").frechet < _score(set_name, "vae").frechet


@pytest.mark.parametrize("set_name,path,bar", [
    ("digits", REPO.parent / "shared" / "data" / "digits" / "mnist_10k.npz", 0.98),
    ("fashion", FASHION_MNIST, 0.90),
])
def test_evaluator_accuracy_on_the_real_test_images(set_name: str, path, bar: float) -> None:
    if not path.exists():
        pytest.skip(f"{path} not found (the {set_name} images are needed to measure the classifier)")
    data = load_image_set(path)
    assert Evaluator(shipped_evaluator(data.name)).accuracy(data.test_images, data.test_labels) >= bar
