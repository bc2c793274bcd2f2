"""Sparse-coding reconstruction on Set12 (gray): denoising at σ = 15, 25, 50 and filling 50% of
the pixels missing at random, every method side by side in one run, PSNR and seconds.

Methods (8×8 patches, 256 atoms, every overlapping patch unless a stride is stated):
  sklearn  scikit-learn's documented pipeline (extract_patches_2d, MiniBatchDictionaryLearning
           fitted as in its "Image denoising using dictionary learning" example, OMP transform,
           reconstruct_from_patches_2d), on the same training patches our K-SVD learns from,
           with each patch's mean removed and the same error-constrained OMP stop as ours
           (residual ≤ n·(1.15σ)²), so the two differ only in dictionary and solver. Denoise only:
           scikit-learn has no masked sparse coding.
  omp      our shipped K-SVD dictionary with our batched OMP (PyTorch, CPU).
  ista     our FISTA on the same dictionary, run to convergence (λ tuned on training images:
           tools/tune_reconstruct_lambda.py), at the LISTA model's patch stride: 200 iterations
           for denoising, 600 for filling (on a 128² Set12 crop, denoising PSNR moves < 0.01 dB
           from 200 to 600 iterations, filling < 0.01 dB from 600 to 1200).
  lista    the shipped LISTA models (16 layers) through onnxruntime, at their stride.
  nlmeans  OpenCV fastNlMeansDenoising, h = σ (denoise).
  telea    cv2.inpaint INPAINT_TELEA, the best radius of 1, 3, 5 per image (fill).

Noise: DnCNN protocol (add σ·N(0,1) to the 8-bit image, round, clip; seed = image index).
Missing pixels: rng(1000 + index).random(shape) < 0.5. Outputs are rounded to 8 bits and scored
on the whole image (PSNR, data range 255). The slow references (sklearn, ista: minutes per 512²
image on 2 cores) are scored on the first --slow-limit images (default 7, the 256×256 ones) and
every comparison with them is made on those images. Seconds are the sum over the images of each method's
wall time on the image (--threads torch/onnxruntime/scikit-learn threads, default 2), dictionary
learning excluded (reported apart).

    python benchmarks/reconstruct_quality.py
    python benchmarks/reconstruct_quality.py --limit 3 --methods omp,lista --name scratch
    python benchmarks/reconstruct_quality.py --conditions fill --name fill_only
    python benchmarks/reconstruct_quality.py --methods "" --reuse A.json B.json    # merge earlier runs
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import data_root, model_file, reused_rows, save  # noqa: E402

from imgrestore.images import read_image  # noqa: E402
from imgrestore.metrics import psnr  # noqa: E402
from imgrestore.noise import add_gaussian_noise  # noqa: E402
from imgrestore.runtime import OnnxModel  # noqa: E402

SIGMAS = (15, 25, 50)
MISSING = 0.5
ALL_METHODS = ("sklearn", "omp", "ista", "lista", "nlmeans", "telea")
PATCH, ATOMS = 8, 256
SLOW = ("sklearn", "ista")  # minutes per image at 512²: scored on the first --slow-limit images
SKLEARN_PATCHES = 20000  # MiniBatchDictionaryLearning is fitted on the first 20k of our K-SVD's patches


def load_set12(root: Path, limit: int | None) -> list[tuple[str, np.ndarray]]:
    paths = sorted((root / "test" / "Set12").glob("*.png"))[:limit]
    return [(p.stem, read_image(p).color[:, :, 0]) for p in paths]


def timed(function: Callable[[], np.ndarray]) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    out = function()
    return out, time.perf_counter() - start


def to_8bit(image: np.ndarray) -> np.ndarray:
    return np.clip(np.round(np.asarray(image, np.float64) * 255), 0, 255).astype(np.uint8)


class SklearnPipeline:
    """The scikit-learn example's pipeline with our patch size, atom count, patches and stop."""

    def __init__(self, patches: np.ndarray, jobs: int) -> None:
        from sklearn.decomposition import MiniBatchDictionaryLearning

        self.jobs = jobs
        data = patches[:SKLEARN_PATCHES].astype(np.float64)
        data = data / data.std(axis=0)  # the example standardises before fitting
        self.model = MiniBatchDictionaryLearning(n_components=ATOMS, batch_size=200, alpha=1.0, max_iter=10,
                                                 random_state=0)
        start = time.perf_counter()
        self.model.fit(data)
        self.fit_seconds = time.perf_counter() - start

    @classmethod
    def on_training_data(cls, root: Path, jobs: int) -> "SklearnPipeline":
        """Fitted on the first patches our K-SVD learns from (same images, split and seed)."""
        from imgrestore.training.data import load_images, training_and_validation_paths
        from imgrestore_reconstruct.recipe import training_patches

        train_paths, _ = training_and_validation_paths({"data": [root / "train"], "val_fraction": 0.05})
        return cls(training_patches(load_images(train_paths, "gray", min_size=40), PATCH, SKLEARN_PATCHES), jobs)

    @classmethod
    def with_dictionary(cls, atoms: np.ndarray, jobs: int) -> "SklearnPipeline":
        """The same pipeline coding with a given k×n dictionary (scikit-learn's SparseCoder)."""
        from sklearn.decomposition import SparseCoder

        pipeline = cls.__new__(cls)
        pipeline.jobs, pipeline.fit_seconds = jobs, 0.0
        pipeline.model = SparseCoder(dictionary=atoms, transform_algorithm="omp")
        return pipeline

    @property
    def atoms(self) -> np.ndarray:
        return self.model.components_ if hasattr(self.model, "components_") else self.model.dictionary

    def denoise(self, noisy: np.ndarray, sigma: float) -> np.ndarray:
        from sklearn.feature_extraction.image import extract_patches_2d, reconstruct_from_patches_2d

        patches = extract_patches_2d(noisy.astype(np.float64), (PATCH, PATCH)).reshape(-1, PATCH * PATCH)
        mean = patches.mean(1, keepdims=True)
        tol = PATCH * PATCH * (1.15 * sigma / 255) ** 2
        self.model.set_params(transform_algorithm="omp", transform_alpha=tol, n_jobs=self.jobs)
        code = self.model.transform(patches - mean)
        restored = (code @ self.atoms + mean).reshape(-1, PATCH, PATCH)
        return reconstruct_from_patches_2d(restored, noisy.shape)


