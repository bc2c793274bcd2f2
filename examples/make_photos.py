"""Regenerates examples/photos/: noisy crops of scikit-image's public-domain/CC0 sample photos
(noise protocol of imgrestore.noise, seeded), used by the README's first command.

    python examples/make_photos.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from skimage import data

from imgrestore.images import Picture, write_image
from imgrestore.noise import add_gaussian_noise

HERE = Path(__file__).resolve().parent / "photos"


def clean_sources() -> dict[str, tuple[np.ndarray, float]]:
    """File name -> (clean crop, noise sigma), in the order the noise is drawn. The tests compare
    the README command's outputs against these crops."""
    return {"astronaut.png": (data.astronaut()[:320, 96:416], 25),
            "camera.png": (data.camera()[64:384, 96:416], 15),
            "coffee.jpg": (data.coffee()[40:360, 140:460], 20)}


def main() -> None:
    rng = np.random.default_rng(2026)
    HERE.mkdir(exist_ok=True)
    for name, (clean, sigma) in clean_sources().items():
        noisy = add_gaussian_noise(clean, sigma, rng)
        write_image(HERE / name, Picture(color=noisy if noisy.ndim == 3 else noisy[:, :, None]),
                    **({"quality": 97} if name.endswith(".jpg") else {}))


if __name__ == "__main__":
    main()
