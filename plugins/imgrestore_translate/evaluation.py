"""How the shipped translation models are judged (benchmarks/translate_quality.py and the quality
tests share it; numpy and OpenCV, scikit-learn for the digit readers).

photo -> outline: PSNR and SSIM of the gray output against the true outline of each test pair,
beside classical edge drawings, Canny and XDoG, whose parameters are tuned for SSIM on the
training pairs (the test pairs never are).

digits: the test splits of both sets (imgrestore.training.image_sets; the CycleGAN trained on the
train splits only), OpenCV's cells framed to 28×28 as in training. A reader per domain, an RBF
SVM on deskewed pixels and HOG fitted to that domain's training split (DigitReader), says which
digit a translated image shows;
label preservation is the share of translations read as the source's label. Cycle-reconstruction
PSNR compares x with G_back(G_there(x)).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import cv2
import numpy as np

from imgrestore.images import read_image, to_uint8
from imgrestore.metrics import psnr, ssim
from imgrestore.training.image_sets import ImageSet, load_image_set

OPENCV_PAD = 4
"""OpenCV's 20×20 digit cells padded by 4 sit in a 28×28 frame, as MNIST's digits do."""


# ---------------------------------------------------------------- outlines


def gray(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(image[:, :, :3]), cv2.COLOR_RGB2GRAY)


def canny_outline(photo: np.ndarray, blur: float, low: float, ratio: float, thickness: int) -> np.ndarray:
    """Black Canny edges on white, after a Gaussian blur of `blur` σ (0 = none) that hides
    texture, drawn `thickness` pixels wide."""
    image = gray(photo)
    if blur:
        image = cv2.GaussianBlur(image, (0, 0), blur)
    edges = cv2.Canny(image, low, low * ratio)
    if thickness > 1:
        edges = cv2.dilate(edges, np.ones((thickness, thickness), np.uint8))
    return 255 - edges


def xdog_outline(photo: np.ndarray, sigma: float, tau: float, epsilon: float, phi: float, k: float = 1.6) -> np.ndarray:
    """eXtended difference of Gaussians (Winnemöller et al. 2012): D = G_σ − τ·G_kσ on 0..1 gray;
    white where D ≥ ε, else 1 + tanh(φ·(D − ε))."""
    image = gray(photo).astype(np.float32) / 255
    difference = cv2.GaussianBlur(image, (0, 0), sigma) - tau * cv2.GaussianBlur(image, (0, 0), k * sigma)
    drawn = np.where(difference >= epsilon, 1.0, 1.0 + np.tanh(phi * (difference - epsilon)))
    return to_uint8(drawn)


CANNY_GRID = {"blur": [0, 1, 1.5, 2, 3], "low": [100, 150, 200, 300, 400, 500], "ratio": [1.5, 2, 3],
              "thickness": [1, 2, 3]}
XDOG_GRID = {"sigma": [0.3, 0.5, 1, 2], "tau": [0.95, 0.98, 1.0, 1.02], "epsilon": [-0.1, -0.05, 0, 0.02],
             "phi": [10, 200]}
BASELINES: dict[str, tuple[Callable[..., np.ndarray], dict[str, list[Any]]]] = {
    "canny": (canny_outline, CANNY_GRID), "xdog": (xdog_outline, XDOG_GRID)}


def outline_ssim(drawn: np.ndarray, truth: np.ndarray) -> float:
    return ssim(gray(drawn), gray(truth))


def tune(method: str, pairs: list[tuple[np.ndarray, np.ndarray]]) -> tuple[dict[str, Any], float]:
    """The grid point of a classical method with the best mean SSIM on (photo, outline) pairs."""
    draw, grid = BASELINES[method]
    best: tuple[dict[str, Any], float] = ({}, -np.inf)
    for values in itertools.product(*grid.values()):
        parameters = dict(zip(grid, values))
        score = float(np.mean([outline_ssim(draw(photo, **parameters), truth) for photo, truth in pairs]))
        if score > best[1]:
            best = (parameters, score)
    return best


def read_pairs(folder: Path, names: Iterable[str] | None = None) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, photo RGB, outline gray) of domains/photo2outline/{train,test} (A and B match by name)."""
    names = sorted(p.name for p in (folder / "A").glob("*.png")) if names is None else names
    return [(name, read_image(folder / "A" / name).color, gray(read_image(folder / "B" / name).color))
            for name in names]