def best_telea(image: np.ndarray, missing: np.ndarray, clean: np.ndarray) -> np.ndarray:
    holed = np.where(missing, 0, image).astype(np.uint8)
    candidates = [cv2.inpaint(holed, missing.astype(np.uint8), r, cv2.INPAINT_TELEA) for r in (1, 3, 5)]
    return max(candidates, key=lambda c: psnr(c, clean)) / 255.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", default=",".join(ALL_METHODS))
    parser.add_argument("--limit", type=int, default=None, help="first N images only")
    parser.add_argument("--denoise-model", type=Path, default=None, help="LISTA denoise .onnx [shipped]")
    parser.add_argument("--fill-model", type=Path, default=None, help="LISTA fill .onnx [shipped]")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="reconstruct checkpoint holding the K-SVD dictionary [shipped]")
    parser.add_argument("--ista-iterations", type=int, default=200, help="FISTA iterations, denoising")
    parser.add_argument("--ista-fill-iterations", type=int, default=600, help="FISTA iterations, filling")
    parser.add_argument("--threads", type=int, default=2, help="torch and onnxruntime threads")
    parser.add_argument("--conditions", default="denoise,fill", help="denoise, fill or both")
    parser.add_argument("--slow-limit", type=int, default=7,
                        help="run the slow references (sklearn, ista) on the first N images only [7: the 256² ones]")
    parser.add_argument("--reuse", type=Path, nargs="*", default=(),
                        help="keep the rows of earlier result JSONs that this run does not measure")
    parser.add_argument("--name", default="reconstruct_quality")
    args = parser.parse_args()
    methods = [m for m in args.methods.split(",") if m]
    root = data_root()

    import torch

    from imgrestore_reconstruct.dictionary import read_dictionary, shipped_dictionary
    from imgrestore_reconstruct.recipe import FILL_LAMBDA, LAMBDA_PER_SIGMA
    from imgrestore_reconstruct.sparse import denoise_image, fill_image, lasso_image

    torch.set_num_threads(args.threads)
    dictionary = read_dictionary(args.checkpoint) if args.checkpoint else shipped_dictionary()
    conditions = args.conditions.split(",")
    lista = {mode: OnnxModel(model_file(f"reconstruct-{mode}", override), device="cpu", threads=args.threads)
             for mode, override in (("denoise", args.denoise_model), ("fill", args.fill_model)) if mode in conditions}
    stride = int(next(iter(lista.values())).info.extra["model_config"]["stride"])
    images = load_set12(root, args.limit)
    print(f"Set12: {len(images)} images; LISTA stride {stride}; FISTA {args.ista_iterations} iterations "
          f"(fill {args.ista_fill_iterations})")

    sklearn = None
    if "sklearn" in methods and "denoise" in conditions:
        sklearn = SklearnPipeline.on_training_data(root, args.threads)
        print(f"sklearn MiniBatchDictionaryLearning fit: {sklearn.fit_seconds:.1f} s on {SKLEARN_PATCHES} patches")

    def run_lista(mode: str, image: np.ndarray, condition: np.ndarray) -> np.ndarray:
        feed = {"image": image[None, None].astype(np.float32)}
        feed["sigma" if mode == "denoise" else "mask"] = condition
        return lista[mode].run(feed)[0, 0]

    results: dict[str, dict[str, dict]] = {}
    for sigma in SIGMAS if "denoise" in conditions else ():
        condition = f"sigma{sigma}"
        rows: dict[str, dict] = {}
        noisy_images = [(name, clean, add_gaussian_noise(clean, sigma, np.random.default_rng(i)) / 255.0)
                        for i, (name, clean) in enumerate(images)]
        run_lista("denoise", noisy_images[0][2], np.array([[sigma / 255]], np.float32))  # warm-up
        runners: dict[str, Callable[[np.ndarray], np.ndarray]] = {
            "sklearn": lambda noisy: sklearn.denoise(noisy, sigma),
            "omp": lambda noisy: denoise_image(noisy.astype(np.float32), dictionary, sigma),
            "ista": lambda noisy: lasso_image(noisy.astype(np.float32), dictionary, LAMBDA_PER_SIGMA * sigma / 255,
                                              args.ista_iterations, stride=stride),
            "lista": lambda noisy: run_lista("denoise", noisy, np.array([[sigma / 255]], np.float32)),
            "nlmeans": lambda noisy: cv2.fastNlMeansDenoising(to_8bit(noisy), None, h=sigma) / 255.0,
        }
        for method in (m for m in methods if m in runners):
            scores, seconds = [], 0.0
            for name, clean, noisy in noisy_images[: args.slow_limit] if method in SLOW else noisy_images:
                out, spent = timed(lambda: runners[method](noisy))
                scores.append(psnr(to_8bit(out), clean))
                seconds += spent
            rows[method] = {"psnr": float(np.mean(scores)), "seconds": seconds, "images": len(scores), "per_image": dict(
                zip([n for n, _, _ in noisy_images], [round(s, 3) for s in scores]))}
            print(f"σ={sigma:>2} {method:>8}: {rows[method]['psnr']:.2f} dB  {seconds:7.2f} s", flush=True)
        rows["noisy"] = {"psnr": float(np.mean([psnr(to_8bit(n), c) for _, c, n in noisy_images]))}
        results[condition] = rows

    rows = {}
    cases = [(name, clean, np.random.default_rng(1000 + i).random(clean.shape) < MISSING)
             for i, (name, clean) in enumerate(images)]
    fill_runners: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]] = {
        "omp": lambda image, missing, _: fill_image(image, ~missing, dictionary),
        "ista": lambda image, missing, _: lasso_image(image, dictionary, FILL_LAMBDA, args.ista_fill_iterations,
                                                      known=~missing, stride=stride),
        "lista": lambda image, missing, _: run_lista("fill", image, missing[None, None].astype(np.float32)),
        "telea": lambda image, missing, clean: best_telea(to_8bit(image), missing, clean),
    }
    for method in (m for m in methods if m in fill_runners and "fill" in conditions):
        scores, seconds = [], 0.0
        for name, clean, missing in cases[: args.slow_limit] if method in SLOW else cases:
            image = np.where(missing, 0, clean).astype(np.float32) / 255
            out, spent = timed(lambda: fill_runners[method](image, missing, clean))
            result = np.where(missing, to_8bit(out), clean)  # known pixels as they came (all methods keep them)
            scores.append(psnr(result, clean))
            seconds += spent
        rows[method] = {"psnr": float(np.mean(scores)), "seconds": seconds, "images": len(scores),
                        "per_image": dict(zip([n for n, _, _ in cases], [round(s, 3) for s in scores]))}
        print(f"fill 50% {method:>8}: {rows[method]['psnr']:.2f} dB  {seconds:7.2f} s", flush=True)
    if rows:
        results["missing50"] = rows

    for source in args.reuse:
        import json

        earlier = reused_rows({"Set12": json.loads(source.read_text())["results"]}, source)["Set12"]
        for condition, old_rows in earlier.items():
            for method, row in old_rows.items():
                results.setdefault(condition, {}).setdefault(method, row)
    bars = check_bars(results)
    for line in bars["lines"]:
        print(line)
    save(args.name, {"set": "Set12", "images": [n for n, _ in images], "stride": stride,
                     "ista_iterations": {"denoise": args.ista_iterations, "fill": args.ista_fill_iterations},
                     "threads": args.threads,
                     "sklearn_fit_seconds": sklearn.fit_seconds if sklearn else None,
                     "results": results, "bars": bars})


