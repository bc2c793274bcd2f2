"""Denoising quality: PSNR/SSIM of our shipped models against classical methods and an anchor.

Noise protocol (as users meet noise): for each image and sigma, Gaussian noise from
numpy.random.default_rng(seed) is added in float to the clean 8-bit image, then rounded and
clipped to 8 bits. PSNR/SSIM are computed on the whole image against the clean 8-bit original,
with the restored image rounded to 8 bits as it would be saved.

Methods: ours (sigma given), ours-blind (sigma estimated from the image), ours-x8 (sigma given,
geometric self-ensemble, `--ensemble` in the CLI) and ours-x8-blind (the same, sigma estimated;
both only when asked for), OpenCV NL-means with h tuned per sigma on training images (never test
images), BM3D / CBM3D (PyPI `bm3d`), and the DnCNN-S sigma=25 anchor (gray, sigma 25 only; loaded
into our own DnCNN definition, comparison only).

    python benchmarks/denoise_quality.py                       # everything (slow: BM3D)
    python benchmarks/denoise_quality.py --sets BSD68 --sigmas 25 --methods ours,bm3d
    python benchmarks/denoise_quality.py --sets BSD68 --methods ours --gray-model candidate.onnx --name try
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import data_root, model_file, reused_rows, save  # noqa: E402

from imgrestore.images import Picture, read_image  # noqa: E402
from imgrestore.metrics import psnr, ssim  # noqa: E402
from imgrestore.noise import add_gaussian_noise  # noqa: E402
from imgrestore.runtime import OnnxModel  # noqa: E402
from imgrestore_denoise.inference import prepare  # noqa: E402

GRAY_SETS = ("Set12", "BSD68")
COLOR_SETS = ("CBSD68", "Kodak24", "McMaster")
ALL_METHODS = ("ours", "ours-blind", "nlmeans", "bm3d", "dncnn-anchor")  # "ours-x8"(-blind), self-ensemble, on request
NLM_FACTORS = (0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2)


def load_set(root: Path, name: str, limit: int | None) -> list[tuple[str, np.ndarray]]:
    paths = sorted((root / "test" / name).glob("*.png"))[:limit]
    color = name in COLOR_SETS
    images = []
    for path in paths:
        picture = read_image(path)
        pixels = picture.color if color else picture.color[:, :, :1]
        images.append((path.name, pixels))
    return images


CANDIDATES: dict[bool, Path | None] = {False: None, True: None}
"""--gray-model / --color-model: an exported model under test in place of the shipped one."""


@lru_cache(maxsize=None)
def ours(color: bool) -> OnnxModel:
    return OnnxModel(model_file("denoise-color" if color else "denoise-gray", CANDIDATES[color]))


def run_ours(noisy: np.ndarray, sigma: float | None, ensemble: bool = False) -> np.ndarray:
    """What `imgrestore denoise` does, through the task's own `prepare`: without `sigma` it
    estimates the level, and under NOISE_FREE it gives the image back as it is."""
    model = ours(noisy.shape[2] == 3)
    inputs = prepare(Picture(color=noisy), {"sigma": sigma}, model.info)
    if inputs is None:
        return noisy.astype(np.float64)
    run = model.run_ensemble if ensemble else model.run_image
    return run(inputs).transpose(1, 2, 0) * 255


def nlmeans(noisy: np.ndarray, h: float) -> np.ndarray:
    if noisy.shape[2] == 1:
        return cv2.fastNlMeansDenoising(noisy[:, :, 0], None, h=h, templateWindowSize=7, searchWindowSize=21)[:, :, None]
    bgr = cv2.cvtColor(noisy, cv2.COLOR_RGB2BGR)
    out = cv2.fastNlMeansDenoisingColored(bgr, None, h=h, hColor=h, templateWindowSize=7, searchWindowSize=21)
    return cv2.cvtColor(out, cv2.COLOR_BGR2RGB)


@lru_cache(maxsize=None)  # the same tuning serves every set of one colour mode
def tune_nlmeans(root: Path, sigma: float, color: bool) -> float:
    """Best h/sigma factor on six training images (train/, never test/)."""
    folder = root / "train" / ("Sun_Hays80" if color else "Train400")
    rng = np.random.default_rng(99)
    images = []
    for path in sorted(folder.iterdir())[:6]:
        pixels = read_image(path).color
        pixels = pixels[:256, :256] if color else pixels[:, :, :1]
        images.append(pixels)
    best = max(NLM_FACTORS, key=lambda f: np.mean([
        psnr(nlmeans(add_gaussian_noise(img, sigma, rng), f * sigma), img) for img in images]))
    return best * sigma


def run_bm3d(noisy: np.ndarray, sigma: float) -> np.ndarray:
    import bm3d

    x = noisy.astype(np.float64) / 255
    if noisy.shape[2] == 1:
        return bm3d.bm3d(x[:, :, 0], sigma_psd=sigma / 255)[:, :, None] * 255
    return bm3d.bm3d_rgb(x, sigma / 255) * 255


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default=",".join(GRAY_SETS + COLOR_SETS))
    parser.add_argument("--sigmas", default="15,25,50")
    parser.add_argument("--methods", default=",".join(ALL_METHODS))
    parser.add_argument("--bm3d-sets", default="BSD68,CBSD68:25",
                        help="BM3D is slow (10-25 s an image): only on these sets, SET or SET:SIGMA/SIGMA")
    parser.add_argument("--reuse", type=Path, default=None,
                        help="results JSON of an earlier run with the same seed: its rows for methods "
                             "not run now are included (same noisy inputs, so still side by side)")
    parser.add_argument("--limit", type=int, default=None, help="first N images of each set")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", default="denoise_quality")
    parser.add_argument("--gray-model", type=Path, default=None, help="an exported .onnx to measure as ours (gray sets)")
    parser.add_argument("--color-model", type=Path, default=None, help="likewise for the colour sets")
    args = parser.parse_args()
    CANDIDATES.update({False: args.gray_model, True: args.color_model})
    root = data_root()
    methods = args.methods.split(",")
    sigmas = [float(s) for s in args.sigmas.split(",")]
    bm3d_where: dict[str, set[float] | None] = {}
    for item in args.bm3d_sets.split(","):
        name, _, only = item.partition(":")
        bm3d_where[name] = {float(v) for v in only.split("/") if v} or None
    reused: dict = {}
    if args.reuse:
        earlier = json.loads(args.reuse.read_text())
        if earlier["seed"] != args.seed:
            sys.exit(f"--reuse: {args.reuse} used seed {earlier['seed']}, not {args.seed}")
        reused = earlier["results"]
    print(__doc__.split("\n\n")[1])
    # rows of the reused run stay, marked as such; what this run measures replaces or joins them
    results: dict[str, dict[str, dict[str, dict[str, float]]]] = reused_rows(reused, args.reuse) if reused else {}
    for set_name in args.sets.split(","):
        images = load_set(root, set_name, args.limit)
        color = set_name in COLOR_SETS
        for sigma in sigmas:
            rng = np.random.default_rng(args.seed)
            noisy_images = [(name, clean, add_gaussian_noise(clean, sigma, rng)) for name, clean in images]
            row: dict[str, dict[str, float]] = {}
            runners = {
                "noisy": lambda n: n.astype(np.float64),
                "ours": lambda n: run_ours(n, sigma),
                "ours-blind": lambda n: run_ours(n, None),
                "ours-x8": lambda n: run_ours(n, sigma, ensemble=True),
                "ours-x8-blind": lambda n: run_ours(n, None, ensemble=True),
            }
            if "nlmeans" in methods:
                h = tune_nlmeans(root, sigma, color)
                runners["nlmeans"] = lambda n, h=h: nlmeans(n, h)
            only = bm3d_where.get(set_name, set())
            if "bm3d" in methods and set_name in bm3d_where and (only is None or sigma in only):
                runners["bm3d"] = lambda n: run_bm3d(n, sigma)
            if "dncnn-anchor" in methods and not color and sigma == 25:
                from dncnn_anchor import load_dncnn

                dncnn = load_dncnn(root / "anchors" / "dncnn_25.pth")
                runners["dncnn-anchor"] = lambda n: dncnn(n[:, :, 0])[:, :, None]
            for method, runner in runners.items():
                if method != "noisy" and method not in methods:
                    continue
                started = time.perf_counter()
                scores_p, scores_s = [], []
                for _name, clean, noisy in noisy_images:
                    restored = np.clip(np.round(runner(noisy)), 0, 255)
                    scores_p.append(psnr(restored, clean))
                    scores_s.append(ssim(restored, clean))
                row[method] = {"psnr": float(np.mean(scores_p)), "ssim": float(np.mean(scores_s)),
                               "seconds_per_image": (time.perf_counter() - started) / len(noisy_images)}
                if method == "nlmeans":
                    row[method]["h"] = h
            earlier = results.setdefault(set_name, {}).setdefault(f"sigma{int(sigma)}", {})
            if "noisy" in earlier and abs(earlier["noisy"]["psnr"] - row["noisy"]["psnr"]) > 1e-9:
                sys.exit(f"--reuse: the noisy inputs of {set_name} sigma {sigma:g} differ from the reused run")
            earlier.update(row)
            row = earlier
            line = "  ".join(f"{m} {v['psnr']:.2f}/{v['ssim']:.4f}" for m, v in row.items())
            print(f"{set_name:<9} sigma {sigma:>4.0f}: {line}", flush=True)
    save(args.name, {"protocol": "float Gaussian noise, rounded and clipped to 8-bit; PSNR dB / SSIM on 8-bit output",
                     "seed": args.seed, "results": results,
                     **({"models_under_test": {kind: str(path) for kind, path in (("gray", args.gray_model),
                                                                                   ("color", args.color_model)) if path}}
                        if args.gray_model or args.color_model else {})})


if __name__ == "__main__":
    main()