@dataclass(frozen=True)
class OutlineScore:
    psnr: float
    ssim: float


def score_outlines(drawn: list[np.ndarray], truths: list[np.ndarray]) -> OutlineScore:
    return OutlineScore(float(np.mean([psnr(gray(d), t) for d, t in zip(drawn, truths)])),
                        float(np.mean([outline_ssim(d, t) for d, t in zip(drawn, truths)])))


# ---------------------------------------------------------------- digits


@dataclass(frozen=True)
class DigitDomains:
    """Both digit sets, 28×28 uint8, with their fixed train/test splits."""

    a: ImageSet
    """OpenCV's digits, framed to 28×28."""
    b: ImageSet
    """MNIST."""


def digit_domains(data: Path) -> DigitDomains:
    """From ../shared/data/digits."""
    opencv = load_image_set(data / "opencv_digits_5000.npz")
    frame = ((0, 0), (OPENCV_PAD, OPENCV_PAD), (OPENCV_PAD, OPENCV_PAD))
    framed = ImageSet(opencv.name, np.pad(opencv.train_images, frame), opencv.train_labels,
                      np.pad(opencv.test_images, frame), opencv.test_labels)
    return DigitDomains(framed, load_image_set(data / "mnist_10k.npz"))


class DigitReader:
    """An RBF support-vector machine on deskewed pixels and their HOG (as OpenCV's digits sample
    reads its digits), fitted to one domain's training split. On the test splits it reads 96.8%
    of OpenCV's digits and 98.2% of MNIST's (pixels alone: 95.9% and 96.9%)."""

    def __init__(self, images: np.ndarray, labels: np.ndarray) -> None:
        from sklearn.svm import SVC

        self.model = SVC(C=10, gamma="scale").fit(_features(images), labels)

    def read(self, images: np.ndarray) -> np.ndarray:
        return self.model.predict(_features(images))

    def accuracy(self, images: np.ndarray, labels: np.ndarray) -> float:
        return float(np.mean(self.read(images) == labels))


def _deskew(image: np.ndarray) -> np.ndarray:
    """Shear the digit upright, from its second-order moments."""
    moments = cv2.moments(image)
    if abs(moments["mu02"]) < 1e-2:
        return image
    skew, side = moments["mu11"] / moments["mu02"], image.shape[0]
    shear = np.float32([[1, skew, -0.5 * side * skew], [0, 1, 0]])
    return cv2.warpAffine(image, shear, (side, side), flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR)


def _features(images: np.ndarray) -> np.ndarray:
    from skimage.feature import hog

    rows = []
    for image in images:
        upright = _deskew(image)
        gradients = hog(upright, orientations=9, pixels_per_cell=(7, 7), cells_per_block=(2, 2))
        rows.append(np.concatenate([upright.reshape(-1) / 255, 2 * gradients]))
    return np.asarray(rows, dtype=np.float32)


def translate_digits(model_file: Path | str, images: np.ndarray, batch: int = 500) -> np.ndarray:
    """N×28×28 uint8 through one direction's ONNX model (onnxruntime, CPU) -> N×28×28 uint8."""
    from imgrestore.runtime import OnnxModel

    model = OnnxModel(model_file, device="cpu")
    outputs = [model.run({"image": images[start : start + batch, None].astype(np.float32) / 255})[:, 0]
               for start in range(0, len(images), batch)]
    return to_uint8(np.concatenate(outputs))


def mean_psnr(outputs: np.ndarray, references: np.ndarray) -> float:
    """The mean over images of each image's PSNR (a perfect reconstruction counts as 99 dB)."""
    return float(np.mean([min(psnr(o, r), 99.0) for o, r in zip(outputs, references)]))
