"""Measure the tables of imgrestore.noise._RAW_ESTIMATE: the median raw noise estimate of crops
of training data (Train400 for gray, Sun_Hays80 for colour; never a test set) at each nominal
sigma of our noise protocol. Run from the repository root; paste what it prints into noise.py.

    python tools/calibrate_noise.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from imgrestore.images import read_image, to_color_mode
from imgrestore.noise import _NOMINAL_SIGMA, add_gaussian_noise, colour_readings, estimate_sigma_raw

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "train"
SETS = {"gray": ("Train400", 20), "color": ("Sun_Hays80", 10)}
CROP = 180


def crops(folder: Path, count: int, mode: str) -> list[np.ndarray]:
    images = []
    for path in sorted(folder.iterdir())[:count]:
        pixels = to_color_mode(read_image(path).color_8bit(), "gray" if mode == "gray" else "rgb")
        height, width = pixels.shape[:2]
        top, left = max(0, (height - CROP) // 2), max(0, (width - CROP) // 2)
        images.append(pixels[top : top + CROP, left : left + CROP])
    return images


def main() -> None:
    if not DATA.is_dir():
        sys.exit(f"training data not found at {DATA}")
    rng = np.random.default_rng(0)
    for mode, (name, count) in SETS.items():
        clean = crops(DATA / name, count, mode)
        medians: dict[str, list[float]] = {}
        for sigma in _NOMINAL_SIGMA:
            noisy = [add_gaussian_noise(image, sigma, rng) if sigma else image for image in clean]
            if mode == "gray":
                readings = {"gray": [estimate_sigma_raw(image) for image in noisy]}
            else:  # both colour readings on the same images (imgrestore.noise.noise_reading picks one)
                joint, luma = zip(*(colour_readings(image) for image in noisy))
                readings = {"color": joint, "luma": luma}
            for kind, raw in readings.items():
                medians.setdefault(kind, []).append(round(float(np.median(raw)), 2))
        for kind, values in medians.items():
            print(f'    "{kind}": {tuple(values)},')


if __name__ == "__main__":
    main()
