"""Blind denoising of noisy photos stored as JPEG, as cameras, phones and OpenCV store them.

Each clean colour image gets Gaussian noise by the protocol of denoise_quality.py (seeded per
image), is encoded as JPEG at --quality with 4:2:0 chroma subsampling (OpenCV's and libjpeg's
default) or 4:4:4, and decoded; PSNR against the clean original for: the noisy JPEG itself, our
colour model with the noise level estimated from the JPEG (what `imgrestore denoise` does without
--sigma), and with the nominal sigma given. Also the median estimate. 4:2:0 smooths the colour
part of the noise, which an estimate on whole-colour patches alone took for texture (sigma 20
read as 1.5, and the photo came back untouched); see imgrestore.noise.noise_reading.

    python benchmarks/denoise_jpeg.py                       # CBSD68 and Kodak24, sigma 15/25/50
    python benchmarks/denoise_jpeg.py --sets CBSD68 --limit 20 --sigmas 25
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import data_root, save  # noqa: E402
from denoise_quality import load_set, run_ours  # noqa: E402

from imgrestore.metrics import psnr  # noqa: E402
from imgrestore.noise import add_gaussian_noise, estimate_sigma  # noqa: E402

SUBSAMPLING = {"4:2:0": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420, "4:4:4": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444}


def as_jpeg(rgb: np.ndarray, quality: int, subsampling: str) -> np.ndarray:
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [
        cv2.IMWRITE_JPEG_QUALITY, quality, cv2.IMWRITE_JPEG_SAMPLING_FACTOR, SUBSAMPLING[subsampling]])
    assert ok
    return cv2.cvtColor(cv2.imdecode(encoded, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="CBSD68,Kodak24")
    parser.add_argument("--sigmas", default="15,25,50")
    parser.add_argument("--subsampling", default="4:2:0,4:4:4")
    parser.add_argument("--quality", type=int, default=95)
    parser.add_argument("--limit", type=int, default=None, help="first N images of each set")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    root = data_root()
    results: dict[str, dict[str, dict[str, float]]] = {}
    for set_name in args.sets.split(","):
        images = load_set(root, set_name, args.limit)
        for subsampling in args.subsampling.split(","):
            for sigma in (float(s) for s in args.sigmas.split(",")):
                rows: dict[str, list[float]] = {"noisy_jpeg": [], "ours-blind": [], "ours": [], "estimate": []}
                for index, (_, clean) in enumerate(images):
                    rng = np.random.default_rng([args.seed, index, int(sigma)])
                    stored = as_jpeg(add_gaussian_noise(clean, sigma, rng), args.quality, subsampling)
                    rows["noisy_jpeg"].append(psnr(stored, clean))
                    rows["estimate"].append(estimate_sigma(stored.astype(np.float64)))
                    rows["ours-blind"].append(psnr(np.clip(np.round(run_ours(stored, None)), 0, 255), clean))
                    rows["ours"].append(psnr(np.clip(np.round(run_ours(stored, sigma)), 0, 255), clean))
                summary = {key: float(np.median(values) if key == "estimate" else np.mean(values))
                           for key, values in rows.items()}
                results.setdefault(set_name, {})[f"{subsampling} sigma{sigma:g}"] = summary
                print(f"{set_name:9} {subsampling} q{args.quality} sigma {sigma:4g}: noisy JPEG {summary['noisy_jpeg']:.2f}"
                      f"  ours-blind {summary['ours-blind']:.2f} (median estimate {summary['estimate']:.1f})"
                      f"  ours, sigma given {summary['ours']:.2f}", flush=True)
    save("denoise_jpeg", {"settings": {**vars(args), "images": "noisy, then JPEG; PSNR against the clean original"},
                          "results": results})


if __name__ == "__main__":
    main()
