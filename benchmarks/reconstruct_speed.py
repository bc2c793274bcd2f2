"""Sparse-coding speed on one Set12 image (256×256, then 512×512), medians of repeated runs (one run of scikit-learn), every
method in the same run with the same thread count (default 2, the machine's cores):

  sklearn  scikit-learn's pipeline (extract_patches_2d, OMP transform with the error stop,
           reconstruct_from_patches_2d), dictionary of 256 atoms (fitted on 20k training patches)
  sklearn-same-dict  the same scikit-learn pipeline coding with *our* dictionary
           (SparseCoder): identical codes to omp, so this is the solver against the solver
  omp      our batched OMP on the shipped K-SVD dictionary, same stop, every patch
  ista     our FISTA to convergence (200 iterations) at the LISTA model's stride
  lista    the shipped 16-layer LISTA through onnxruntime, same stride

The bars: omp at least 10× faster than sklearn (both rows); lista at least 10× faster than ista. PSNR is in
benchmarks/reconstruct_quality.py (which also sums seconds over all of Set12, with other work
running beside it); this benchmark is the one to quote for speed.

    python benchmarks/reconstruct_speed.py [--sigma 25] [--repeats 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import data_root, median_seconds, model_file, save  # noqa: E402
from reconstruct_quality import SklearnPipeline  # noqa: E402

from imgrestore.images import read_image  # noqa: E402
from imgrestore.noise import add_gaussian_noise  # noqa: E402
from imgrestore.runtime import OnnxModel  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sigma", type=float, default=25)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model", type=Path, default=None, help="LISTA denoise .onnx [shipped]")
    parser.add_argument("--checkpoint", type=Path, default=None, help="checkpoint with the K-SVD dictionary [shipped]")
    args = parser.parse_args()
    root = data_root()

    import torch

    from imgrestore_reconstruct.dictionary import read_dictionary, shipped_dictionary
    from imgrestore_reconstruct.recipe import LAMBDA_PER_SIGMA
    from imgrestore_reconstruct.sparse import denoise_image, lasso_image

    torch.set_num_threads(args.threads)
    dictionary = read_dictionary(args.checkpoint) if args.checkpoint else shipped_dictionary()
    lista = OnnxModel(model_file("reconstruct-denoise", args.model), device="cpu", threads=args.threads)
    stride = int(lista.info.extra["model_config"]["stride"])
    sklearn = SklearnPipeline.on_training_data(root, args.threads)
    same_dictionary = SklearnPipeline.with_dictionary(dictionary.T.double().numpy(), args.threads)
    sigma = args.sigma
    rows = {}
    for name in ("01", "08"):  # cameraman-like 256², then 512²
        clean = read_image(root / "test" / "Set12" / f"{name}.png").color[:, :, 0]
        noisy = (add_gaussian_noise(clean, sigma, np.random.default_rng(0)) / 255.0).astype(np.float32)
        feed = {"image": noisy[None, None], "sigma": np.array([[sigma / 255]], np.float32)}
        methods = {
            "sklearn": lambda: sklearn.denoise(noisy, sigma),
            "sklearn-same-dict": lambda: same_dictionary.denoise(noisy, sigma),
            "omp": lambda: denoise_image(noisy, dictionary, sigma),
            "ista": lambda: lasso_image(noisy, dictionary, LAMBDA_PER_SIGMA * sigma / 255, 200, stride=stride),
            "lista": lambda: lista.run(feed),
        }
        # scikit-learn takes minutes on 512², so one run of it (it has no warm-up to speak of)
        seconds = {method: median_seconds(run, repeats=1 if method.startswith("sklearn") else args.repeats,
                                          warmup=0 if method.startswith("sklearn") else 1)
                   for method, run in methods.items()}
        row = {"size": list(clean.shape), "seconds": seconds,
               "omp_speedup_over_sklearn": seconds["sklearn"] / seconds["omp"],
               "omp_speedup_over_sklearn_same_dictionary": seconds["sklearn-same-dict"] / seconds["omp"],
               "lista_speedup_over_ista": seconds["ista"] / seconds["lista"]}
        rows[name] = row
        print(f"Set12/{name} {clean.shape[1]}×{clean.shape[0]} σ={sigma:g}: " + "  ".join(
            f"{m} {s:.2f} s" for m, s in seconds.items())
            + f"  | omp {row['omp_speedup_over_sklearn']:.1f}× faster than sklearn, "
            f"{row['omp_speedup_over_sklearn_same_dictionary']:.1f}× than sklearn on our dictionary (bar 10×),"
            f" lista {row['lista_speedup_over_ista']:.1f}× faster than ista (bar 10×)", flush=True)
    save("reconstruct_speed", {"sigma": sigma, "threads": args.threads, "stride": stride, "results": rows})


if __name__ == "__main__":
    main()
