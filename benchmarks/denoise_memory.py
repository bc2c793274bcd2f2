"""Large photos: peak memory of `imgrestore denoise` on a 4000×3000 noisy photo (CPU), and the PSNR
difference between tiled and untiled outputs of an image that fits both ways.

The 4000×3000 input is a mosaic of Kodak24 images with sigma-25 noise (our protocol), denoised by
the CLI in a child process whose peak resident memory (ru_maxrss) is reported.

    python benchmarks/denoise_memory.py
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import data_root, save  # noqa: E402

from imgrestore.images import Picture, read_image, write_image  # noqa: E402
from imgrestore.metrics import psnr  # noqa: E402
from imgrestore.noise import add_gaussian_noise  # noqa: E402
from imgrestore.runtime import OnnxModel  # noqa: E402
from imgrestore.weights import locate  # noqa: E402


def mosaic(root: Path, height: int, width: int) -> np.ndarray:
    tiles = [read_image(p).color for p in sorted((root / "test" / "Kodak24").glob("*.png"))]
    rows = []
    index = 0
    while sum(r.shape[0] for r in rows) < height:
        row = []
        while sum(t.shape[1] for t in row) < width:
            row.append(tiles[index % len(tiles)])
            index += 1
        rows.append(np.concatenate(row, axis=1)[:, :width])
    return np.ascontiguousarray(np.concatenate(rows, axis=0)[:height])


def main() -> None:
    root = data_root()
    clean = mosaic(root, 3000, 4000)
    noisy = add_gaussian_noise(clean, 25, np.random.default_rng(0))
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as scratch:
        source, target = Path(scratch) / "big.png", Path(scratch) / "big_clean.png"
        write_image(source, Picture(color=noisy))
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "imgrestore", "denoise", str(source), str(target), "--sigma", "25"],
                              capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if done.returncode:
            sys.exit(done.stderr)
        peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2
        restored = read_image(target).color
        results["large_photo"] = {"size": "4000x3000", "peak_rss_gb": peak_gb, "seconds": seconds,
                                  "psnr_noisy": psnr(noisy, clean), "psnr_denoised": psnr(restored, clean)}
        print(f"4000×3000 colour photo, sigma 25, CLI on CPU: peak memory {peak_gb:.2f} GB, {seconds:.1f} s, "
              f"PSNR {psnr(noisy, clean):.2f} -> {psnr(restored, clean):.2f} dB")

    part = clean[:1000, :1500]
    part_noisy = noisy[:1000, :1500]
    model = OnnxModel(locate("denoise-color").file)
    inputs = {"image": part_noisy.transpose(2, 0, 1).astype(np.float32) / 255, "sigma": np.array([25 / 255], np.float32)}
    untiled = model.run_image(inputs, tile=2048)
    tiled = model.run_image(inputs, tile=384)

    def score(output: np.ndarray) -> float:
        return psnr(np.clip(np.round(output.transpose(1, 2, 0) * 255), 0, 255), part)

    results["tiling"] = {"size": "1500x1000", "tile": 384, "psnr_untiled": score(untiled), "psnr_tiled": score(tiled),
                         "max_abs_difference": float(np.abs(tiled - untiled).max())}
    print(f"1500×1000 tiled (384) vs untiled: PSNR {score(tiled):.4f} vs {score(untiled):.4f} dB, "
          f"max |difference| {np.abs(tiled - untiled).max():.2e}")
    save("denoise_memory", results)


if __name__ == "__main__":
    main()
