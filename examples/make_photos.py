"""Regenerates examples/photos/: noisy crops of scikit-image's public-domain/CC0 sample photos
(noise protocol of imgrestore.noise, seeded), used by the README's first command."""

from pathlib import Path

import numpy as np
from skimage import data

from imgrestore.images import Picture, write_image
from imgrestore.noise import add_gaussian_noise

HERE = Path(__file__).resolve().parent / "photos"
rng = np.random.default_rng(2026)
HERE.mkdir(exist_ok=True)
write_image(HERE / "astronaut.png", Picture(color=add_gaussian_noise(data.astronaut()[:320, 96:416], 25, rng)))
write_image(HERE / "camera.png", Picture(color=add_gaussian_noise(data.camera()[64:384, 96:416], 15, rng)[:, :, None]))
write_image(HERE / "coffee.jpg", Picture(color=add_gaussian_noise(data.coffee()[40:360, 140:460], 20, rng)), quality=97)
