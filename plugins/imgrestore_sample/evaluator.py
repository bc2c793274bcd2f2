"""Our own yardstick for generated images: a classifier trained on the real training images
(shipped in weights/sample/, trained by `imgrestore train sample --network classifier`), and from
its penultimate features the Fréchet distance between generated and real images (FID's
formula with our classifier in place of Inception, which would need a download and knows
nothing of 28×28 digits).

Reported beside every distance: the same distance between real training and real test images
(the floor: what a perfect generator would reach with these sample sizes), the fraction of
samples the classifier calls with probability ≥ 0.9, and the share of samples per class.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from imgrestore.training.checkpoint import load_weights, read_metadata
from imgrestore_sample.networks import Classifier

CONFIDENT = 0.9


@dataclass(frozen=True)
class SampleScore:
    frechet: float
    confident: float
    """Fraction of samples whose top class has probability ≥ 0.9."""
    class_shares: tuple[float, ...]
    """Fraction of samples given each class (argmax)."""

    def as_dict(self) -> dict[str, object]:
        return {"frechet": round(self.frechet, 4), "confident": round(self.confident, 4),
                "class_shares": [round(share, 4) for share in self.class_shares]}


@dataclass(frozen=True)
class FeatureStatistics:
    """Mean and covariance of a set's features: all the Fréchet distance needs of it."""

    mean: np.ndarray
    covariance: np.ndarray
    count: int

    @classmethod
    def of(cls, features: np.ndarray) -> "FeatureStatistics":
        features = np.asarray(features, np.float64)
        return cls(features.mean(0), np.cov(features, rowvar=False), len(features))


def frechet_distance(first: np.ndarray | FeatureStatistics, second: np.ndarray | FeatureStatistics) -> float:
    """‖μ₁−μ₂‖² + tr(Σ₁ + Σ₂ − 2(Σ₁^½ Σ₂ Σ₁^½)^½) between two feature sets (N×d arrays or their
    statistics).

    The matrix square roots come from symmetric eigendecompositions, which, unlike a general
    sqrtm, never return complex values on nearly singular covariances."""
    a = first if isinstance(first, FeatureStatistics) else FeatureStatistics.of(first)
    b = second if isinstance(second, FeatureStatistics) else FeatureStatistics.of(second)
    mean_gap = a.mean - b.mean
    values, vectors = np.linalg.eigh(a.covariance)
    root_first = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    middle = np.linalg.eigvalsh(root_first @ b.covariance @ root_first)
    cross = np.sqrt(np.clip(middle, 0, None)).sum()
    return float(mean_gap @ mean_gap + np.trace(a.covariance) + np.trace(b.covariance) - 2 * cross)


class Evaluator:
    """The shipped (or given) classifier checkpoint, ready to embed and classify image batches."""

    def __init__(self, checkpoint: str | Path, device: str | torch.device = "cpu") -> None:
        metadata = read_metadata(checkpoint)
        config = dict(metadata["model_config"])
        if config.pop("kind", None) != "classifier":
            raise ValueError(f"{checkpoint} is not a classifier checkpoint")
        self.device = torch.device(device)
        self.model = Classifier(**config)
        self.model.load_state_dict(load_weights(checkpoint))
        self.model.to(self.device).eval()

    @torch.no_grad()
    def embed(self, images: np.ndarray | torch.Tensor, batch_size: int = 500) -> tuple[np.ndarray, np.ndarray]:
        """Penultimate features (N×128) and class probabilities of N×C×H×W images in 0..1
        (uint8 N×H×W arrays are accepted as they are stored)."""
        features, probabilities = [], []
        for start in range(0, len(images), batch_size):
            chunk = images[start : start + batch_size]
            batch = chunk if torch.is_tensor(chunk) else torch.from_numpy(np.array(chunk))  # a writable copy
            if batch.dtype == torch.uint8:
                batch = batch.float() / 255
            if batch.ndim == 3:
                batch = batch[:, None]
            batch = batch.to(self.device, torch.float32)
            embedded = self.model.features(batch)
            features.append(embedded.cpu().numpy())
            probabilities.append(torch.softmax(self.model.head(embedded), dim=1).cpu().numpy())
        return np.concatenate(features), np.concatenate(probabilities)

    def accuracy(self, images: np.ndarray, labels: np.ndarray) -> float:
        _, probabilities = self.embed(images)
        return float((probabilities.argmax(1) == labels).mean())

    def score(self, samples: np.ndarray | torch.Tensor, reference: np.ndarray | FeatureStatistics) -> SampleScore:
        """Scores of generated samples against real images' features (or their statistics)."""
        features, probabilities = self.embed(samples)
        classes = probabilities.shape[1]
        shares = np.bincount(probabilities.argmax(1), minlength=classes) / len(probabilities)
        return SampleScore(frechet=frechet_distance(features, reference),
                           confident=float((probabilities.max(1) >= CONFIDENT).mean()),
                           class_shares=tuple(float(s) for s in shares))


def shipped_evaluator(dataset: str) -> Path:
    """The classifier checkpoint shipped for a data set (by its name: mnist_10k, fashion-mnist)."""
    from imgrestore.weights import locate

    return locate(evaluator_name(dataset), section="evaluators").file


def evaluator_name(dataset: str) -> str:
    return f"sample-evaluator-{dataset}"


def shipped_statistics(dataset: str) -> dict[str, FeatureStatistics]:
    """The shipped evaluator's feature statistics of the real "train" and "test" images of a data
    set, so samples can be scored (and the real-vs-real floor known) without the images."""
    from imgrestore.weights import locate

    entry = locate(evaluator_name(dataset), section="evaluators")
    path = entry.companion("statistics")
    with np.load(path) as archive:
        return {split: FeatureStatistics(archive[f"{split}_mean"], archive[f"{split}_covariance"],
                                         int(archive[f"{split}_count"])) for split in ("train", "test")}
