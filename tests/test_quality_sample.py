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


def test_issue_bar_digit_dcgan_samples_are_confidently_classified() -> None:
    """Over three seeds' 30,000 samples: on 10,000 the share moves by about ±0.3 points from seed
    to seed, so one seed alone can meet the bar by chance. The shipped model (25,000 steps):
    91.07 / 91.61 / 91.76%."""
    shares = [_score("digits", "dcgan", seed).confident for seed in BAR_SEEDS]
    assert sum(shares) / len(shares) >= 0.90, shares


@pytest.mark.parametrize("seed", BAR_SEEDS)
def test_issue_bar_digit_dcgan_covers_every_class_evenly(seed: int) -> None:
    """Every seed, not only seed 0: a model at the edge (a rejected run gave 13.14% sevens on seed
    0) must not pass on a lucky draw. The shipped model: 8.1–12.1% over the three."""
    shares = _score("digits", "dcgan", seed).class_shares
    assert len(shares) == 10 and all(0.07 <= share <= 0.13 for share in shares), shares


def test_issue_bar_digit_dcgan_is_within_ten_times_the_real_floor() -> None:
    assert _score("digits", "dcgan").frechet <= 10 * _floor("digits"), (_score("digits", "dcgan"), _floor("digits"))


def test_digit_dcgan_is_more_confident_and_more_even_than_the_vae() -> None:
    gan, vae = _score("digits", "dcgan"), _score("digits", "vae")
    assert gan.confident > vae.confident
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
