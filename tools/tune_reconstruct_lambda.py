"""Choose the ℓ1 weights of the reconstruct task's ISTA (and LISTA's starting thresholds) on
held-out *training* images, never on test sets.

    python tools/tune_reconstruct_lambda.py --data ../shared/data/train

Learns the K-SVD dictionary exactly as `imgrestore train reconstruct` does with its defaults
(same images, seed and options), then scores FISTA patch reconstruction over a grid:
denoising with λ = c·σ at σ = 15, 25, 50, and filling 50% missing pixels with a fixed λ.
The chosen values are recorded in imgrestore_reconstruct.recipe (LAMBDA_PER_SIGMA, FILL_LAMBDA).

Measured (6 held-out 96² crops, FISTA 200 iterations at stride 2; PSNR dB; OMP at stride 1 for
reference):
    σ=15: OMP 31.72  c=0.75: 30.16  c=1.0: 30.63  c=1.5: 30.98  c=2.0: 30.76  c=3.0: 29.67
    σ=25: OMP 28.56  c=0.75: 26.83  c=1.0: 27.53  c=1.5: 28.21  c=2.0: 28.13  c=3.0: 27.17
    σ=50: OMP 23.89  c=0.75: 22.10  c=1.0: 23.07  c=1.5: 24.15  c=2.0: 24.28  c=3.0: 23.51
    fill 50%: OMP 33.40  λ=0.001: 31.49  λ=0.003: 31.95  λ=0.01: 32.40  λ=0.03: 32.14
-> c = 1.5 (best or within 0.13 dB of it at every σ), fill λ = 0.01.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from imgrestore.metrics import psnr  # noqa: E402
from imgrestore.training.data import center_crop, load_images, training_and_validation_paths  # noqa: E402
from imgrestore_reconstruct.recipe import learn_dictionary  # noqa: E402
from imgrestore_reconstruct.sparse import denoise_image, fill_image, lasso_image  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, nargs="+", required=True)
    parser.add_argument("--crop", type=int, default=96)
    parser.add_argument("--images", type=int, default=6)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--stride", type=int, default=2)
    parser.add_argument("--save", type=Path, help="also write the dictionary here (.pt)")
    parser.add_argument("--load", type=Path, help="use the dictionary saved by an earlier --save")
    args = parser.parse_args()
    torch.set_num_threads(2)
    train_paths, val_paths = training_and_validation_paths({"data": args.data, "val_fraction": 0.05})
    if args.load:
        dictionary = torch.load(args.load)
    else:
        dictionary = learn_dictionary(load_images(train_paths, "gray", min_size=40), 8, 256, 60000, 6, 15)
    if args.save:
        torch.save(dictionary, args.save)
    images = [center_crop(image, args.crop)[:, :, 0].astype(np.float32) / 255
              for image in load_images(val_paths, "gray", min_size=args.crop)][: args.images]
    rng = np.random.default_rng(0)
    print(f"{len(images)} held-out training crops of {args.crop}²")
    for sigma in (15, 25, 50):
        noisy = [np.clip(image + rng.standard_normal(image.shape) * sigma / 255, 0, 1).astype(np.float32)
                 for image in images]
        omp_score = np.mean([psnr(denoise_image(n, dictionary, sigma), c, data_range=1.0) for n, c in zip(noisy, images)])
        row = [f"σ={sigma}: OMP {omp_score:.2f}"]
        for factor in (0.75, 1.0, 1.5, 2.0, 3.0):
            score = np.mean([psnr(lasso_image(n, dictionary, factor * sigma / 255, args.iterations, stride=args.stride), c, data_range=1.0)
                             for n, c in zip(noisy, images)])
            row.append(f"c={factor}: {score:.2f}")
        print("  ".join(row), flush=True)
    known = [rng.random(image.shape) >= 0.5 for image in images]
    omp_score = np.mean([psnr(fill_image(c, k, dictionary), c, data_range=1.0) for c, k in zip(images, known)])
    row = [f"fill 50%: OMP {omp_score:.2f}"]
    for lam in (1e-3, 3e-3, 1e-2, 3e-2):
        score = np.mean([psnr(lasso_image(c, dictionary, lam, args.iterations, known=k, stride=args.stride), c, data_range=1.0)
                         for c, k in zip(images, known)])
        row.append(f"λ={lam:g}: {score:.2f}")
    print("  ".join(row), flush=True)


if __name__ == "__main__":
    main()