def _on_common_images(ours: dict, reference: dict) -> tuple[float, float, int]:
    """Mean PSNR of both rows over the images both were scored on."""
    names = sorted(set(ours["per_image"]) & set(reference["per_image"]))
    return (float(np.mean([ours["per_image"][n] for n in names])),
            float(np.mean([reference["per_image"][n] for n in names])), len(names))


def check_bars(results: dict[str, dict[str, dict]]) -> dict:
    """The issue's quality bars, judged on the images both methods were scored on (speed: see
    benchmarks/reconstruct_speed.py, measured on an idle machine); missing rows: not judged."""
    lines, passed = [], []

    def judge(text: str, ok: bool) -> None:
        lines.append(f"{'PASS' if ok else 'FAIL'}  {text}")
        passed.append(ok)

    for condition, rows in results.items():
        if {"omp", "sklearn"} <= rows.keys():
            omp, sk, count = _on_common_images(rows["omp"], rows["sklearn"])
            judge(f"{condition}: omp {omp:.2f} dB >= sklearn {sk:.2f} dB ({count} images)", omp >= sk)
        if {"ista", "lista"} <= rows.keys():
            lista, ista, count = _on_common_images(rows["lista"], rows["ista"])
            judge(f"{condition}: lista {lista:.2f} dB within 0.3 dB of converged ista {ista:.2f} dB ({count} images)",
                  lista >= ista - 0.3)
    fill = results.get("missing50", {})
    for method in ("lista", "omp"):
        if {method, "telea"} <= fill.keys():
            judge(f"fill 50%: {method} {fill[method]['psnr']:.2f} dB > telea {fill['telea']['psnr']:.2f} dB",
                  fill[method]["psnr"] > fill["telea"]["psnr"])
    return {"lines": lines, "all_passed": all(passed)}


if __name__ == "__main__":
    main()
